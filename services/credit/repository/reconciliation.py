"""What loan reconciliation reads of the loan book."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.credit.domain.model import BOOKED_STATUSES, Status


@dataclass(frozen=True)
class BookedLoan:
    """What reconciliation needs of a loan."""

    id: str
    status: Status
    currency: str
    approved_amount: int
    disbursement_transaction_id: str
    repayments: dict[str, int]  # transaction id -> amount


def booked_loans(session: Session, after_id: str, limit: int) -> list[BookedLoan]:
    """Loans that may have ledger entries (approved or further, cancelled ones too), by id."""
    rows = session.execute(
        sa.text(
            "SELECT id, status, currency, approved_amount_minor, disbursement_transaction_id "
            "FROM loan_applications "
            "WHERE status = ANY(:booked) AND id > :after ORDER BY id LIMIT :n"
        ),
        {"booked": sorted(int(s) for s in BOOKED_STATUSES), "after": after_id, "n": limit},
    ).all()
    ids = [r[0] for r in rows]
    repaid: dict[str, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for r in session.execute(
            sa.text(
                "SELECT application_id, transaction_id, amount_minor FROM loan_repayments "
                "WHERE application_id = ANY(:ids)"
            ),
            {"ids": ids},
        ):
            repaid[r[0]][r[1]] = int(r[2])
    return [BookedLoan(r[0], Status(r[1]), r[2], int(r[3] or 0), r[4] or "", repaid[r[0]]) for r in rows]


def pending_intent_applications(session: Session, application_ids: list[str]) -> set[str]:
    rows = session.execute(
        sa.text(
            "SELECT application_id FROM repayment_intents WHERE application_id = ANY(:ids) UNION "
            "SELECT application_id FROM disbursement_intents WHERE application_id = ANY(:ids)"
        ),
        {"ids": application_ids},
    ).all()
    return {r[0] for r in rows}


# Staff actions: application status changes and credit line changes by a person other than the
# borrower. Status names are the contract's, so an entry reads the same in any client.
