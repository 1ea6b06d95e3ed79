"""Who may call each RPC of the ledger (the table, services.runtime.access_rules) and touch which
accounts: the helpers of the ledger's gRPC adapter that apply the table, and the service scopes
(``domain/scopes.py``), with the cache of accounts' owners and names those checks read."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from services.ledger.domain import scopes
from services.ledger.service import Ledger
from services.ledger.validation import LedgerChecks
from services.runtime.access_rules import AccessTable, owner_or, roles
from services.runtime.auth import (
    ROLE_ADMIN,
    ROLE_COMPLIANCE,
    ROLE_SERVICE,
    STAFF_READ_ROLES,
    Principal,
    current_principal,
)
from services.runtime.service_access import service_identity

WRITER_ROLES = (ROLE_SERVICE, ROLE_ADMIN)
AUDITORS = (ROLE_ADMIN, ROLE_COMPLIANCE)
# An account's owner or staff; a service reads accounts as staff do (its scopes limit only postings).
ACCOUNT_READER = owner_or(*STAFF_READ_ROLES)

ACCESS = AccessTable(
    "nexafi.ledger.v1.LedgerService",
    {
        # Money moves only by services and admins; a service further only on the accounts of its
        # scope (domain/scopes.py).
        "CreateAccount": roles(*WRITER_ROLES),
        "UpdateAccountLimit": roles(*WRITER_ROLES),
        "GetAccount": ACCOUNT_READER,
        # Listing without an owner lists everyone's: staff only (``lists_every_owner``).
        "ListAccounts": owner_or(
            *STAFF_READ_ROLES, message="only support, compliance and admin staff list others' accounts"
        ),
        "GetBalance": ACCOUNT_READER,
        "CreateTransaction": roles(*WRITER_ROLES),
        "CreateTransactions": roles(*WRITER_ROLES),
        # The entry's user or the owner of an account it touches.
        "GetTransaction": owner_or(
            *STAFF_READ_ROLES, message="not allowed to read another user's transaction"
        ),
        "ListUserTransactions": owner_or(*STAFF_READ_ROLES),
        "ListAccountTransactions": ACCOUNT_READER,
        "ReverseTransaction": roles(*WRITER_ROLES),
        "CreatePendingTransfer": roles(*WRITER_ROLES),
        "GetPendingTransfer": roles(*STAFF_READ_ROLES),
        "PostPendingTransfer": roles(*WRITER_ROLES),
        "VoidPendingTransfer": roles(*WRITER_ROLES),
        "StreamTransactions": roles(*WRITER_ROLES),
        "VerifyChain": roles(*AUDITORS),
        "GetTrialBalance": roles(*AUDITORS, ROLE_SERVICE),
        "BatchGetRelatedEntries": roles(*AUDITORS, ROLE_SERVICE),
        "ListRelatedEntries": roles(*AUDITORS, ROLE_SERVICE),
        # A service only as the ledger's SERVICE_CALLERS allow (payment).
        "ExportRelatedEntries": roles(*AUDITORS, ROLE_SERVICE),
        "VerifyBooks": roles(*AUDITORS),
        "GetAccountStatement": ACCOUNT_READER,
    },
)


def lists_every_owner(principal: Principal) -> bool:
    """Whether ListAccounts without an owner lists everyone's accounts (staff), or the caller's own."""
    return principal.has_role(*STAFF_READ_ROLES)


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
    def _writer(rpc: str) -> Principal:
        principal = current_principal()
        ACCESS.check(rpc, principal)
        return principal

    def _account_reader(self, rpc: str, account_id: str) -> Principal:
        """The caller, if ``rpc``'s rule lets them read the account (its owner is read only when
        the caller's roles do not decide)."""
        principal = current_principal()
        ACCESS.check(rpc, principal, lambda: self.ledger.account_owner(account_id))
        return principal

    @staticmethod
    def _account_id(value: str) -> str:
        checks = LedgerChecks()
        checks.identifier(value, "account_id")
        checks.done()
        return value
