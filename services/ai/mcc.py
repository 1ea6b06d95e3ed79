"""From what the contract carries (an ISO 18245 merchant category code and a channel) to the
merchant categories the models were trained on (``features.CATEGORIES``).

The models know 17 spending categories, not the ~700 MCCs. The table
(``services.runtime.mcc``, shared with payment) maps the common codes and ranges;
any other code becomes ``"mcc_<code>"`` and a transaction without a merchant becomes
``"transfer"`` or ``"direct_debit"``.
Those names are not in ``CATEGORIES``: the fraud features then give them the
global risk prior and they never match the customer's history of known
categories (exactly the behaviour ``features.CATEGORIES`` documents for
unknown categories), and the spending profile ignores them.
"""

from __future__ import annotations

from services.ai.features import CATEGORIES
from services.runtime.mcc import MCC_RANGES, category_of_mcc

assert all(category in CATEGORIES for _, _, category in MCC_RANGES)

TRANSFER_CATEGORY = "transfer"
DIRECT_DEBIT_CATEGORY = "direct_debit"


def category_for(mcc: str, *, atm: bool, direct_debit: bool) -> str:
    """The model category of a merchant category code (four digits) or of a merchant-less channel."""
    if atm:
        return "cash_withdrawal"
    if not mcc:
        return DIRECT_DEBIT_CATEGORY if direct_debit else TRANSFER_CATEGORY
    return category_of_mcc(mcc) or f"mcc_{mcc}"
