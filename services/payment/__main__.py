"""Run the payment server: ``python -m services.payment``."""

import sys

from services.payment.spec import SPEC
from services.runtime.server import serve

sys.exit(serve(SPEC))
