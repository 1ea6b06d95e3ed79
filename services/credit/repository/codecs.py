"""Encoding of the domain's values in the credit tables (JSON columns, list filters)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from services.credit.domain.amortization import Installment
from services.credit.domain.model import (
    Employment,
    Financials,
    Reason,
)


def reasons_json(reasons: tuple[Reason, ...]) -> str:
    return json.dumps([{"code": r.code, "description": r.description} for r in reasons])


def reasons(value: Any) -> tuple[Reason, ...]:
    return tuple(Reason(r["code"], r["description"]) for r in value or [])


def schedule_json(schedule: tuple[Installment, ...]) -> str:
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


def schedule(value: Any) -> tuple[Installment, ...]:
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


def financials_json(financials: Financials) -> str:
    body = asdict(financials)
    body["employment"] = int(financials.employment)
    return json.dumps(body)


def financials(value: dict[str, Any]) -> Financials:
    body = dict(value)
    body["employment"] = Employment(body["employment"])
    return Financials(**body)


def created_within(
    clauses: list[str], params: dict[str, Any], start: datetime | None, end: datetime | None
) -> None:
    """Adds the list filter ``start <= create_time < end``; an unset bound is no bound."""
    if start is not None:
        clauses.append("create_time >= :start")
        params["start"] = start
    if end is not None:
        clauses.append("create_time < :end")
        params["end"] = end
