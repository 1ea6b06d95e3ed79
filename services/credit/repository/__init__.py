"""SQL of the credit service, used only inside a unit of work (a Session from run_in_transaction)."""

from services.credit.repository.applications import (
    ApplicationFilter,
    add_status_change,
    get_application,
    insert_application,
    insert_bureau_check,
    insert_repayment,
    latest_financials,
    list_applications,
    update_application,
)
from services.credit.repository.credit_lines import (
    add_line_change,
    get_line,
    insert_line,
    update_line,
)
from services.credit.repository.intents import (
    DisbursementIntent,
    delete_disbursement_intent,
    delete_repayment_intent,
    insert_repayment_intent,
    repayment_intents,
    save_disbursement_intent,
    stale_disbursement_intents,
    stale_repayment_applications,
)
from services.credit.repository.reconciliation import (
    BookedLoan,
    booked_loans,
    pending_intent_applications,
)
from services.credit.repository.scores import (
    ScoreFilter,
    get_score,
    insert_score,
    latest_score,
    list_scores,
)
from services.credit.repository.staff_actions import (
    staff_actions,
)
from services.runtime.ledger_accounts import (
    ledger_account,
    save_ledger_account,
)

__all__ = [
    "ApplicationFilter",
    "BookedLoan",
    "DisbursementIntent",
    "ScoreFilter",
    "add_line_change",
    "add_status_change",
    "booked_loans",
    "delete_disbursement_intent",
    "delete_repayment_intent",
    "get_application",
    "get_line",
    "get_score",
    "insert_application",
    "insert_bureau_check",
    "insert_line",
    "insert_repayment",
    "insert_repayment_intent",
    "insert_score",
    "latest_financials",
    "latest_score",
    "ledger_account",
    "list_applications",
    "list_scores",
    "pending_intent_applications",
    "repayment_intents",
    "save_disbursement_intent",
    "save_ledger_account",
    "staff_actions",
    "stale_disbursement_intents",
    "stale_repayment_applications",
    "update_application",
    "update_line",
]
