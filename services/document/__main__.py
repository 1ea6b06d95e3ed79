"""Run the document server: ``python -m services.document``."""

import sys

from services.document.spec import SPEC
from services.runtime.server import serve

sys.exit(serve(SPEC))
