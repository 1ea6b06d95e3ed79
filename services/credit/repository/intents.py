"""Money in doubt: repayment and disbursement intents, and the recovery job's queries."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.credit.domain.model import (
    RepaymentIntent,
)

# -- repayment intents ---------------------------------------------------------------------------

_INTENT_COLUMNS = (
    "seq, application_id, scope, request_id, actor, amount_minor, "
    "principal_minor, interest_minor, wallet_account_id, income_account_id, ledger_key"
)


def insert_repayment_intent(session: Session, intent: RepaymentIntent) -> int:
    row = session.execute(
        sa.text(
            "INSERT INTO repayment_intents (application_id, scope, request_id, "
            "actor, amount_minor, principal_minor, interest_minor, wallet_account_id, income_account_id, "
            "ledger_key) VALUES (:a, :s, :r, :actor, :amt, :p, :i, :w, :inc, :lk) RETURNING seq"
        ),
        {
            "a": intent.application_id,
            "s": intent.scope,
            "r": intent.request_id,
            "actor": intent.actor,
            "amt": intent.amount,
            "p": intent.principal,
            "i": intent.interest,
            "w": intent.wallet_account_id,
            "inc": intent.income_account_id,
            "lk": intent.ledger_key,
        },
    ).one()
    return int(row.seq)


def repayment_intents(session: Session, application_id: str) -> list[RepaymentIntent]:
    """The application's unresolved intents, oldest first."""
    rows = session.execute(
        sa.text(f"SELECT {_INTENT_COLUMNS} FROM repayment_intents WHERE application_id = :a ORDER BY seq"),
        {"a": application_id},
    ).all()
    return [
        RepaymentIntent(
            int(r.seq),
            r.application_id,
            r.scope,
            r.request_id,
            r.actor,
            int(r.amount_minor),
            int(r.principal_minor),
            int(r.interest_minor),
            r.wallet_account_id,
            r.income_account_id,
            r.ledger_key,
        )
        for r in rows
    ]


def delete_repayment_intent(session: Session, seq: int) -> None:
    session.execute(sa.text("DELETE FROM repayment_intents WHERE seq = :q"), {"q": seq})


# -- money in doubt: disbursement intents and the recovery job's queries ------------------------------
@dataclass(frozen=True)
class DisbursementIntent:
    application_id: str
    scope: str
    request_id: str
    actor: str
    wallet_account_id: str
    loan_account_id: str


def save_disbursement_intent(session: Session, intent: DisbursementIntent) -> None:
    """Written (or taken over by the latest requester) before the ledger call."""
    session.execute(
        sa.text(
            "INSERT INTO disbursement_intents (application_id, scope, request_id, "
            "actor, wallet_account_id, loan_account_id) VALUES (:a, :s, :r, :actor, :w, :l) "
            "ON CONFLICT (application_id) DO UPDATE SET scope = :s, request_id = :r, "
            "actor = :actor, wallet_account_id = :w, loan_account_id = :l, "
            "create_time = clock_timestamp()"
        ),
        {
            "a": intent.application_id,
            "s": intent.scope,
            "r": intent.request_id,
            "actor": intent.actor,
            "w": intent.wallet_account_id,
            "l": intent.loan_account_id,
        },
    )


def delete_disbursement_intent(session: Session, application_id: str) -> None:
    session.execute(
        sa.text("DELETE FROM disbursement_intents WHERE application_id = :a"), {"a": application_id}
    )


def stale_disbursement_intents(
    session: Session, older_than_seconds: int, limit: int
) -> list[DisbursementIntent]:
    rows = session.execute(
        sa.text(
            "SELECT application_id, scope, request_id, actor, wallet_account_id, "
            "loan_account_id FROM disbursement_intents "
            "WHERE create_time < clock_timestamp() - make_interval(secs => :age) "
            "ORDER BY create_time LIMIT :n"
        ),
        {"age": older_than_seconds, "n": limit},
    ).all()
    return [DisbursementIntent(*r) for r in rows]


def stale_repayment_applications(session: Session, older_than_seconds: int, limit: int) -> list[str]:
    rows = session.execute(
        sa.text(
            "SELECT application_id FROM repayment_intents "
            "WHERE create_time < clock_timestamp() - make_interval(secs => :age) "
            "GROUP BY application_id ORDER BY min(seq) LIMIT :n"
        ),
        {"age": older_than_seconds, "n": limit},
    ).all()
    return [r[0] for r in rows]
