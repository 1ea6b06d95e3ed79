"""The credit service's use cases: scoring, underwriting, loans through the ledger, credit lines.

Idempotency: the servicer runs each write under the caller's key in the runtime's one
contract (services/runtime/idempotency.py) and renders the domain objects a use case
returns; a use case records on the key (``attach``) the resource it made, in the
transaction that makes it, and resumes that resource when ``claim.resource_id`` says an
earlier attempt with the key made it. Calls that move money carry a
ledger idempotency key derived from the application id (and the client's key for
a repayment), so a retry after a crash between the ledger and our commit replays
the ledger entry instead of posting it twice. A repayment's entry depends on the
schedule, so it is written down first as a repayment intent (committed on its
own), and every repayment completes the pending intents before anything new.
"""

from __future__ import annotations

from services.credit.applications import ApplicationUseCases
from services.credit.credit_lines import CreditLineUseCases
from services.credit.disbursement import DisbursementUseCases
from services.credit.repayment import RepaymentUseCases
from services.credit.scores import ScoreUseCases


class CreditService(
    ScoreUseCases, ApplicationUseCases, DisbursementUseCases, RepaymentUseCases, CreditLineUseCases
):
    """The credit service's use cases, one module per concern, over one engine, clients and clock."""
