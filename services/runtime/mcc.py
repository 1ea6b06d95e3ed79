"""Merchant category codes (ISO 18245) and the merchant categories they map to, shared by the
services that name a payment's category: payment (validates a payment's ``mcc`` or ``category``
metadata and records the category on its ledger entry), analytics (categorizes spending by it) and
the AI models (trained on these categories).

One table, so a payment's category is the same everywhere: the models know 17 categories, not the
~700 MCCs; the table maps the common codes and ranges.
"""

from __future__ import annotations

# (first, last, category), inclusive ranges, checked in order.
MCC_RANGES: tuple[tuple[int, int, str], ...] = (
    (3000, 3350, "travel"),  # airlines
    (3351, 3500, "travel"),  # car rental
    (3501, 3999, "travel"),  # hotels
    (4011, 4011, "transport"),
    (4111, 4131, "transport"),  # commuter transport, taxis, buses
    (4411, 4411, "travel"),  # cruise lines
    (4511, 4511, "travel"),  # airlines
    (4582, 4582, "travel"),
    (4722, 4723, "travel"),  # travel agencies
    (4784, 4784, "transport"),  # tolls
    (4789, 4789, "transport"),
    (4812, 4812, "electronics"),  # telecom equipment
    (4814, 4816, "utilities"),  # telecom services, internet
    (4899, 4899, "subscriptions"),  # cable and streaming
    (4900, 4900, "utilities"),
    (5045, 5045, "electronics"),
    (5094, 5094, "jewelry"),
    (5300, 5311, "online_retail"),  # wholesale clubs, department stores
    (5399, 5399, "online_retail"),
    (5411, 5411, "grocery"),
    (5422, 5499, "grocery"),
    (5541, 5542, "fuel"),
    (5552, 5552, "fuel"),  # EV charging
    (5611, 5699, "clothing"),
    (5732, 5734, "electronics"),
    (5812, 5814, "restaurants"),
    (5815, 5818, "subscriptions"),  # digital goods and media
    (5912, 5912, "health"),
    (5944, 5944, "jewelry"),
    (5946, 5946, "electronics"),
    (5960, 5969, "online_retail"),  # direct marketing, mail order
    (5968, 5968, "subscriptions"),
    (5999, 5999, "online_retail"),
    (6010, 6011, "cash_withdrawal"),
    (6051, 6051, "crypto"),  # quasi-cash, including crypto-currency purchases
    (6540, 6540, "crypto"),  # stored-value and crypto funding
    (7011, 7011, "travel"),
    (7512, 7512, "travel"),
    (7832, 7841, "entertainment"),
    (7922, 7933, "entertainment"),
    (7941, 7994, "entertainment"),
    (7800, 7802, "gambling"),
    (7995, 7995, "gambling"),
    (7996, 7999, "entertainment"),
    (8011, 8099, "health"),
    (9222, 9223, "fees"),  # fines and bail
    (9311, 9311, "fees"),
)

MERCHANT_CATEGORIES: frozenset[str] = frozenset(category for _, _, category in MCC_RANGES)

# Narrowest ranges first, so a single code inside a range wins (5968 inside 5960-5969).
_BY_SPECIFICITY = tuple(sorted(MCC_RANGES, key=lambda r: r[1] - r[0]))


def is_mcc(value: str) -> bool:
    """Whether ``value`` has the form of a merchant category code: exactly four ASCII digits."""
    return len(value) == 4 and value.isascii() and value.isdigit()


def category_of_mcc(mcc: str) -> str | None:
    """The merchant category of a four-digit code; None for a code the table does not map."""
    code = int(mcc)
    for first, last, category in _BY_SPECIFICITY:
        if first <= code <= last:
            return category
    return None
