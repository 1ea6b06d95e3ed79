"""The audit trail of staff actions on loans and credit lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.credit.domain.model import (
    LineStatus,
    Status,
)
from services.runtime import audit
from services.runtime.audit import StaffAction

_STAFF_ACTIONS = """
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
"""


def staff_actions(
    session: Session, actor_id: str | None, before: tuple[datetime, str] | None, limit: int
) -> list[StaffAction]:
    """Newest first; ``before`` is the (time, id) of the last entry of the previous page."""
    return audit.read_trail(session, _STAFF_ACTIONS, actor_id, before, limit, _details)


def _details(row: Any) -> dict[str, str]:
    if row.action == "loan.status_changed":
        return {
            "from_status": audit.enum_label("LOAN_APPLICATION_STATUS_", Status, row.from_status),
            "to_status": audit.enum_label("LOAN_APPLICATION_STATUS_", Status, row.to_status),
        }
    return {
        "status": "CREDIT_LINE_STATUS_" + LineStatus(row.to_status).name,
        "limit_minor": str(row.limit_minor),
        "currency": row.currency.strip(),
        "apr_bps": str(row.apr_bps),
    }
