"""Run the analytics server: ``python -m services.analytics``."""

import sys

from services.analytics.spec import SPEC
from services.runtime.server import serve

sys.exit(serve(SPEC))
