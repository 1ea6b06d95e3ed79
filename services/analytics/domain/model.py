"""Ledger entries as analytics sees them, and the per-user flows they produce.

A flow is what one entry did to one user's money in one currency: the net change
of the user's accounts, on each account's normal side (a credit raises a customer
wallet, a liability; a debit raises an asset). A negative net is spending, a
positive one income; an entry that only moves money between a user's own
accounts nets to zero and is neither.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.analytics.domain.categories import categorize
from services.analytics.domain.ledger_types import AccountType, PostingDirection

USER_PREFIX = "usr_"


class Direction(enum.IntEnum):
    """Which way money moved for the user; stored as this number."""

    SPENDING = 1
    INCOME = 2


@dataclass(frozen=True)
class AccountInfo:
    """What analytics keeps of a ledger account: who owns it and how its balance reads."""

    account_id: str
    owner_id: str
    type: int
    currency: str

    @property
    def debit_normal(self) -> bool:
        return self.type in (AccountType.ASSET, AccountType.EXPENSE)

    @property
    def is_user_account(self) -> bool:
        """The account holds the user's money: what the platform owes a user ("usr_" owner), a
        liability such as a wallet or a credit line. A user-owned asset (a loan receivable: what
        the user owes the platform) is the user's debt, not their money: counting it would make a
        loan pay-out income twice and a repayment's principal spending twice."""
        return self.owner_id.startswith(USER_PREFIX) and self.type == AccountType.LIABILITY


@dataclass(frozen=True)
class BalanceLine:
    """One account's line of the ledger's trial balance."""

    account_id: str
    name: str
    type: int  # AccountType
    currency: str
    debit_minor: int
    credit_minor: int


@dataclass(frozen=True)
class Posting:
    account_id: str
    direction: int
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class Entry:
    """One ledger journal entry from the change feed."""

    transaction_id: str
    sequence: int
    type: int
    timestamp: datetime
    description: str
    amount_minor: int
    currency: str
    postings: Sequence[Posting]
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def account_ids(self) -> set[str]:
        return {p.account_id for p in self.postings}


@dataclass(frozen=True)
class Flow:
    """The money one entry moved out of (SPENDING) or into (INCOME) one user's accounts."""

    user_id: str
    currency: str
    direction: Direction
    amount_minor: int
    category: str
    # For custom reports' filters: the user's accounts the entry moved, and who was on the
    # other side (other users of the entry, or its "counterparty" metadata). Not compared:
    # a flow is the money moved; these describe it.
    account_ids: tuple[str, ...] = field(default=(), compare=False)
    counterparties: tuple[str, ...] = field(default=(), compare=False)


MAX_COUNTERPARTY_LENGTH = 100


def flows_of(entry: Entry, accounts: Mapping[str, AccountInfo]) -> list[Flow]:
    """The flows of ``entry``, one per user and currency with a non-zero net; sorted for determinism.

    ``accounts`` must describe every account the entry posts to (KeyError otherwise:
    an entry is never applied with an unknown account, since that could misattribute it).
    """
    net: dict[tuple[str, str], int] = {}
    moved: dict[tuple[str, str], set[str]] = {}
    for posting in entry.postings:
        account = accounts[posting.account_id]
        if not account.is_user_account:
            continue
        raises = (posting.direction == PostingDirection.DEBIT) == account.debit_normal
        key = (account.owner_id, posting.currency)
        net[key] = net.get(key, 0) + (posting.amount_minor if raises else -posting.amount_minor)
        moved.setdefault(key, set()).add(posting.account_id)
    owners = {
        accounts[p.account_id].owner_id for p in entry.postings if accounts[p.account_id].is_user_account
    }
    named = entry.metadata.get("counterparty", "").strip()[:MAX_COUNTERPARTY_LENGTH]
    flows = []
    for (user_id, currency), amount in sorted(net.items()):
        if amount == 0:
            continue
        direction = Direction.INCOME if amount > 0 else Direction.SPENDING
        others = sorted(owners - {user_id} | ({named} if named else set()))
        flows.append(
            Flow(
                user_id,
                currency,
                direction,
                abs(amount),
                categorize(entry.type, entry.metadata, spending=direction is Direction.SPENDING),
                tuple(sorted(moved[(user_id, currency)])),
                tuple(others),
            )
        )
    return flows
