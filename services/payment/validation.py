"""Syntactic validation of payment requests: the shared field checks with the payment contract's own
ids, request ids, metadata limits and message, and the payment method a request describes.

Card numbers and CVCs exist here only inside the request message and the ``CardData`` handed on
to the connector; they are never logged, stored, returned or put in an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from nexafi.payment.v1 import payment_pb2

from services.payment.connectors.base import BankAccountData, CardData
from services.payment.domain import bank, cards
from services.payment.domain.limits import Limits
from services.payment.domain.model import BankFormat, MethodType
from services.payment.methods import NewMethod
from services.runtime.api import FieldChecks
from services.runtime.errors import InvalidArgument
from services.runtime.ids import is_valid_id
from services.runtime.mcc import MERCHANT_CATEGORIES, is_mcc

MAX_DESCRIPTION = 500
MAX_METADATA_PAIRS = 50
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500
MAX_REQUEST_ID = 255


class PaymentChecks(FieldChecks):
    """The shared field checks with the payment service's own ids, request ids, metadata and message."""

    def prefixed_id(self, value: str, prefix: str, field: str) -> str:
        """A NexaFi id of one kind (``usr_``, ``pay_``, ``pm_``)."""
        if not value:
            self.add(field, "is required")
        elif not is_valid_id(value, prefix):
            self.add(field, f"must be a {prefix}_ id")
        return value

    def non_negative(self, value: int, field: str) -> int:
        if value < 0:
            self.add(field, "must not be negative")
        return value

    def request_id(self, value: str, field: str = "request_id", *, required: bool = True) -> str:
        # Up to 255 characters (the Idempotency-Key header), not the shared 128.
        if not value:
            if required:
                self.add(field, "is required (or the Idempotency-Key header)")
        elif len(value) > MAX_REQUEST_ID:
            self.add(field, f"must be at most {MAX_REQUEST_ID} characters")
        return value

    def metadata(self, values: Mapping[str, str], field: str = "metadata") -> dict[str, str]:
        # The payment contract's limits (50 pairs, keys up to 40), not the shared ones (32, 64).
        items = dict(values)
        if len(items) > MAX_METADATA_PAIRS:
            self.add(field, f"at most {MAX_METADATA_PAIRS} pairs")
        for key, value in items.items():
            if not key or len(key) > MAX_METADATA_KEY or len(value) > MAX_METADATA_VALUE:
                self.add(
                    f"{field}[{key[:MAX_METADATA_KEY]}]",
                    f"keys 1-{MAX_METADATA_KEY} and values up to {MAX_METADATA_VALUE} characters",
                )
        return items

    def merchant_category(self, values: Mapping[str, str], field: str = "metadata") -> None:
        """The payment's merchant category, when given (``mcc`` or ``category``): it is carried
        into the ledger entry, where analytics categorizes spending by it."""
        mcc = values.get("mcc")
        if mcc is not None and not is_mcc(mcc):
            self.add(f"{field}[mcc]", "must be a merchant category code: four digits (ISO 18245)")
        category = values.get("category")
        if category is not None and category not in MERCHANT_CATEGORIES:
            self.add(
                f"{field}[category]",
                "must be one of the merchant categories: " + ", ".join(sorted(MERCHANT_CATEGORIES)),
            )

    def done(self, message: str = "the request is invalid") -> None:
        # The message lists every violation.
        if self.violations:
            super().done(f"{message}: " + "; ".join(f"{v.field} {v.description}" for v in self.violations))


def new_method(
    request: payment_pb2.AddPaymentMethodRequest, key: bytes, today: date, limits: Limits
) -> NewMethod:
    """The method an AddPaymentMethod request describes, validated, fingerprinted with ``key``
    (the raw number enters the keyed hash only) and ready to tokenize."""
    which = request.WhichOneof("details")
    if which == "card":
        card = request.card
        number = cards.normalize_number(card.number)
        brand = cards.validate_card(number, card.exp_month, card.exp_year, card.cvc, today)
        fingerprint = cards.fingerprint(key, "card", number)
        return NewMethod(
            user_id=request.user_id,
            type=MethodType.CARD,
            fingerprint=fingerprint,
            dedup_key=fingerprint,
            brand=int(brand),
            last4=number[-4:],
            card=CardData(
                number=number,
                exp_month=card.exp_month,
                exp_year=card.exp_year,
                cvc=card.cvc,
                holder_name=card.holder_name[:200],
            ),
        )
    if which == "bank_account":
        account = request.bank_account
        if account.WhichOneof("number") == "iban":
            iban = bank.validate_iban(account.iban)
            fingerprint = cards.fingerprint(key, "iban", iban)
            return NewMethod(
                user_id=request.user_id,
                type=MethodType.BANK_ACCOUNT,
                fingerprint=fingerprint,
                dedup_key=fingerprint,
                bank_format=BankFormat.IBAN,
                masked_number=bank.mask_iban(iban),
                last4=iban[-4:],
                country_code=iban[:2],
                bank=BankAccountData(
                    number=iban,
                    routing_number="",
                    country_code=iban[:2],
                    holder_name=account.holder_name[:200],
                ),
            )
        if account.WhichOneof("number") == "domestic":
            number = account.domestic.account_number
            routing = account.domestic.routing_number
            country = account.country_code.upper()
            bank.validate_domestic(number, routing, country)
            fingerprint = cards.fingerprint(key, "account", f"{country}:{routing}:{number}")
            return NewMethod(
                user_id=request.user_id,
                type=MethodType.BANK_ACCOUNT,
                fingerprint=fingerprint,
                dedup_key=fingerprint,
                bank_format=BankFormat.DOMESTIC,
                masked_number=bank.mask_account(number),
                last4=number[-4:],
                country_code=country,
                bank=BankAccountData(
                    number=number,
                    routing_number=routing,
                    country_code=country,
                    holder_name=account.holder_name[:200],
                ),
            )
        raise InvalidArgument(
            "a bank account needs an IBAN or a domestic account number",
            field="bank_account.number",
            description="set iban or domestic",
        )
    currency = request.wallet.currency
    limits.check_currency(currency, "wallet.currency")
    return NewMethod(
        user_id=request.user_id,
        type=MethodType.WALLET,
        fingerprint="",
        dedup_key=f"wallet:{currency}",
        currency=currency,
    )
