"""Double-entry rules: balancing per currency, normal sides and account limits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from services.ledger.domain.model import AccountType, BalanceRule, Direction, PostingLine
from services.runtime.errors import FailedPrecondition, FieldViolation, InsufficientFunds, InvalidArgument
from services.runtime.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR

MAX_POSTINGS = 100

_DEBIT_NORMAL = frozenset({AccountType.ASSET, AccountType.EXPENSE})


def normal_side(account_type: AccountType) -> Direction:
    """The side on which an account of this class grows."""
    return Direction.DEBIT if account_type in _DEBIT_NORMAL else Direction.CREDIT


def signed_change(normal: Direction, direction: Direction, amount_minor: int) -> int:
    """How a posting moves a balance expressed on the account's normal side."""
    return amount_minor if direction is normal else -amount_minor


def balance_floor(rule: BalanceRule, credit_limit_minor: int) -> int | None:
    """The lowest allowed available balance, or None when unbounded."""
    if rule is BalanceRule.NON_NEGATIVE:
        return 0
    if rule is BalanceRule.CREDIT_LIMIT:
        return -credit_limit_minor
    return None


@dataclass(frozen=True)
class BalanceState:
    """An account's balance row as held under its lock.

    Pending amounts are kept by the side they will be posted to. Only pending
    amounts that will *lower* the balance count against what is available: a
    pending credit to a wallet is not spendable before it posts, and a pending
    debit from it must stay reserved.
    """

    account_id: str
    currency: str
    normal: Direction
    floor: int | None
    posted: int = 0
    pending_debits: int = 0
    pending_credits: int = 0

    @property
    def pending_outgoing(self) -> int:
        return self.pending_debits if self.normal is Direction.CREDIT else self.pending_credits

    @property
    def available(self) -> int:
        return self.posted - self.pending_outgoing

    def within_limit(self) -> bool:
        return self.floor is None or self.available >= self.floor

    def post(self, direction: Direction, amount_minor: int) -> BalanceState:
        return replace(self, posted=self.posted + signed_change(self.normal, direction, amount_minor))

    def reserve(self, direction: Direction, amount_minor: int) -> BalanceState:
        if direction is Direction.DEBIT:
            return replace(self, pending_debits=self.pending_debits + amount_minor)
        return replace(self, pending_credits=self.pending_credits + amount_minor)

    def release(self, direction: Direction, amount_minor: int) -> BalanceState:
        return self.reserve(direction, -amount_minor)


def validate_postings(postings: Sequence[PostingLine], field: str = "postings") -> None:
    """INVALID_ARGUMENT unless there are 2..MAX postings of positive amounts balancing per currency."""
    violations: list[FieldViolation] = []
    if len(postings) < 2:
        violations.append(FieldViolation(field, "an entry needs at least two postings"))
    if len(postings) > MAX_POSTINGS:
        violations.append(FieldViolation(field, f"an entry has at most {MAX_POSTINGS} postings"))
    for i, posting in enumerate(postings):
        where = f"{field}[{i}]"
        if not posting.account_id:
            violations.append(FieldViolation(f"{where}.account_id", "is required"))
        if posting.direction not in (Direction.DEBIT, Direction.CREDIT):
            violations.append(FieldViolation(f"{where}.direction", "must be DEBIT or CREDIT"))
        if posting.currency not in CURRENCY_EXPONENTS:
            violations.append(
                FieldViolation(f"{where}.amount.currency", "must be a supported upper-case ISO 4217 code")
            )
        if not 0 < posting.amount_minor <= MAX_AMOUNT_MINOR:
            violations.append(
                FieldViolation(
                    f"{where}.amount.amount_minor", f"must be a positive integer up to {MAX_AMOUNT_MINOR}"
                )
            )
    if violations:
        raise InvalidArgument("invalid postings", violations=violations)
    unbalanced = sorted(currency for currency, net in net_by_currency(postings).items() if net != 0)
    if unbalanced:
        raise InvalidArgument(
            f"postings do not balance in {', '.join(unbalanced)}",
            reason="UNBALANCED_ENTRY",
            field=field,
            description="debits must equal credits in every currency",
        )


def net_by_currency(postings: Iterable[PostingLine]) -> dict[str, int]:
    """Debits minus credits per currency; zero everywhere for a balanced entry."""
    net: dict[str, int] = defaultdict(int)
    for posting in postings:
        net[posting.currency] += (
            posting.amount_minor if posting.direction is Direction.DEBIT else -posting.amount_minor
        )
    return dict(net)


def headline_amount(postings: Sequence[PostingLine]) -> tuple[int, str]:
    """The entry's headline: the sum of the debits in the first posting's currency."""
    currency = postings[0].currency
    total = sum(p.amount_minor for p in postings if p.currency == currency and p.direction is Direction.DEBIT)
    return total, currency


def mirror(postings: Sequence[PostingLine]) -> tuple[PostingLine, ...]:
    """The postings that undo ``postings`` (every side swapped)."""
    return tuple(replace(p, direction=p.direction.opposite) for p in postings)


def check_currencies(postings: Sequence[PostingLine], currencies: Mapping[str, str]) -> None:
    """FAILED_PRECONDITION CURRENCY_MISMATCH when a posting's currency is not its account's."""
    for i, posting in enumerate(postings):
        expected = currencies[posting.account_id]
        if posting.currency != expected:
            raise FailedPrecondition(
                f"posting {i} is in {posting.currency} but account {posting.account_id} is in {expected}",
                "CURRENCY_MISMATCH",
                {"account_id": posting.account_id, "account_currency": expected},
            )


def apply_postings(
    states: Mapping[str, BalanceState], postings: Sequence[PostingLine]
) -> dict[str, BalanceState]:
    """The balances after ``postings``; INSUFFICIENT_FUNDS if any account would breach its limit."""
    after = post_all(states, postings)
    check_limits(states, after)
    return after


def post_all(states: Mapping[str, BalanceState], postings: Sequence[PostingLine]) -> dict[str, BalanceState]:
    """The balances after ``postings``, unchecked (the caller checks the net effect)."""
    after = dict(states)
    for posting in postings:
        after[posting.account_id] = after[posting.account_id].post(posting.direction, posting.amount_minor)
    return after


def check_limits(before: Mapping[str, BalanceState], after: Mapping[str, BalanceState]) -> None:
    """INSUFFICIENT_FUNDS naming the first account (in id order) that would breach its limit.

    Only accounts whose available balance went down are judged, so an account
    already under its floor (only possible if a limit were tightened) can still
    receive money.
    """
    for account_id in sorted(after):
        state = after[account_id]
        if state.available < before[account_id].available and not state.within_limit():
            raise InsufficientFunds(
                f"account {account_id} has insufficient funds",
                metadata={
                    "account_id": account_id,
                    "available_minor": str(before[account_id].available),
                    "currency": state.currency,
                },
            )
