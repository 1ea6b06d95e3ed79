"""Which accounts each service identity may move money on: the ledger's resource scopes.

The runtime lets a service call only the ledger RPCs its entry in ``services/ledger/spec.py``
lists; this module narrows the writing ones to accounts. An account is identified for this
purpose by ``<owner_id>/<name>``, both fixed when it is opened (names are the callers'
purposes: ``wallet``, ``external_clearing``, ``loan:<application id>``, ...). The rule:

- a service may open, re-limit, post to, reserve on, settle and reverse only on accounts that
  match its *own* patterns or its *counterpart* patterns;
- every entry or transfer must touch at least one of its own accounts: a counterpart account
  (the customer's wallet, for credit) is reachable only together with the service's own books.

So payment moves money only between customers' wallets and the payment clearing accounts, and
credit only between its loan, line and interest accounts and a customer's wallet. A service
without an entry here may write nothing. Staff (admin) are not scoped: their corrections are
deliberate, recorded and attributed. Reads are governed by the RPC list alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from services.runtime.errors import PermissionDenied

ACCOUNT_NOT_IN_SCOPE = "ACCOUNT_NOT_IN_SCOPE"
# A customer's id is a "usr_" id; the services' own house accounts are owned by "system".
CUSTOMER = "usr_*"
SYSTEM = "system"


@dataclass(frozen=True)
class AccountScope:
    """``owner/name`` glob patterns of the accounts one service may write."""

    own: tuple[str, ...]
    counterparts: tuple[str, ...] = ()

    def is_own(self, owner_id: str, name: str) -> bool:
        return _matches(self.own, owner_id, name)

    def allows(self, owner_id: str, name: str) -> bool:
        return self.is_own(owner_id, name) or _matches(self.counterparts, owner_id, name)


ACCOUNT_SCOPES: dict[str, AccountScope] = {
    "payment": AccountScope(
        own=(f"{CUSTOMER}/wallet", f"{SYSTEM}/external_clearing", f"{SYSTEM}/payout_clearing")
    ),
    "credit": AccountScope(
        own=(
            f"{CUSTOMER}/loan:*",
            f"{CUSTOMER}/credit_line",
            f"{CUSTOMER}/credit_line_interest",
            f"{SYSTEM}/loan_interest_income",
            f"{SYSTEM}/credit_line_interest_income",
        ),
        counterparts=(f"{CUSTOMER}/wallet",),
    ),
}


def _matches(patterns: Iterable[str], owner_id: str, name: str) -> bool:
    key = f"{owner_id}/{name}"
    return any(fnmatchcase(key, pattern) for pattern in patterns)


def _denied(service: str, message: str, account_id: str = "") -> PermissionDenied:
    metadata = {"service": service}
    if account_id:
        metadata["account_id"] = account_id
    return PermissionDenied(message, ACCOUNT_NOT_IN_SCOPE, metadata)


def check_new_account(service: str, owner_id: str, name: str) -> None:
    """A service opens only accounts of its own books."""
    scope = ACCOUNT_SCOPES.get(service)
    if scope is None or not scope.is_own(owner_id, name):
        raise _denied(service, f"the service {service!r} may not open the account {owner_id}/{name}")


def check_own_account(service: str, account_id: str, owner_id: str, name: str) -> None:
    """A service changes the terms (the limit) only of its own accounts."""
    scope = ACCOUNT_SCOPES.get(service)
    if scope is None or not scope.is_own(owner_id, name):
        raise _denied(
            service, f"the account {account_id} is outside the service {service!r}'s books", account_id
        )


def check_postings(service: str, accounts: Iterable[tuple[str, str, str]]) -> None:
    """Every (account id, owner id, name) in scope and at least one of the service's own."""
    scope = ACCOUNT_SCOPES.get(service)
    if scope is None:
        raise _denied(service, f"the service {service!r} may not move money")
    own = False
    for account_id, owner_id, name in accounts:
        if not scope.allows(owner_id, name):
            raise _denied(
                service, f"the account {account_id} is outside the service {service!r}'s scope", account_id
            )
        own = own or scope.is_own(owner_id, name)
    if not own:
        raise _denied(service, f"an entry of the service {service!r} must touch one of its own accounts")
