"""Who may call each RPC of the payment service (services.runtime.access_rules).

Business rules on who may move a payment to which status (the actor of a change, separation of
duties) stay in the domain (domain/states.py, domain/duties.py)."""

from __future__ import annotations

from services.runtime.access_rules import AccessTable, Public, owner_or, roles
from services.runtime.auth import ROLE_ADMIN, ROLE_SERVICE, ROLE_SUPPORT

STAFF = (ROLE_ADMIN, ROLE_SUPPORT)

ACCESS = AccessTable(
    "nexafi.payment.v1.PaymentService",
    {
        # The payer; the check comes after syntax so a malformed request is 400 for all.
        "InitiatePayment": owner_or(ROLE_ADMIN),
        # The payer or the payee.
        "GetPayment": owner_or(*STAFF, message="not allowed to read another user's payment"),
        "ListPayments": owner_or(*STAFF),
        "ListPaymentsInReview": roles(*STAFF),
        # Owners cancel; the domain further limits what each staff kind may set (domain/states.py).
        "UpdatePaymentStatus": roles(
            *STAFF, ROLE_SERVICE, message="payment owners cannot set a status; use CancelPayment"
        ),
        "CancelPayment": owner_or(*STAFF),
        "RefundPayment": roles(*STAFF, ROLE_SERVICE),
        # A payment method is its owner's alone: staff neither add, list nor remove them.
        "AddPaymentMethod": owner_or(message="payment methods are added by their owner only"),
        "ListPaymentMethods": owner_or(message="payment methods are listed by their owner only"),
        "RemovePaymentMethod": owner_or(message="payment methods are removed by their owner only"),
        "HandleConnectorCallback": Public("the connector's HMAC signature over the payload"),
        "GetReconciliationReport": roles(ROLE_ADMIN, ROLE_SERVICE),
        "RecoverStalePayments": roles(ROLE_ADMIN, ROLE_SERVICE),
        "ListStaffActions": roles(ROLE_ADMIN),
    },
)
