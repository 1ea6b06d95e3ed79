"""Who may call each RPC of the analytics service (services.runtime.access_rules).

A customer reads only their own analyses, reports and dashboard; admins, support, compliance and
services read anyone's; platform-wide reports are for admins, compliance and services; the feed
checkpoint is internal. Report definitions are their owner's (and admins'): anyone else is told
a definition does not exist, as for a missing one."""

from __future__ import annotations

from services.runtime.access_rules import AccessTable, Cases, owner_or, roles
from services.runtime.auth import ROLE_ADMIN, ROLE_COMPLIANCE, ROLE_SERVICE, STAFF_READ_ROLES

PLATFORM_READERS = (ROLE_ADMIN, ROLE_COMPLIANCE, ROLE_SERVICE)
# A report or chart either of one user's data, or of the whole platform (the credit portfolio).
PER_USER_OR_PLATFORM = Cases({"per_user": owner_or(*STAFF_READ_ROLES), "platform": roles(*PLATFORM_READERS)})

ACCESS = AccessTable(
    "nexafi.analytics.v1.AnalyticsService",
    {
        "GetSpendingAnalysis": owner_or(*STAFF_READ_ROLES),
        "GetIncomeAnalysis": owner_or(*STAFF_READ_ROLES),
        # Who may ask is settled before what was asked is checked: a customer learns nothing
        # about a platform-wide report's parameters.
        "GetReport": PER_USER_OR_PLATFORM,
        "GetDashboardSeries": owner_or(*STAFF_READ_ROLES),
        "GetFeedCheckpoint": roles(ROLE_SERVICE, ROLE_ADMIN),
        "CreateReportDefinition": owner_or(ROLE_ADMIN),
        "GetReportDefinition": owner_or(ROLE_ADMIN, hidden=True),
        "ListReportDefinitions": owner_or(ROLE_ADMIN),
        "DeleteReportDefinition": owner_or(ROLE_ADMIN, hidden=True),
        "RunCustomReport": owner_or(ROLE_ADMIN, hidden=True),
        "RenderCustomReportChart": owner_or(ROLE_ADMIN, hidden=True),
        "RenderChart": PER_USER_OR_PLATFORM,
    },
)
