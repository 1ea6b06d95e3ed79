"""SQL of the credit service, used only inside a unit of work (a Session from run_in_transaction)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.credit.bureau.base import BureauReport, ScoreBand
from services.credit.domain.amortization import Installment
from services.credit.domain.model import (
    Application,
    BureauCheck,
    BureauStatus,
    CreditLine,
    Employment,
    Financials,
    LineStatus,
    Purpose,
    Reason,
    Repayment,
    RepaymentIntent,
    Score,
    Status,
    StatusChange,
)
from services.runtime import audit
from services.runtime.audit import StaffAction


def _reasons_json(reasons: tuple[Reason, ...]) -> str:
    return json.dumps([{"code": r.code, "description": r.description} for r in reasons])


def _reasons(value: Any) -> tuple[Reason, ...]:
    return tuple(Reason(r["code"], r["description"]) for r in value or [])


def _schedule_json(schedule: tuple[Installment, ...]) -> str:
    return json.dumps(
        [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "principal": i.principal,
                "interest": i.interest,
                "remaining": i.remaining,
                "paid": i.paid,
            }
            for i in schedule
        ]
    )


def _schedule(value: Any) -> tuple[Installment, ...]:
    return tuple(
        Installment(
            int(i["number"]),
            date.fromisoformat(i["due_date"]),
            int(i["principal"]),
            int(i["interest"]),
            int(i["remaining"]),
            int(i["paid"]),
        )
        for i in value or []
    )


def _financials_json(financials: Financials) -> str:
    body = asdict(financials)
    body["employment"] = int(financials.employment)
    return json.dumps(body)


def _financials(value: dict[str, Any]) -> Financials:
    body = dict(value)
    body["employment"] = Employment(body["employment"])
    return Financials(**body)


def lock_key(session: Session, scope: str, key: str) -> None:
    """Serialize requests with the same idempotency key until this transaction ends."""
    session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"credit/{scope}/{key}"}
    )


# -- idempotency ---------------------------------------------------------------------------------


def get_key(session: Session, scope: str, key: str) -> tuple[str, str, bytes] | None:
    row = session.execute(
        sa.text(
            "SELECT operation, fingerprint, response FROM idempotency_keys WHERE scope = :s AND key = :k"
        ),
        {"s": scope, "k": key},
    ).first()
    return None if row is None else (row.operation, row.fingerprint, bytes(row.response))


def save_key(
    session: Session, scope: str, key: str, operation: str, fingerprint: str, response: bytes
) -> None:
    session.execute(
        sa.text(
            "INSERT INTO idempotency_keys (scope, key, operation, fingerprint, response) "
            "VALUES (:s, :k, :o, :f, :r)"
        ),
        {"s": scope, "k": key, "o": operation, "f": fingerprint, "r": response},
    )


def _created_within(
    clauses: list[str], params: dict[str, Any], start: datetime | None, end: datetime | None
) -> None:
    """Adds the list filter ``start <= create_time < end``; an unset bound is no bound."""
    if start is not None:
        clauses.append("create_time >= :start")
        params["start"] = start
    if end is not None:
        clauses.append("create_time < :end")
        params["end"] = end


# -- scores --------------------------------------------------------------------------------------


def insert_score(session: Session, score: Score) -> None:
    session.execute(
        sa.text(
            "INSERT INTO credit_scores (id, user_id, score, default_probability_bps, reasons, model_version, "
            "application_id, create_time) VALUES (:id, :u, :s, :p, CAST(:r AS jsonb), :m, :a, :t)"
        ),
        {
            "id": score.id,
            "u": score.user_id,
            "s": score.score,
            "p": score.default_probability_bps,
            "r": _reasons_json(score.reasons),
            "m": score.model_version,
            "a": score.application_id,
            "t": score.create_time,
        },
    )


def _score(row: Any) -> Score:
    return Score(
        row.id,
        row.user_id,
        row.score,
        row.default_probability_bps,
        _reasons(row.reasons),
        row.model_version,
        row.create_time,
        row.application_id,
    )


_SCORE_COLUMNS = (
    "id, user_id, score, default_probability_bps, reasons, model_version, create_time, application_id"
)


def latest_score(session: Session, user_id: str) -> Score | None:
    row = session.execute(
        sa.text(
            f"SELECT {_SCORE_COLUMNS} FROM credit_scores WHERE user_id = :u "
            "ORDER BY create_time DESC, id DESC LIMIT 1"
        ),
        {"u": user_id},
    ).first()
    return None if row is None else _score(row)


def list_scores(
    session: Session,
    user_id: str,
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Score]:
    clauses = ["user_id = :u"]
    params: dict[str, Any] = {"u": user_id, "n": limit}
    _created_within(clauses, params, start, end)
    if after is not None:
        clauses.append("(create_time, id) < (:at, :aid)")
        params["at"], params["aid"] = after
    rows = session.execute(
        sa.text(
            f"SELECT {_SCORE_COLUMNS} FROM credit_scores WHERE {' AND '.join(clauses)} "
            "ORDER BY create_time DESC, id DESC LIMIT :n"
        ),
        params,
    ).all()
    return [_score(r) for r in rows]


# -- applications --------------------------------------------------------------------------------


def insert_application(session: Session, app: Application) -> None:
    session.execute(
        sa.text(
            "INSERT INTO loan_applications (id, user_id, status, amount_minor, currency, term_months, "
            "purpose, purpose_description, financials, request_id, create_time, update_time) "
            "VALUES (:id, :u, :st, :a, :c, :t, :p, :pd, CAST(:f AS jsonb), :r, :ct, :ut)"
        ),
        {
            "id": app.id,
            "u": app.user_id,
            "st": int(app.status),
            "a": app.amount,
            "c": app.currency,
            "t": app.term_months,
            "p": int(app.purpose),
            "pd": app.purpose_description,
            "f": _financials_json(app.financials),
            "r": app.request_id,
            "ct": app.create_time,
            "ut": app.update_time,
        },
    )
    update_application(session, app)


def update_application(session: Session, app: Application) -> None:
    session.execute(
        sa.text(
            "UPDATE loan_applications SET status = :st, credit_score = :cs, credit_score_id = :csid, "
            "debt_to_income_bps = :dti, decision_reasons = CAST(:dr AS jsonb), decided_by = :db, "
            "decision_time = :dt, approved_amount_minor = :aa, priced_apr_bps = :papr, apr_bps = :apr, "
            "installment_minor = :inst, schedule = CAST(:sch AS jsonb), loan_account_id = :la, "
            "disbursement_transaction_id = :dtx, disburse_time = :dist, update_time = :ut WHERE id = :id"
        ),
        {
            "id": app.id,
            "st": int(app.status),
            "cs": app.credit_score,
            "csid": app.credit_score_id,
            "dti": app.debt_to_income_bps,
            "dr": _reasons_json(app.decision_reasons),
            "db": app.decided_by,
            "dt": app.decision_time,
            "aa": app.approved_amount,
            "papr": app.priced_apr_bps,
            "apr": app.apr_bps,
            "inst": app.installment_amount,
            "sch": _schedule_json(app.schedule),
            "la": app.loan_account_id,
            "dtx": app.disbursement_transaction_id,
            "dist": app.disburse_time,
            "ut": app.update_time,
        },
    )


def add_status_change(session: Session, application_id: str, change: StatusChange) -> None:
    session.execute(
        sa.text(
            "INSERT INTO loan_status_changes (application_id, seq, from_status, to_status, reason, actor, "
            "change_time) SELECT :a, COALESCE(MAX(seq), 0) + 1, :f, :t, :r, :actor, :ct "
            "FROM loan_status_changes WHERE application_id = :a"
        ),
        {
            "a": application_id,
            "f": int(change.from_status) if change.from_status else None,
            "t": int(change.to_status),
            "r": change.reason,
            "actor": change.actor,
            "ct": change.change_time,
        },
    )


def insert_repayment(session: Session, application_id: str, repayment: Repayment) -> None:
    session.execute(
        sa.text(
            "INSERT INTO loan_repayments (id, application_id, amount_minor, principal_minor, interest_minor, "
            "transaction_id, request_id, create_time) VALUES (:id, :a, :amt, :p, :i, :tx, :r, :t)"
        ),
        {
            "id": repayment.id,
            "a": application_id,
            "amt": repayment.amount,
            "p": repayment.principal,
            "i": repayment.interest,
            "tx": repayment.transaction_id,
            "r": repayment.request_id,
            "t": repayment.create_time,
        },
    )


# -- repayment intents ---------------------------------------------------------------------------

_INTENT_COLUMNS = (
    "seq, application_id, scope, request_id, operation, fingerprint, actor, amount_minor, "
    "principal_minor, interest_minor, wallet_account_id, income_account_id, ledger_key"
)


def insert_repayment_intent(session: Session, intent: RepaymentIntent) -> int:
    row = session.execute(
        sa.text(
            "INSERT INTO repayment_intents (application_id, scope, request_id, operation, fingerprint, "
            "actor, amount_minor, principal_minor, interest_minor, wallet_account_id, income_account_id, "
            "ledger_key) VALUES (:a, :s, :r, :o, :f, :actor, :amt, :p, :i, :w, :inc, :lk) RETURNING seq"
        ),
        {
            "a": intent.application_id,
            "s": intent.scope,
            "r": intent.request_id,
            "o": intent.operation,
            "f": intent.fingerprint,
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
        sa.text(
            f"SELECT {_INTENT_COLUMNS} FROM repayment_intents WHERE application_id = :a ORDER BY seq"
        ),
        {"a": application_id},
    ).all()
    return [
        RepaymentIntent(
            int(r.seq),
            r.application_id,
            r.scope,
            r.request_id,
            r.operation,
            r.fingerprint,
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


_APP_COLUMNS = (
    "id, user_id, status, amount_minor, currency, term_months, purpose, purpose_description, "
    "financials, credit_score, credit_score_id, debt_to_income_bps, decision_reasons, decided_by, "
    "decision_time, approved_amount_minor, priced_apr_bps, apr_bps, installment_minor, schedule, "
    "loan_account_id, disbursement_transaction_id, disburse_time, request_id, create_time, "
    "update_time"
)


def insert_bureau_check(session: Session, application_id: str, check: BureauCheck) -> None:
    r = check.report
    session.execute(
        sa.text(
            "INSERT INTO bureau_checks (application_id, status, consent_time, national_id_masked, bureau, "
            "report_reference, score_band, open_accounts, delinquencies_24m, defaults, inquiries_6m, "
            "history_months, thin_file, pull_time) VALUES (:a, :st, :ct, :nid, :b, :ref, :band, :oa, :dq, "
            ":df, :inq, :hm, :thin, :pt)"
        ),
        {
            "a": application_id,
            "st": int(check.status),
            "ct": check.consent_time,
            "nid": check.national_id_masked,
            "b": r.bureau if r else None,
            "ref": r.reference if r else None,
            "band": int(r.score_band) if r else None,
            "oa": r.open_accounts if r else None,
            "dq": r.delinquencies_24m if r else None,
            "df": r.defaults if r else None,
            "inq": r.inquiries_6m if r else None,
            "hm": r.history_months if r else None,
            "thin": r.thin_file if r else None,
            "pt": r.pull_time if r else None,
        },
    )


def _bureau_checks(session: Session, ids: list[str]) -> dict[str, BureauCheck]:
    checks: dict[str, BureauCheck] = {}
    for b in session.execute(
        sa.text("SELECT * FROM bureau_checks WHERE application_id = ANY(:ids)"), {"ids": ids}
    ):
        report = None
        if b.report_reference is not None:
            report = BureauReport(
                bureau=b.bureau,
                reference=b.report_reference,
                score_band=ScoreBand(b.score_band),
                open_accounts=b.open_accounts,
                delinquencies_24m=b.delinquencies_24m,
                defaults=b.defaults,
                inquiries_6m=b.inquiries_6m,
                history_months=b.history_months,
                thin_file=b.thin_file,
                pull_time=b.pull_time,
            )
        checks[b.application_id] = BureauCheck(
            BureauStatus(b.status), b.consent_time, b.national_id_masked, report
        )
    return checks


def _applications(session: Session, rows: list[Any]) -> list[Application]:
    ids = [r.id for r in rows]
    history: dict[str, list[StatusChange]] = {i: [] for i in ids}
    repayments: dict[str, list[Repayment]] = {i: [] for i in ids}
    bureau: dict[str, BureauCheck] = _bureau_checks(session, ids) if ids else {}
    if ids:
        for h in session.execute(
            sa.text(
                "SELECT application_id, from_status, to_status, reason, actor, change_time "
                "FROM loan_status_changes WHERE application_id = ANY(:ids) ORDER BY application_id, seq"
            ),
            {"ids": ids},
        ):
            history[h.application_id].append(
                StatusChange(
                    Status(h.from_status) if h.from_status else None,
                    Status(h.to_status),
                    h.reason,
                    h.actor,
                    h.change_time,
                )
            )
        for p in session.execute(
            sa.text(
                "SELECT id, application_id, amount_minor, principal_minor, interest_minor, transaction_id, "
                "request_id, create_time FROM loan_repayments WHERE application_id = ANY(:ids) "
                "ORDER BY application_id, id"
            ),
            {"ids": ids},
        ):
            repayments[p.application_id].append(
                Repayment(
                    p.id,
                    p.amount_minor,
                    p.principal_minor,
                    p.interest_minor,
                    p.transaction_id,
                    p.request_id,
                    p.create_time,
                )
            )
    return [
        Application(
            id=r.id,
            user_id=r.user_id,
            amount=r.amount_minor,
            currency=r.currency,
            term_months=r.term_months,
            purpose=Purpose(r.purpose),
            purpose_description=r.purpose_description,
            financials=_financials(r.financials),
            status=Status(r.status),
            request_id=r.request_id,
            create_time=r.create_time,
            update_time=r.update_time,
            credit_score=r.credit_score,
            credit_score_id=r.credit_score_id,
            debt_to_income_bps=r.debt_to_income_bps,
            decision_reasons=_reasons(r.decision_reasons),
            decided_by=r.decided_by,
            decision_time=r.decision_time,
            approved_amount=r.approved_amount_minor,
            priced_apr_bps=r.priced_apr_bps,
            apr_bps=r.apr_bps,
            installment_amount=r.installment_minor,
            schedule=_schedule(r.schedule),
            loan_account_id=r.loan_account_id,
            disbursement_transaction_id=r.disbursement_transaction_id,
            disburse_time=r.disburse_time,
            repayments=tuple(repayments[r.id]),
            history=tuple(history[r.id]),
            bureau=bureau.get(r.id),
        )
        for r in rows
    ]


def get_application(session: Session, application_id: str, *, lock: bool = False) -> Application | None:
    row = session.execute(
        sa.text(
            f"SELECT {_APP_COLUMNS} FROM loan_applications WHERE id = :id" + (" FOR UPDATE" if lock else "")
        ),
        {"id": application_id},
    ).first()
    return None if row is None else _applications(session, [row])[0]


def list_applications(
    session: Session,
    user_id: str | None,
    statuses: list[int],
    currency: str | None,
    start: datetime | None,
    end: datetime | None,
    before_id: str | None,
    limit: int,
) -> list[Application]:
    clauses = ["TRUE"]
    params: dict[str, Any] = {"n": limit}
    if user_id is not None:
        clauses.append("user_id = :u")
        params["u"] = user_id
    if statuses:
        clauses.append("status = ANY(:st)")
        params["st"] = statuses
    if currency is not None:
        clauses.append("currency = :c")
        params["c"] = currency
    _created_within(clauses, params, start, end)
    if before_id is not None:
        # Ids are time ordered, so id order is submission order.
        clauses.append("id < :before")
        params["before"] = before_id
    rows = session.execute(
        sa.text(
            f"SELECT {_APP_COLUMNS} FROM loan_applications WHERE {' AND '.join(clauses)} "
            "ORDER BY id DESC LIMIT :n"
        ),
        params,
    ).all()
    return _applications(session, list(rows))


def latest_financials(session: Session, user_id: str) -> Financials | None:
    row = session.execute(
        sa.text("SELECT financials FROM loan_applications WHERE user_id = :u ORDER BY id DESC LIMIT 1"),
        {"u": user_id},
    ).first()
    return None if row is None else _financials(row.financials)


# -- credit lines --------------------------------------------------------------------------------


def get_line(session: Session, user_id: str, *, lock: bool = False) -> CreditLine | None:
    row = session.execute(
        sa.text(
            "SELECT id, user_id, currency, limit_minor, status, apr_bps, ledger_account_id, create_time, "
            "update_time FROM credit_lines WHERE user_id = :u" + (" FOR UPDATE" if lock else "")
        ),
        {"u": user_id},
    ).first()
    if row is None:
        return None
    return CreditLine(
        row.id,
        row.user_id,
        row.currency,
        row.limit_minor,
        LineStatus(row.status),
        row.apr_bps,
        row.ledger_account_id,
        row.create_time,
        row.update_time,
    )


def insert_line(session: Session, line: CreditLine) -> None:
    session.execute(
        sa.text(
            "INSERT INTO credit_lines (id, user_id, currency, limit_minor, status, apr_bps, "
            "ledger_account_id, create_time, update_time) VALUES (:id, :u, :c, :l, :s, :a, :acc, :ct, :ut)"
        ),
        {
            "id": line.id,
            "u": line.user_id,
            "c": line.currency,
            "l": line.limit,
            "s": int(line.status),
            "a": line.apr_bps,
            "acc": line.ledger_account_id,
            "ct": line.create_time,
            "ut": line.update_time,
        },
    )


def update_line(session: Session, line: CreditLine) -> None:
    session.execute(
        sa.text(
            "UPDATE credit_lines SET limit_minor = :l, status = :s, apr_bps = :a, update_time = :ut "
            "WHERE id = :id"
        ),
        {"id": line.id, "l": line.limit, "s": int(line.status), "a": line.apr_bps, "ut": line.update_time},
    )


def add_line_change(session: Session, line: CreditLine, reason: str, actor: str, request_id: str) -> None:
    session.execute(
        sa.text(
            "INSERT INTO credit_line_changes (credit_line_id, limit_minor, status, apr_bps, reason, actor, "
            "request_id, change_time) VALUES (:id, :l, :s, :a, :r, :actor, :rid, :t)"
        ),
        {
            "id": line.id,
            "l": line.limit,
            "s": int(line.status),
            "a": line.apr_bps,
            "r": reason,
            "actor": actor,
            "rid": request_id,
            "t": line.update_time,
        },
    )


# -- ledger accounts -----------------------------------------------------------------------------


def ledger_account(session: Session, owner_id: str, purpose: str, currency: str) -> str | None:
    value = session.execute(
        sa.text(
            "SELECT account_id FROM ledger_accounts WHERE owner_id = :o AND purpose = :p AND currency = :c"
        ),
        {"o": owner_id, "p": purpose, "c": currency},
    ).scalar()
    return None if value is None else str(value)


def save_ledger_account(
    session: Session, owner_id: str, purpose: str, currency: str, account_id: str
) -> None:
    session.execute(
        sa.text(
            "INSERT INTO ledger_accounts (owner_id, purpose, currency, account_id) VALUES (:o, :p, :c, :a) "
            "ON CONFLICT DO NOTHING"
        ),
        {"o": owner_id, "p": purpose, "c": currency, "a": account_id},
    )


# -- money in doubt: disbursement intents and the recovery job's queries ------------------------------
@dataclass(frozen=True)
class DisbursementIntent:
    application_id: str
    scope: str
    request_id: str
    operation: str
    fingerprint: str
    actor: str
    wallet_account_id: str
    loan_account_id: str


def save_disbursement_intent(session: Session, intent: DisbursementIntent) -> None:
    """Written (or taken over by the latest requester) before the ledger call."""
    session.execute(
        sa.text(
            "INSERT INTO disbursement_intents (application_id, scope, request_id, operation, fingerprint, "
            "actor, wallet_account_id, loan_account_id) VALUES (:a, :s, :r, :o, :f, :actor, :w, :l) "
            "ON CONFLICT (application_id) DO UPDATE SET scope = :s, request_id = :r, operation = :o, "
            "fingerprint = :f, actor = :actor, wallet_account_id = :w, loan_account_id = :l, "
            "create_time = clock_timestamp()"
        ),
        {"a": intent.application_id, "s": intent.scope, "r": intent.request_id, "o": intent.operation,
         "f": intent.fingerprint, "actor": intent.actor, "w": intent.wallet_account_id,
         "l": intent.loan_account_id},
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
            "SELECT application_id, scope, request_id, operation, fingerprint, actor, wallet_account_id, "
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


@dataclass(frozen=True)
class BookedLoan:
    """What reconciliation needs of a loan."""

    id: str
    status: int
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
            "WHERE status IN (3, 5, 6, 7) AND id > :after ORDER BY id LIMIT :n"
        ),
        {"after": after_id, "n": limit},
    ).all()
    ids = [r[0] for r in rows]
    repaid: dict[str, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for r in session.execute(
            sa.text("SELECT application_id, transaction_id, amount_minor FROM loan_repayments "
                    "WHERE application_id = ANY(:ids)"),
            {"ids": ids},
        ):
            repaid[r[0]][r[1]] = int(r[2])
    return [BookedLoan(r[0], int(r[1]), r[2], int(r[3] or 0), r[4] or "", repaid[r[0]]) for r in rows]


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
_STAFF_ACTIONS = """
SELECT * FROM (
    SELECT 'lsc_' || c.application_id || '_' || c.seq AS id, c.actor, 'loan.status_changed' AS action,
           c.application_id AS resource_id, a.user_id, c.reason, c.change_time AS at,
           COALESCE(c.from_status, 0) AS from_status, c.to_status,
           0::bigint AS limit_minor, '' AS currency, 0 AS apr_bps
      FROM loan_status_changes c JOIN loan_applications a ON a.id = c.application_id
     WHERE c.actor LIKE :person AND c.actor <> a.user_id
    UNION ALL
    SELECT 'clc_' || l.id, l.actor, 'credit_line.changed', l.credit_line_id, cl.user_id, l.reason,
           l.change_time, 0, l.status, l.limit_minor, cl.currency, l.apr_bps
      FROM credit_line_changes l JOIN credit_lines cl ON cl.id = l.credit_line_id
     WHERE l.actor LIKE :person AND l.actor <> cl.user_id
) AS actions
WHERE (CAST(:actor AS text) IS NULL OR actor = :actor)
  AND (CAST(:before_at AS timestamptz) IS NULL OR (at, id) < (:before_at, :before_id))
ORDER BY at DESC, id DESC
LIMIT :limit
"""


def staff_actions(session: Session, actor_id: str | None, before: tuple[datetime, str] | None,
                  limit: int) -> list[StaffAction]:
    """Newest first; ``before`` is the (time, id) of the last entry of the previous page."""
    rows = session.execute(sa.text(_STAFF_ACTIONS), audit.page_parameters(actor_id, before, limit)).all()
    out = []
    for row in rows:
        if row.action == "loan.status_changed":
            details = {"from_status": _status_name(row.from_status), "to_status": _status_name(row.to_status)}
        else:
            details = {"status": "CREDIT_LINE_STATUS_" + LineStatus(row.to_status).name,
                       "limit_minor": str(row.limit_minor), "currency": row.currency.strip(),
                       "apr_bps": str(row.apr_bps)}
        out.append(StaffAction(id=row.id, actor_id=row.actor, action=row.action, resource_id=row.resource_id,
                               user_id=row.user_id, reason=row.reason, create_time=row.at, details=details))
    return out


def _status_name(value: int) -> str:
    return "LOAN_APPLICATION_STATUS_" + Status(value).name if value in Status._value2member_map_ else ""
