"""The ledger's business rules without a database: balancing, normal sides, limits, chain, pending."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.ledger.core import LedgerCore
from services.ledger.domain import pending
from services.ledger.domain.chain import (
    GENESIS_HASH,
    ChainVerifier,
    canonical_content,
    entry_hash,
    epoch_micros,
)
from services.ledger.domain.model import (
    AccountType,
    BalanceRule,
    Direction,
    Entry,
    PendingStatus,
    PendingTransfer,
    PostingLine,
    TransactionType,
)
from services.ledger.domain.rules import (
    BalanceState,
    apply_postings,
    balance_floor,
    check_currencies,
    headline_amount,
    mirror,
    net_by_currency,
    normal_side,
    validate_postings,
)
from services.runtime.errors import FailedPrecondition, InsufficientFunds, InvalidArgument

D, C = Direction.DEBIT, Direction.CREDIT
T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def leg(account: str, direction: Direction, amount: int, currency: str = "USD") -> PostingLine:
    return PostingLine(account, direction, amount, currency)


# -- normal sides and limits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account_type", "side"),
    [
        (AccountType.ASSET, D),
        (AccountType.EXPENSE, D),
        (AccountType.LIABILITY, C),
        (AccountType.EQUITY, C),
        (AccountType.INCOME, C),
    ],
)
def test_normal_side_follows_the_accounting_class(account_type: AccountType, side: Direction) -> None:
    assert normal_side(account_type) is side


def test_floors() -> None:
    assert balance_floor(BalanceRule.NON_NEGATIVE, 0) == 0
    assert balance_floor(BalanceRule.CREDIT_LIMIT, 500) == -500
    assert balance_floor(BalanceRule.UNBOUNDED, 0) is None


def test_a_credit_grows_a_wallet_and_a_debit_grows_an_asset() -> None:
    wallet = BalanceState("w", "USD", C, 0)
    asset = BalanceState("a", "USD", D, None)
    assert wallet.post(C, 100).posted == 100
    assert wallet.post(D, 100).posted == -100
    assert asset.post(D, 100).posted == 100
    assert asset.post(C, 100).posted == -100


def test_available_subtracts_only_pending_amounts_that_lower_the_balance() -> None:
    wallet = BalanceState("w", "USD", C, 0, posted=1000)
    assert wallet.reserve(D, 300).available == 700  # a hold on outgoing money
    assert wallet.reserve(C, 300).available == 1000  # incoming money is not spendable yet
    asset = BalanceState("a", "USD", D, None, posted=1000)
    assert asset.reserve(C, 300).available == 700
    assert asset.reserve(D, 300).available == 1000
    assert wallet.reserve(D, 300).release(D, 300) == wallet


def test_apply_postings_refuses_an_overdraft_and_names_the_account() -> None:
    states = {"a": BalanceState("a", "USD", C, 0, posted=100), "b": BalanceState("b", "USD", C, 0)}
    after = apply_postings(states, [leg("a", D, 100), leg("b", C, 100)])
    assert after["a"].posted == 0 and after["b"].posted == 100
    with pytest.raises(InsufficientFunds) as caught:
        apply_postings(states, [leg("a", D, 101), leg("b", C, 101)])
    assert caught.value.metadata["account_id"] == "a"
    assert caught.value.reason == "INSUFFICIENT_FUNDS"


def test_pending_debits_count_against_an_overdraft() -> None:
    states = {
        "a": BalanceState("a", "USD", C, 0, posted=100, pending_debits=60),
        "b": BalanceState("b", "USD", C, 0),
    }
    apply_postings(states, [leg("a", D, 40), leg("b", C, 40)])
    with pytest.raises(InsufficientFunds):
        apply_postings(states, [leg("a", D, 41), leg("b", C, 41)])


def test_credit_limit_allows_going_below_zero_down_to_the_limit() -> None:
    states = {"line": BalanceState("line", "USD", C, -500), "x": BalanceState("x", "USD", D, None)}
    after = apply_postings(states, [leg("line", D, 500), leg("x", C, 500)])
    assert after["line"].available == -500
    with pytest.raises(InsufficientFunds):
        apply_postings(after, [leg("line", D, 1), leg("x", C, 1)])


def test_unbounded_accounts_have_no_floor() -> None:
    states = {"x": BalanceState("x", "USD", D, None), "y": BalanceState("y", "USD", C, None)}
    after = apply_postings(states, [leg("x", C, 10**12), leg("y", D, 10**12)])
    assert after["x"].posted == -(10**12) and after["y"].posted == -(10**12)


# -- validation --------------------------------------------------------------------------------------


def test_balanced_entries_pass_in_several_currencies() -> None:
    postings = [
        leg("a", D, 100),
        leg("b", C, 100),
        leg("c", D, 5, "EUR"),
        leg("d", C, 3, "EUR"),
        leg("e", C, 2, "EUR"),
    ]
    validate_postings(postings)
    assert net_by_currency(postings) == {"USD": 0, "EUR": 0}


def test_an_entry_needs_two_postings() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_postings([leg("a", D, 100)])
    assert caught.value.violations[0].field == "postings"


def test_unbalanced_entries_are_refused_per_currency() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_postings([leg("a", D, 100), leg("b", C, 100, "EUR")])
    assert caught.value.reason == "UNBALANCED_ENTRY"
    assert "EUR" in caught.value.message and "USD" in caught.value.message


@pytest.mark.parametrize(
    ("posting", "field"),
    [
        (leg("a", D, 0), "postings[0].amount.amount_minor"),
        (leg("a", D, -5), "postings[0].amount.amount_minor"),
        (leg("a", D, 10**16), "postings[0].amount.amount_minor"),
        (leg("a", D, 5, "usd"), "postings[0].amount.currency"),
        (leg("", D, 5), "postings[0].account_id"),
    ],
)
def test_each_bad_posting_field_is_named(posting: PostingLine, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_postings([posting, leg("b", C, 5)])
    assert field in [v.field for v in caught.value.violations]


def test_currency_mismatch_with_the_account() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_currencies([leg("a", D, 1, "EUR"), leg("b", C, 1, "EUR")], {"a": "USD", "b": "EUR"})
    assert caught.value.reason == "CURRENCY_MISMATCH"


def test_headline_amount_and_mirror() -> None:
    postings = [
        leg("a", D, 70),
        leg("f", D, 30),
        leg("b", C, 100),
        leg("x", D, 9, "EUR"),
        leg("y", C, 9, "EUR"),
    ]
    assert headline_amount(postings) == (100, "USD")
    mirrored = mirror(postings)
    assert [p.direction for p in mirrored] == [C, C, D, C, D]
    assert net_by_currency(mirrored) == {"USD": 0, "EUR": 0}


# -- hash chain --------------------------------------------------------------------------------------


def make_entry(sequence: int, previous: str, amount: int = 100, **changes: object) -> Entry:
    draft = Entry(
        id=f"txn_{sequence}",
        sequence=sequence,
        user_id="usr_1",
        type=TransactionType.TRANSFER,
        description="café ☕",
        related_entity_id="pay_1",
        amount_minor=amount,
        currency="USD",
        metadata={"b": "2", "a": "1"},
        request_id=f"r{sequence}",
        reverses_id=None,
        pending_transfer_id=None,
        create_time=T0 + timedelta(seconds=sequence),
        previous_hash=previous,
        hash="",
        postings=(leg("a", D, amount), leg("b", C, amount)),
    )
    draft = replace(draft, **changes)  # type: ignore[arg-type]
    return replace(draft, hash=entry_hash(previous, draft))


def chain(n: int) -> list[Entry]:
    entries, previous = [], GENESIS_HASH
    for i in range(1, n + 1):
        entry = make_entry(i, previous)
        entries.append(entry)
        previous = entry.hash
    return entries


def test_canonical_content_is_stable_and_covers_every_field() -> None:
    entry = make_entry(1, GENESIS_HASH)
    same = replace(entry, metadata={"a": "1", "b": "2"})
    assert canonical_content(entry) == canonical_content(same)
    assert b'"time_us":' in canonical_content(entry) and "café".encode() in canonical_content(entry)
    for change in (
        {"amount_minor": 101},
        {"description": "x"},
        {"user_id": "usr_2"},
        {"postings": (leg("a", D, 100), leg("c", C, 100))},
        {"create_time": T0 + timedelta(microseconds=1)},
        {"metadata": {"a": "1"}},
    ):
        assert canonical_content(replace(entry, **change)) != canonical_content(entry)  # type: ignore[arg-type]


def test_hash_depends_on_the_previous_hash() -> None:
    entry = make_entry(1, GENESIS_HASH)
    assert entry_hash(GENESIS_HASH, entry) != entry_hash("f" * 64, entry)


def test_epoch_micros_is_exact_and_needs_a_timezone() -> None:
    assert epoch_micros(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == 1_000_005
    with pytest.raises(ValueError, match="timezone"):
        epoch_micros(datetime(2025, 1, 1))


def test_verifier_accepts_an_intact_chain() -> None:
    verifier = ChainVerifier()
    entries = chain(5)
    assert verifier.feed(entries[:2]) and verifier.feed(entries[2:])
    report = verifier.report()
    assert report.valid and report.entries_checked == 5


def test_verifier_names_the_first_entry_whose_content_changed() -> None:
    entries = chain(5)
    entries[2] = replace(entries[2], postings=(leg("a", D, 999), leg("b", C, 100)))
    verifier = ChainVerifier()
    assert not verifier.feed(entries)
    report = verifier.report()
    assert (report.valid, report.first_broken_id, report.first_broken_sequence) == (False, "txn_3", 3)
    assert "content" in report.detail


def test_verifier_detects_a_rewritten_link_and_a_gap() -> None:
    entries = chain(4)
    forged = make_entry(3, "e" * 64)
    verifier = ChainVerifier()
    verifier.feed([*entries[:2], forged])
    assert verifier.report().first_broken_id == "txn_3" and "previous hash" in verifier.report().detail
    verifier = ChainVerifier()
    verifier.feed([entries[0], entries[2]])
    assert "sequence gap" in verifier.report().detail


# -- pending transfers -------------------------------------------------------------------------------


def hold(amount: int = 1000, status: PendingStatus = PendingStatus.PENDING) -> PendingTransfer:
    return PendingTransfer(
        id="pnd_1",
        debit_account_id="a",
        credit_account_id="b",
        amount_minor=amount,
        currency="USD",
        posted_minor=0,
        status=status,
        user_id="usr_1",
        type=TransactionType.PAYMENT,
        description="",
        related_entity_id="",
        expire_time=T0 + timedelta(hours=1),
        transaction_id=None,
        request_id="r",
        create_time=T0,
        update_time=T0,
    )


def test_post_in_full_or_in_part() -> None:
    assert pending.post(hold(), None, T0).posted_minor == 1000
    partial = pending.post(hold(), 400, T0)
    assert partial.status is PendingStatus.POSTED and partial.posted_minor == 400


@pytest.mark.parametrize("amount", [0, -1, 1001])
def test_post_amount_must_be_within_the_reservation(amount: int) -> None:
    with pytest.raises(InvalidArgument):
        pending.post(hold(), amount, T0)


@pytest.mark.parametrize("status", [PendingStatus.POSTED, PendingStatus.VOIDED, PendingStatus.EXPIRED])
def test_terminal_states_accept_no_transition(status: PendingStatus) -> None:
    for transition in (lambda t: pending.post(t, None, T0), lambda t: pending.void(t, T0)):
        with pytest.raises(FailedPrecondition) as caught:
            transition(hold(status=status))
        assert caught.value.reason == "PENDING_TRANSFER_NOT_PENDING"


def test_a_lapsed_transfer_can_only_expire() -> None:
    later = T0 + timedelta(hours=2)
    assert pending.is_expired(hold(), later) and not pending.is_expired(hold(), T0)
    with pytest.raises(FailedPrecondition) as caught:
        pending.post(hold(), None, later)
    assert caught.value.metadata["status"] == "EXPIRED"
    assert pending.expire(hold(), later).status is PendingStatus.EXPIRED
    with pytest.raises(FailedPrecondition):
        pending.expire(hold(), T0)
    assert pending.void(hold(), T0).status is PendingStatus.VOIDED


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    fingerprint = LedgerCore.fingerprint
    assert fingerprint("op", {"a": 1, "b": [1, 2]}) == fingerprint("op", {"b": [1, 2], "a": 1})
    assert fingerprint("op", {"a": 1}) != fingerprint("op", {"a": 2})
    assert fingerprint("op", {"a": 1}) != fingerprint("other", {"a": 1})
