"""Who may call each RPC of the credit service, line use included (services.runtime.access_rules).

Separation of duties (nobody decides their own application or changes their own line) is a
business rule and stays with the use cases (applications.py, credit_lines.py)."""

from __future__ import annotations

from services.runtime.access_rules import AccessTable, owner_or, roles
from services.runtime.auth import (
    ROLE_ADMIN,
    ROLE_COMPLIANCE,
    ROLE_SERVICE,
    ROLE_SUPPORT,
    ROLE_UNDERWRITER,
    Principal,
)

LENDERS = (ROLE_UNDERWRITER, ROLE_ADMIN)
# Support and compliance staff are refused the book as customers are: say so plainly.
NOT_A_LENDER = (
    "only underwriters and admins list other customers' applications; "
    "support and compliance staff may list only their own"
)

ACCESS = AccessTable(
    "nexafi.credit.v1.CreditService",
    {
        "SubmitLoanApplication": owner_or(ROLE_ADMIN),
        "GetLoanApplication": owner_or(*LENDERS),
        # Services list the whole book too: analytics builds its credit_portfolio report from it.
        "ListLoanApplications": owner_or(
            *LENDERS,
            ROLE_SERVICE,
            message="customers may list only their own applications",
            role_messages={ROLE_SUPPORT: NOT_A_LENDER, ROLE_COMPLIANCE: NOT_A_LENDER},
        ),
        "DecideLoanApplication": roles(*LENDERS),
        # The application's owner is checked under the request's key (which belongs to this caller
        # alone): a key reused with another body is refused as such first, and a refusal is stored.
        "CancelLoanApplication": owner_or(ROLE_ADMIN),
        "DisburseLoan": owner_or(ROLE_ADMIN, ROLE_SERVICE),
        "RecordRepayment": owner_or(ROLE_ADMIN, ROLE_SERVICE),
        "GetCreditScore": owner_or(*LENDERS, ROLE_SERVICE),
        "RefreshCreditScore": owner_or(*LENDERS, ROLE_SERVICE),
        "ListCreditScoreHistory": owner_or(*LENDERS),
        "GetCreditLine": owner_or(*LENDERS, ROLE_SERVICE),
        "UpdateCreditLine": roles(*LENDERS, ROLE_SERVICE),
        # A draw only the line's holder (staff never move credit into a customer's wallet); a
        # repayment the holder or an admin (paying from the holder's wallet); services none of these.
        "DrawCreditLine": owner_or(),
        "RepayCreditLine": owner_or(ROLE_ADMIN),
        "ListCreditLineStatements": owner_or(*LENDERS),
        "GetCreditLineStatement": owner_or(*LENDERS),
        "GetLoanReconciliationReport": roles(ROLE_ADMIN, ROLE_SERVICE),
        "ListStaffActions": roles(ROLE_ADMIN),
    },
)


def sees_bureau_reports(principal: Principal) -> bool:
    """Whether an application is shown with its bureau report: underwriters and admins, never
    customers or services."""
    return principal.has_role(*LENDERS)
