"""The gRPC adapter of the ledger: proto <-> domain, syntactic validation and authorization.

Who may call what (the principal comes from the runtime's interceptor):

- creating accounts, posting, reversing and two-phase transfers: service or admin;
- reading an account, its balance, history or statement: its owner or staff (admin, support,
  compliance, service); a transaction: its user, the owner of an account it touches, or staff;
- the change feed: service or admin; chain verification: admin or compliance;
  trial balance: admin, compliance or service.

Services are narrowed twice: the runtime lets each call only the RPCs ``spec.SERVICE_CALLERS``
lists, and the writing RPCs here let it touch only the accounts of its scope
(``domain/scopes.py``: payment wallets and clearing accounts; credit its loan, line and
interest accounts and, with them, a customer's wallet): PERMISSION_DENIED ACCOUNT_NOT_IN_SCOPE.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.ledger import repository as repo
from services.ledger.access import ACCESS, lists_every_owner
from services.ledger.converters import account_pb, balance_pb, pending_pb, transaction_pb
from services.ledger.domain import scopes
from services.ledger.domain.model import AccountType, BalanceRule, NewEntry, TransactionType
from services.ledger.report_rpcs import LedgerReportRpcs
from services.ledger.service import NewAccount, NewPendingTransfer
from services.ledger.validation import MAX_BATCH, MAX_DESCRIPTION, LedgerChecks, postings_from, transfer_entry
from services.runtime import api
from services.runtime.api import from_timestamp, time_range
from services.runtime.auth import current_principal
from services.runtime.errors import DomainError, InvalidArgument
from services.runtime.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR
from services.runtime.service_access import service_identity

# -- the servicer ----------------------------------------------------------------------------------


class LedgerServicer(LedgerReportRpcs, ledger_pb2_grpc.LedgerServiceServicer):
    # -- accounts -------------------------------------------------------------------------------
    def CreateAccount(
        self, request: ledger_pb2.CreateAccountRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.CreateAccountResponse:
        principal = self._writer("CreateAccount")
        checks = LedgerChecks()
        checks.identifier(request.owner_id, "owner_id")
        checks.text(request.name, "name", max_length=64, required=True)
        checks.enum(request.type, AccountType, "type")
        checks.enum(request.balance_rule, BalanceRule, "balance_rule")
        if request.currency not in CURRENCY_EXPONENTS:
            checks.add("currency", "must be a supported upper-case ISO 4217 code")
        if request.credit_limit_minor < 0 or request.credit_limit_minor > MAX_AMOUNT_MINOR:
            checks.add("credit_limit_minor", f"must be between 0 and {MAX_AMOUNT_MINOR}")
        elif request.credit_limit_minor and request.balance_rule != BalanceRule.CREDIT_LIMIT:
            checks.add("credit_limit_minor", "is only allowed with BALANCE_RULE_CREDIT_LIMIT")
        metadata = checks.metadata(request.metadata)
        checks.request_id(request.request_id, required=False)
        checks.done()
        service = service_identity(principal)
        if service is not None:
            scopes.check_new_account(service, request.owner_id, request.name)
        account = self.ledger.create_account(
            principal.subject,
            NewAccount(
                owner_id=request.owner_id,
                name=request.name,
                type=AccountType(request.type),
                currency=request.currency,
                balance_rule=BalanceRule(request.balance_rule),
                credit_limit_minor=request.credit_limit_minor,
                metadata=metadata,
                request_id=request.request_id,
            ),
        )
        return ledger_pb2.CreateAccountResponse(account=account_pb(account))

    def UpdateAccountLimit(
        self, request: ledger_pb2.UpdateAccountLimitRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.UpdateAccountLimitResponse:
        principal = self._writer("UpdateAccountLimit")
        checks = LedgerChecks()
        checks.identifier(request.account_id, "account_id")
        if request.credit_limit_minor < 0 or request.credit_limit_minor > MAX_AMOUNT_MINOR:
            checks.add("credit_limit_minor", f"must be between 0 and {MAX_AMOUNT_MINOR}")
        checks.request_id(request.request_id, required=False)
        checks.done()
        service = service_identity(principal)
        if service is not None:
            scopes.check_own_account(service, request.account_id, *self._account_identity(request.account_id))
        account = self.ledger.update_account_limit(
            principal.subject, request.account_id, request.credit_limit_minor, request.request_id
        )
        return ledger_pb2.UpdateAccountLimitResponse(account=account_pb(account))

    def GetAccount(
        self, request: ledger_pb2.GetAccountRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.GetAccountResponse:
        account_id = self._account_id(request.account_id)
        principal = current_principal()

        # Owners never change: the cached one spares a customer's repeated reads a second query.
        ACCESS.check("GetAccount", principal, lambda: self._account_identity(account_id)[0])
        account = self.ledger.get_account(account_id)
        return ledger_pb2.GetAccountResponse(account=account_pb(account))

    def ListAccounts(
        self, request: ledger_pb2.ListAccountsRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ListAccountsResponse:
        principal = current_principal()
        owner = request.owner_id or None
        ACCESS.check("ListAccounts", principal, owner or principal.subject)
        if owner is None and not lists_every_owner(principal):
            owner = principal.subject
        size = api.page_size(request.page_size)
        query = api.query_key("accounts", owner)
        page = api.paginate_by_id(
            lambda after, limit: self.ledger.list_accounts(owner, after, limit),
            page_token=request.page_token,
            query=query,
            size=size,
        )
        return ledger_pb2.ListAccountsResponse(
            accounts=[account_pb(a) for a in page.items], next_page_token=page.next_page_token
        )

    def GetBalance(
        self, request: ledger_pb2.GetBalanceRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.GetBalanceResponse:
        account_id = self._account_id(request.account_id)
        principal = current_principal()
        # As GetAccount: the cached owner, so a customer's repeated reads cost the balance's one read.
        ACCESS.check("GetBalance", principal, lambda: self._account_identity(account_id)[0])
        as_of = from_timestamp(request.as_of_time) if request.HasField("as_of_time") else None
        balances = self.ledger.balance(account_id, as_of)
        return ledger_pb2.GetBalanceResponse(balance=balance_pb(balances))

    # -- transactions ---------------------------------------------------------------------------
    def CreateTransaction(
        self, request: ledger_pb2.CreateTransactionRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.CreateTransactionResponse:
        principal = self._writer("CreateTransaction")
        checks = LedgerChecks()
        new = NewEntry(
            user_id=checks.text(request.user_id, "user_id", max_length=api.MAX_ID_LENGTH),
            type=checks.transaction_type(request.type),
            description=checks.text(request.description, "description", max_length=MAX_DESCRIPTION),
            related_entity_id=checks.text(
                request.related_entity_id, "related_entity_id", max_length=api.MAX_REQUEST_ID_LENGTH
            ),
            postings=postings_from(request.postings, checks),
            metadata=checks.metadata(request.metadata),
            request_id=checks.request_id(request.request_id),
        )
        checks.done()
        self._scope_postings(principal, (line.account_id for line in new.postings))
        entry = self.ledger.create_transaction(principal.subject, new)
        return ledger_pb2.CreateTransactionResponse(transaction=transaction_pb(entry))

    def CreateTransactions(
        self, request: ledger_pb2.CreateTransactionsRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.CreateTransactionsResponse:
        principal = self._writer("CreateTransactions")
        if not request.transfers or len(request.transfers) > MAX_BATCH:
            raise InvalidArgument(
                f"a batch holds 1 to {MAX_BATCH} transfers",
                field="transfers",
                description=f"must hold 1 to {MAX_BATCH} transfers",
            )
        items: list[NewEntry | DomainError] = []
        for transfer in request.transfers:
            try:
                entry = transfer_entry(transfer)
                self._scope_postings(principal, (line.account_id for line in entry.postings))
                items.append(entry)
            except DomainError as exc:
                items.append(exc)
        results = []
        for outcome in self.ledger.create_transactions(principal.subject, items):
            if isinstance(outcome, DomainError):
                results.append(
                    ledger_pb2.TransferResult(
                        code=outcome.code.value[0], reason=outcome.reason, message=outcome.message
                    )
                )
            else:
                results.append(ledger_pb2.TransferResult(transaction=transaction_pb(outcome)))
        return ledger_pb2.CreateTransactionsResponse(results=results)

    def GetTransaction(
        self, request: ledger_pb2.GetTransactionRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.GetTransactionResponse:
        principal = current_principal()
        checks = LedgerChecks()
        checks.identifier(request.transaction_id, "transaction_id")
        checks.done()
        entry = self.ledger.get_transaction(request.transaction_id)

        def owners() -> Iterator[str]:
            yield entry.user_id
            yield from self.ledger.entry_account_owners(entry)

        ACCESS.check("GetTransaction", principal, owners)
        return ledger_pb2.GetTransactionResponse(transaction=transaction_pb(entry))

    def ListUserTransactions(
        self, request: ledger_pb2.ListUserTransactionsRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ListUserTransactionsResponse:
        if request.user_id.startswith("txn_"):
            # GET /api/v1/ledger/transactions/{id} serves both a user's history and one
            # transaction; a transaction id that lands here gets a pointer, not an empty list.
            raise InvalidArgument(
                f"{request.user_id} is a transaction id, not a user id; use GetTransaction "
                "(GET /api/v1/ledger/entries/{transaction_id})",
                reason="TRANSACTION_ID_AS_USER_ID",
                field="user_id",
                description="must be a user id; for a transaction use GetTransaction",
            )
        checks = LedgerChecks()
        checks.identifier(request.user_id, "user_id")
        checks.done()
        ACCESS.check("ListUserTransactions", current_principal(), request.user_id)
        entries, token = self._history(repo.EntryFilter(user_id=request.user_id), request)
        return ledger_pb2.ListUserTransactionsResponse(transactions=entries, next_page_token=token)

    def ListAccountTransactions(
        self, request: ledger_pb2.ListAccountTransactionsRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ListAccountTransactionsResponse:
        self._account_reader("ListAccountTransactions", self._account_id(request.account_id))
        entries, token = self._history(repo.EntryFilter(account_id=request.account_id), request)
        return ledger_pb2.ListAccountTransactionsResponse(transactions=entries, next_page_token=token)

    def _history(self, where: repo.EntryFilter, request: Any) -> tuple[list[ledger_pb2.Transaction], str]:
        checks = LedgerChecks()
        for i, value in enumerate(request.types):
            checks.enum(value, TransactionType, f"types[{i}]")
        checks.done()
        start, end = time_range(request)
        types = tuple(sorted(set(request.types)))
        size = api.page_size(request.page_size)
        query = api.query_key(where.user_id, where.account_id, start, end, types)

        def fetch(before: int | None, limit: int) -> list[Any]:
            return self.ledger.list_transactions(
                repo.EntryFilter(
                    user_id=where.user_id,
                    account_id=where.account_id,
                    start_time=start,
                    end_time=end,
                    types=types,
                    before_insert_id=before,
                ),
                limit,
            )

        page = api.paginate(
            fetch,
            page_token=request.page_token,
            query=query,
            size=size,
            position=lambda entry: entry.insert_id,
            parse=api.as_int,
        )
        return [transaction_pb(e) for e in page.items], page.next_page_token

    def ReverseTransaction(
        self, request: ledger_pb2.ReverseTransactionRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ReverseTransactionResponse:
        principal = self._writer("ReverseTransaction")
        checks = LedgerChecks()
        checks.identifier(request.transaction_id, "transaction_id")
        checks.text(request.reason, "reason", max_length=MAX_DESCRIPTION)
        checks.request_id(request.request_id)
        checks.done()
        if service_identity(principal) is not None:
            original = self.ledger.get_transaction(request.transaction_id)
            self._scope_postings(principal, (p.account_id for p in original.postings))
        entry = self.ledger.reverse_transaction(
            principal.subject, request.transaction_id, request.reason, request.request_id
        )
        return ledger_pb2.ReverseTransactionResponse(transaction=transaction_pb(entry))

    # -- two-phase transfers --------------------------------------------------------------------
    def CreatePendingTransfer(
        self, request: ledger_pb2.CreatePendingTransferRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.CreatePendingTransferResponse:
        principal = self._writer("CreatePendingTransfer")
        checks = LedgerChecks()
        checks.identifier(request.debit_account_id, "debit_account_id")
        checks.identifier(request.credit_account_id, "credit_account_id")
        amount, currency = checks.money(request.amount, "amount")
        new = NewPendingTransfer(
            debit_account_id=request.debit_account_id,
            credit_account_id=request.credit_account_id,
            amount_minor=amount,
            currency=currency,
            user_id=checks.text(request.user_id, "user_id", max_length=api.MAX_ID_LENGTH),
            type=checks.transaction_type(request.type),
            description=checks.text(request.description, "description", max_length=MAX_DESCRIPTION),
            related_entity_id=checks.text(
                request.related_entity_id, "related_entity_id", max_length=api.MAX_REQUEST_ID_LENGTH
            ),
            expire_time=from_timestamp(request.expire_time) if request.HasField("expire_time") else None,
            request_id=checks.request_id(request.request_id),
        )
        checks.done()
        self._scope_postings(principal, (new.debit_account_id, new.credit_account_id))
        transfer = self.ledger.create_pending(principal.subject, new)
        return ledger_pb2.CreatePendingTransferResponse(pending_transfer=pending_pb(transfer))

    def GetPendingTransfer(
        self, request: ledger_pb2.GetPendingTransferRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.GetPendingTransferResponse:
        ACCESS.check("GetPendingTransfer", current_principal())
        checks = LedgerChecks()
        checks.identifier(request.pending_transfer_id, "pending_transfer_id")
        checks.done()
        transfer = self.ledger.get_pending(request.pending_transfer_id)
        return ledger_pb2.GetPendingTransferResponse(pending_transfer=pending_pb(transfer))

    def PostPendingTransfer(
        self, request: ledger_pb2.PostPendingTransferRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.PostPendingTransferResponse:
        principal = self._writer("PostPendingTransfer")
        checks = LedgerChecks()
        checks.identifier(request.pending_transfer_id, "pending_transfer_id")
        checks.request_id(request.request_id)
        amount: int | None = None
        currency: str | None = None
        if request.HasField("amount"):
            amount, currency = checks.money(request.amount, "amount")
        metadata = checks.metadata(request.metadata)
        checks.done()
        self._scope_pending(principal, request.pending_transfer_id)
        transfer, entry = self.ledger.post_pending(
            principal.subject, request.pending_transfer_id, amount, currency, request.request_id, metadata
        )
        return ledger_pb2.PostPendingTransferResponse(
            pending_transfer=pending_pb(transfer), transaction=transaction_pb(entry)
        )

    def VoidPendingTransfer(
        self, request: ledger_pb2.VoidPendingTransferRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.VoidPendingTransferResponse:
        principal = self._writer("VoidPendingTransfer")
        checks = LedgerChecks()
        checks.identifier(request.pending_transfer_id, "pending_transfer_id")
        checks.text(request.reason, "reason", max_length=MAX_DESCRIPTION)
        checks.done()
        self._scope_pending(principal, request.pending_transfer_id)
        transfer = self.ledger.void_pending(request.pending_transfer_id)
        return ledger_pb2.VoidPendingTransferResponse(pending_transfer=pending_pb(transfer))
