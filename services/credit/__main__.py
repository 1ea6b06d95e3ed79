"""Run the credit server: ``python -m services.credit``."""

import sys

from services.credit.spec import SPEC
from services.runtime.server import serve

sys.exit(serve(SPEC))
