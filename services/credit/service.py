"""The credit service's use cases: scoring, underwriting, loans through the ledger, credit lines.

Idempotency: a request's key (scoped to the caller) is stored with the first
response in the same transaction as the effect it guards; requests with the same
key are serialized on a transaction-level advisory lock, so a concurrent replay
waits for the first and then returns its response. Calls that move money carry a
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
