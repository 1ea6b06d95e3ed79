"""Who may touch which ledger accounts: the authorization helpers of the ledger's gRPC adapter
and the service scopes (``domain/scopes.py``), with the cache of accounts' owners and names
those checks read."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from services.ledger.domain import scopes
from services.ledger.service import Ledger
from services.ledger.validation import LedgerChecks
from services.runtime.auth import (
    ROLE_ADMIN,
    ROLE_SERVICE,
    STAFF_READ_ROLES,
    Principal,
    current_principal,
    require_owner_or_roles,
    require_roles,
)
from services.runtime.service_access import service_identity

WRITER_ROLES = (ROLE_SERVICE, ROLE_ADMIN)
# Accounts' owners and names never change: remembered for scope checks, up to this many.
ACCOUNT_IDENTITY_CACHE = 10_000


class LedgerAccess:
    """The base of the ledger's servicer: the ledger it adapts and the checks every RPC runs."""

    def __init__(self, ledger: Ledger, *, hold_grace_seconds: int = 60) -> None:
        self.ledger = ledger
        # VerifyBooks reports a hold only this long past its expiry (the sweeper's period and then some).
        self.hold_grace_seconds = hold_grace_seconds
        self._identities: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._identities_lock = threading.Lock()

    # -- service scopes (domain/scopes.py) ------------------------------------------------------
    def _account_identity(self, account_id: str) -> tuple[str, str]:
        with self._identities_lock:
            known = self._identities.get(account_id)
        if known is not None:
            return known
        identity = self.ledger.account_identity(account_id)
        with self._identities_lock:
            self._identities[account_id] = identity
            while len(self._identities) > ACCOUNT_IDENTITY_CACHE:
                self._identities.popitem(last=False)
        return identity

    def _scope_postings(self, principal: Principal, account_ids: Iterable[str]) -> None:
        """A service may move money only on the accounts of its scope; staff are not scoped."""
        service = service_identity(principal)
        if service is None:
            return
        scopes.check_postings(
            service,
            [(account_id, *self._account_identity(account_id)) for account_id in dict.fromkeys(account_ids)],
        )

    def _scope_pending(self, principal: Principal, transfer_id: str) -> None:
        if service_identity(principal) is not None:
            transfer = self.ledger.get_pending(transfer_id)
            self._scope_postings(principal, (transfer.debit_account_id, transfer.credit_account_id))

    # -- authorization helpers ----------------------------------------------------------------
    @staticmethod
    def _writer() -> Principal:
        principal = current_principal()
        require_roles(principal, *WRITER_ROLES)
        return principal

    def _account_reader(self, account_id: str) -> Principal:
        principal = current_principal()
        if not principal.has_role(*STAFF_READ_ROLES):
            require_owner_or_roles(principal, self.ledger.account_owner(account_id))
        return principal

    @staticmethod
    def _account_id(value: str) -> str:
        checks = LedgerChecks()
        checks.identifier(value, "account_id")
        checks.done()
        return value
