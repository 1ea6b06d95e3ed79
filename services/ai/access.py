"""Who may call each RPC of the AI service (services.runtime.access_rules)."""

from __future__ import annotations

from services.runtime.access_rules import AccessTable, Authenticated, Cases, owner_or, roles
from services.runtime.auth import ROLE_ADMIN, ROLE_COMPLIANCE, ROLE_SERVICE, ROLE_SUPPORT

USER_DATA_ROLES = (ROLE_ADMIN, ROLE_SUPPORT, ROLE_SERVICE)

ACCESS = AccessTable(
    "nexafi.ai.v1.AiService",
    {
        # Services and admins only, so customers cannot probe the fraud model's thresholds
        # (checked before the request is even validated).
        "CheckFraud": roles(ROLE_SERVICE, ROLE_ADMIN),
        "ScoreCredit": roles(ROLE_SERVICE, ROLE_ADMIN),
        "GetRecommendations": owner_or(*USER_DATA_ROLES),
        "PredictTrend": Cases(
            {
                "user_series": owner_or(*USER_DATA_ROLES),
                "supplied_series": Authenticated("a series the caller supplies reveals nobody's data"),
            }
        ),
        "ListModels": roles(ROLE_ADMIN),
        "GetModel": roles(ROLE_ADMIN),
        "ActivateModelVersion": roles(ROLE_ADMIN),
        "GetInference": roles(ROLE_ADMIN, ROLE_COMPLIANCE),
    },
)
