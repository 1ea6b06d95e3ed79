"""Which category a user's money movement falls in, derived only from what the ledger entry carries.

The rule (the analytics contract's CategoryTotal.category), first match wins:

1. the entry's ``category`` metadata, normalized to lower snake case (callers such as
   payment or payroll imports set it: "groceries", "rent", "salary");
2. its merchant category code (metadata ``mcc`` or ``merchant_category_code``, ISO 18245),
   mapped by ``_MCC_RANGES``; a code the table does not know becomes ``"merchant_other"``;
3. its transaction type, seen from the user's side (``_BY_TYPE``): a transfer is
   ``transfer_out`` for the payer and ``transfer_in`` for the payee, a reversal that gives
   money back is a ``refund`` and one that takes money back a ``reversal``;
4. ``"uncategorized"`` when none applies.

The mapping is deterministic: the same entry always yields the same category, so
a replay of the feed rebuilds the same summaries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from services.analytics.domain.ledger_types import TransactionType

UNCATEGORIZED = "uncategorized"
MERCHANT_OTHER = "merchant_other"
MAX_CATEGORY_LENGTH = 40

# (type) -> (category when money leaves the user, category when it comes in).
_BY_TYPE: dict[int, tuple[str, str]] = {
    TransactionType.DEPOSIT: ("top_up", "top_up"),
    TransactionType.WITHDRAWAL: ("withdrawal", "withdrawal"),
    TransactionType.TRANSFER: ("transfer_out", "transfer_in"),
    TransactionType.PAYMENT: ("payment", "payment_received"),
    TransactionType.REFUND: ("refund", "refund"),
    TransactionType.FEE: ("fees", "fees"),
    TransactionType.LOAN_DISBURSEMENT: ("loan", "loan"),
    TransactionType.LOAN_REPAYMENT: ("loan_repayment", "loan_repayment"),
    TransactionType.REVERSAL: ("reversal", "refund"),
    TransactionType.ADJUSTMENT: ("adjustment", "adjustment"),
}

# (first, last, category), inclusive ISO 18245 ranges, checked in order; coarse on purpose:
# a spending breakdown needs a dozen buckets, not seven hundred codes.
_MCC_RANGES: tuple[tuple[int, int, str], ...] = (
    (3000, 3999, "travel"),  # airlines, car rental, hotels
    (4011, 4131, "transport"),
    (4411, 4723, "travel"),
    (4784, 4789, "transport"),
    (4812, 4816, "utilities"),  # telecom
    (4899, 4899, "subscriptions"),
    (4900, 4900, "utilities"),
    (5411, 5499, "groceries"),
    (5541, 5552, "fuel"),
    (5611, 5699, "clothing"),
    (5811, 5814, "restaurants"),
    (5815, 5818, "subscriptions"),
    (5912, 5912, "health"),
    (6010, 6011, "cash_withdrawal"),
    (6513, 6513, "rent"),
    (7832, 7999, "entertainment"),
    (8011, 8099, "health"),
    (8211, 8299, "education"),
    (5000, 5999, "shopping"),  # any other retail, after the specific retail ranges
)

_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalize(value: str) -> str:
    """Lower snake case, at most 40 characters; "" when nothing usable is left."""
    return _NON_WORD.sub("_", value.strip().lower()).strip("_")[:MAX_CATEGORY_LENGTH].rstrip("_")


def from_mcc(code: str) -> str | None:
    """The category of a merchant category code; None when ``code`` is not four digits."""
    code = code.strip()
    if len(code) != 4 or not code.isdigit():
        return None
    value = int(code)
    for first, last, category in _MCC_RANGES:
        if first <= value <= last:
            return category
    return MERCHANT_OTHER


def categorize(transaction_type: int, metadata: Mapping[str, str], *, spending: bool) -> str:
    """The category of one user's side of an entry (see the module's rule)."""
    explicit = normalize(metadata.get("category", ""))
    if explicit:
        return explicit
    for key in ("mcc", "merchant_category_code"):
        if key in metadata:
            mapped = from_mcc(metadata[key])
            if mapped is not None:
                return mapped
    pair = _BY_TYPE.get(transaction_type)
    if pair is None:
        return UNCATEGORIZED
    return pair[0] if spending else pair[1]
