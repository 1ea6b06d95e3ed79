"""Run the user service: ``python -m services.user``."""

import sys

from services.runtime.server import serve
from services.user.spec import SPEC

sys.exit(serve(SPEC))
