"""Run the AI service: ``python -m services.ai``."""

import sys

from services.ai.spec import SPEC
from services.runtime.server import serve

sys.exit(serve(SPEC))
