"""A payment's merchant category: validated on initiation (four-digit MCC, known category) and
recorded on the ledger entry that books it, mapped by the table the AI models use."""

from __future__ import annotations

import pytest

from services.payment.execution import ledger_metadata
from services.payment.validation import PaymentChecks
from services.runtime.mcc import MERCHANT_CATEGORIES, category_of_mcc, is_mcc


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({}, {}),
        ({"device_id": "d1"}, {}),
        ({"mcc": "5411"}, {"mcc": "5411", "category": "grocery"}),
        ({"mcc": "5968"}, {"mcc": "5968", "category": "subscriptions"}),  # the narrow code inside 5960-5969
        ({"category": "restaurants"}, {"category": "restaurants"}),
        ({"mcc": "5411", "category": "restaurants"}, {"mcc": "5411", "category": "restaurants"}),
        ({"mcc": "0001"}, {"mcc": "0001"}),  # a valid code the table does not map: analytics' own fallback
    ],
)
def test_the_ledger_entry_carries_the_payment_id_and_its_merchant_category(
    metadata: dict[str, str], expected: dict[str, str]
) -> None:
    assert ledger_metadata("pay_1", metadata) == {"payment_id": "pay_1", **expected}


@pytest.mark.parametrize(
    ("metadata", "fields"),
    [
        ({"mcc": "5411", "category": "grocery"}, []),
        ({"mcc": "541"}, ["metadata[mcc]"]),
        ({"mcc": "54111"}, ["metadata[mcc]"]),
        ({"mcc": "54a1"}, ["metadata[mcc]"]),
        ({"mcc": "５４１１"}, ["metadata[mcc]"]),  # full-width digits are digits to str.isdigit, not an MCC
        ({"category": "Grocery"}, ["metadata[category]"]),
        ({"category": ""}, ["metadata[category]"]),
        ({"mcc": "", "category": "horoscopes"}, ["metadata[mcc]", "metadata[category]"]),
    ],
)
def test_a_malformed_code_or_an_unknown_category_names_the_field(
    metadata: dict[str, str], fields: list[str]
) -> None:
    checks = PaymentChecks()
    checks.merchant_category(metadata)
    assert [v.field for v in checks.violations] == fields


def test_the_shared_table_knows_the_models_categories() -> None:
    from services.ai.features import CATEGORIES

    assert set(CATEGORIES) == MERCHANT_CATEGORIES
    assert is_mcc("0742") and not is_mcc("742") and not is_mcc("")
    assert category_of_mcc("5812") == "restaurants" and category_of_mcc("0001") is None
