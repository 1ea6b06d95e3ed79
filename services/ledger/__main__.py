"""Run the ledger server: ``python -m services.ledger``."""

import sys

from services.ledger.spec import SPEC
from services.runtime.server import serve

sys.exit(serve(SPEC))
