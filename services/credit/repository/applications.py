"""Loan applications with their history, bureau checks and repayments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.credit.bureau.base import BureauReport, ScoreBand
from services.credit.domain.model import (
    Application,
    BureauCheck,
    BureauStatus,
    Financials,
    Purpose,
    Repayment,
    Status,
    StatusChange,
)
from services.credit.repository.codecs import (
    created_within,
    financials,
    financials_json,
    reasons,
    reasons_json,
    schedule,
    schedule_json,
)

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
            "f": financials_json(app.financials),
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
            "dr": reasons_json(app.decision_reasons),
            "db": app.decided_by,
            "dt": app.decision_time,
            "aa": app.approved_amount,
            "papr": app.priced_apr_bps,
            "apr": app.apr_bps,
            "inst": app.installment_amount,
            "sch": schedule_json(app.schedule),
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
            financials=financials(r.financials),
            status=Status(r.status),
            request_id=r.request_id,
            create_time=r.create_time,
            update_time=r.update_time,
            credit_score=r.credit_score,
            credit_score_id=r.credit_score_id,
            debt_to_income_bps=r.debt_to_income_bps,
            decision_reasons=reasons(r.decision_reasons),
            decided_by=r.decided_by,
            decision_time=r.decision_time,
            approved_amount=r.approved_amount_minor,
            priced_apr_bps=r.priced_apr_bps,
            apr_bps=r.apr_bps,
            installment_amount=r.installment_minor,
            schedule=schedule(r.schedule),
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


@dataclass(frozen=True)
class ApplicationFilter:
    """Which applications a listing returns (newest first); unset fields do not filter."""

    user_id: str | None = None
    statuses: tuple[int, ...] = ()
    currency: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def list_applications(
    session: Session, where: ApplicationFilter, before_id: str | None, limit: int
) -> list[Application]:
    clauses = ["TRUE"]
    params: dict[str, Any] = {"n": limit}
    if where.user_id is not None:
        clauses.append("user_id = :u")
        params["u"] = where.user_id
    if where.statuses:
        clauses.append("status = ANY(:st)")
        # A list: psycopg2 sends it as an array (a tuple would be a row).
        params["st"] = list(where.statuses)
    if where.currency is not None:
        clauses.append("currency = :c")
        params["c"] = where.currency
    created_within(clauses, params, where.start, where.end)
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
    return None if row is None else financials(row.financials)
