"""Opening accounts, changing a credit limit, and reading accounts and balances."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from services.ledger import repository as repo
from services.ledger.commands import NewAccount
from services.ledger.core import LedgerCore, balances_of
from services.ledger.domain.model import Account, BalanceRule, Balances
from services.ledger.domain.rules import balance_floor, normal_side
from services.ledger.repository.responses import account_from_response, account_response
from services.runtime.errors import FailedPrecondition
from services.runtime.ids import new_id


class AccountUseCases(LedgerCore):
    def create_account(self, scope: str, request: NewAccount) -> Account:
        account_id = new_id("acc")
        fingerprint = self.fingerprint("CreateAccount", request.__dict__)

        def work(session: Session) -> Account:
            claim = self._claim(session, scope, request.request_id, "CreateAccount", fingerprint)
            if isinstance(claim, bytes):
                return account_from_response(claim)
            account = Account(
                id=account_id,
                owner_id=request.owner_id,
                name=request.name,
                type=request.type,
                currency=request.currency,
                balance_rule=request.balance_rule,
                credit_limit_minor=request.credit_limit_minor,
                metadata=request.metadata,
                create_time=datetime.min,
            )
            repo.insert_account(
                session,
                account,
                request.request_id,
                normal_side(account.type),
                balance_floor(account.balance_rule, account.credit_limit_minor),
            )
            created = self._account_with_balance(session, account_id)
            self._complete(session, claim, lambda: account_response(created), account_id)
            return created

        return self._write(work)

    def update_account_limit(
        self, scope: str, account_id: str, credit_limit_minor: int, request_id: str
    ) -> Account:
        """Set a credit account's limit; refused when the balance is already below the new floor."""
        fingerprint = self.fingerprint(
            "UpdateAccountLimit", {"account_id": account_id, "credit_limit_minor": credit_limit_minor}
        )

        def work(session: Session) -> Account:
            claim = self._claim(session, scope, request_id, "UpdateAccountLimit", fingerprint)
            if isinstance(claim, bytes):
                return account_from_response(claim)
            account = repo.get_account(session, account_id)
            if account.balance_rule is not BalanceRule.CREDIT_LIMIT:
                raise FailedPrecondition(
                    f"account {account_id} has no credit limit to change",
                    "NOT_A_CREDIT_ACCOUNT",
                    {"account_id": account_id},
                )
            # Under the balance row's lock, so no concurrent posting can slip below the new floor.
            state = repo.balance_states(session, [account_id], lock=True)[account_id]
            floor = balance_floor(account.balance_rule, credit_limit_minor)
            if floor is not None and state.available < floor:
                raise FailedPrecondition(
                    f"account {account_id} is already below minus the new limit",
                    "LIMIT_BELOW_BALANCE",
                    {"account_id": account_id, "available_minor": str(state.available)},
                )
            repo.update_account_limit(session, account_id, credit_limit_minor, floor)
            updated = self._account_with_balance(session, account_id)
            self._complete(session, claim, lambda: account_response(updated), account_id)
            return updated

        return self._write(work)

    def _account_with_balance(self, session: Session, account_id: str) -> Account:
        account = repo.get_account(session, account_id)
        state = repo.balance_states(session, [account_id], lock=False)[account_id]
        return replace(account, balances=balances_of(state, repo.database_now(session)))

    def get_account(self, account_id: str) -> Account:
        """The account with its balances as of now (the edge authorized the caller first).

        One statement on a direct (autocommit) connection, one round trip: the account, its
        balance row, the clock and whether a hold on it has lapsed. Only when one has is it
        released (its own transactions, as the expiry sweep does) and the account read again.
        """
        view = self._account_view(account_id)
        if view.due:
            self.expire_due(account_ids=[account_id])
            view = self._account_view(account_id)
        return replace(view.account, balances=balances_of(view.state, view.now))

    def _account_view(self, account_id: str) -> repo.AccountView:
        with self.direct.connection() as connection:
            view = repo.account_view(connection, account_id)
        # Raised outside the connection's block: a domain error there would discard the connection.
        if view is None:
            raise repo.account_not_found(account_id)
        return view

    def account_owner(self, account_id: str) -> str:
        """The owner of an account (NOT_FOUND if unknown), for authorization."""
        return self._reading(lambda s: repo.get_account(s, account_id).owner_id)

    def account_identity(self, account_id: str) -> tuple[str, str]:
        """An account's (owner id, name), both fixed at opening (NOT_FOUND if unknown), for scopes."""

        def work(session: Session) -> tuple[str, str]:
            account = repo.get_account(session, account_id)
            return account.owner_id, account.name

        return self._reading(work)

    def list_accounts(self, owner_id: str | None, after_id: str, limit: int) -> list[Account]:
        def work(session: Session) -> list[Account]:
            accounts = repo.list_accounts(session, owner_id, after_id, limit)
            states = repo.balance_states(session, [a.id for a in accounts], lock=False)
            now = repo.database_now(session)
            return [replace(a, balances=balances_of(states[a.id], now)) for a in accounts]

        return self._reading(work)

    def balance(self, account_id: str, as_of: datetime | None) -> Balances:
        """The balances now, or the posted balance at ``as_of`` (the edge authorized the caller first).

        One statement either way: now is :meth:`get_account`'s read; at ``as_of``, the account
        with the sum of its postings up to then.
        """
        if as_of is None:
            account = self.get_account(account_id)
            assert account.balances is not None
            return account.balances
        with self.direct.connection() as connection:
            found = repo.account_posted_as_of(connection, account_id, as_of)
        if found is None:
            raise repo.account_not_found(account_id)
        account, posted = found
        return Balances(account.currency, posted, 0, 0, posted, as_of)
