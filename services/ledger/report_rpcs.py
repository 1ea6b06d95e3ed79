"""The ledger's reading RPCs beyond single accounts and transactions: the change feed, chain
and books verification, the trial balance, related entries and account statements."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from nexafi.ledger.v1 import ledger_pb2

from services.ledger import export
from services.ledger.access import ACCESS, LedgerAccess
from services.ledger.converters import account_pb, books_pb, pending_pb, transaction_pb, tx_type_pb
from services.ledger.validation import MAX_BATCH, LedgerChecks, TransactionView
from services.runtime import api
from services.runtime.api import from_timestamp, time_range, to_money, to_timestamp
from services.runtime.auth import current_principal
from services.runtime.errors import InvalidArgument


class LedgerReportRpcs(LedgerAccess):
    # -- feed, chain, reports -------------------------------------------------------------------
    def StreamTransactions(
        self, request: ledger_pb2.StreamTransactionsRequest, context: grpc.ServicerContext
    ) -> Iterator[ledger_pb2.StreamTransactionsResponse]:
        self._writer("StreamTransactions")
        if request.after_sequence < 0:
            raise InvalidArgument(
                "after_sequence must not be negative",
                field="after_sequence",
                description="must be 0 or a sequence number",
            )
        # A cancelled client must not keep its stream asleep until the next poll.
        context.add_callback(self.ledger.notifier.notify)
        for entry in self.ledger.stream(request.after_sequence, request.follow, context.is_active):
            yield ledger_pb2.StreamTransactionsResponse(transaction=transaction_pb(entry))

    def VerifyChain(
        self, request: ledger_pb2.VerifyChainRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.VerifyChainResponse:
        ACCESS.check("VerifyChain", current_principal())
        report = self.ledger.verify_chain()
        return ledger_pb2.VerifyChainResponse(
            valid=report.valid,
            entries_checked=report.entries_checked,
            first_broken_transaction_id=report.first_broken_id,
            first_broken_sequence=report.first_broken_sequence,
            detail=report.detail,
        )

    def GetTrialBalance(
        self, request: ledger_pb2.GetTrialBalanceRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.GetTrialBalanceResponse:
        ACCESS.check("GetTrialBalance", current_principal())
        as_of = from_timestamp(request.as_of_time) if request.HasField("as_of_time") else None
        rows, moment = self.ledger.trial_balance(as_of)
        lines = []
        totals: dict[str, list[int]] = {}
        for account, debits, credits in rows:
            net = debits - credits
            if net == 0:
                continue
            lines.append(
                ledger_pb2.AccountBalanceLine(
                    account_id=account.id,
                    name=account.name,
                    type=api.to_enum(ledger_pb2.AccountType, account.type),
                    currency=account.currency,
                    debit_minor=max(net, 0),
                    credit_minor=max(-net, 0),
                )
            )
            sums = totals.setdefault(account.currency, [0, 0])
            sums[0] += max(net, 0)
            sums[1] += max(-net, 0)
        return ledger_pb2.GetTrialBalanceResponse(
            lines=lines,
            as_of_time=to_timestamp(moment),
            totals=[
                ledger_pb2.CurrencyTotals(
                    currency=c, total_debits_minor=d, total_credits_minor=k, balanced=d == k
                )
                for c, (d, k) in sorted(totals.items())
            ],
        )

    def BatchGetRelatedEntries(
        self, request: ledger_pb2.BatchGetRelatedEntriesRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.BatchGetRelatedEntriesResponse:
        ACCESS.check("BatchGetRelatedEntries", current_principal())
        checks = LedgerChecks()
        if not request.related_entity_ids:
            checks.add("related_entity_ids", "is required")
        elif len(request.related_entity_ids) > MAX_BATCH:
            checks.add("related_entity_ids", f"must hold at most {MAX_BATCH} ids")
        for i, value in enumerate(request.related_entity_ids[:MAX_BATCH]):
            checks.text(
                value, f"related_entity_ids[{i}]", max_length=api.MAX_REQUEST_ID_LENGTH, required=True
            )
        checks.enum(request.view, TransactionView, "view")
        checks.done()
        entries, transfers = self.ledger.related(
            sorted(set(request.related_entity_ids)), full=request.view != TransactionView.BASIC
        )
        return ledger_pb2.BatchGetRelatedEntriesResponse(
            transactions=[transaction_pb(e) for e in entries],
            pending_transfers=[pending_pb(t) for t in transfers],
        )

    def ListRelatedEntries(
        self, request: ledger_pb2.ListRelatedEntriesRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.ListRelatedEntriesResponse:
        ACCESS.check("ListRelatedEntries", current_principal())
        checks = LedgerChecks()
        checks.text(request.related_entity_type, "related_entity_type", max_length=32, required=True)
        if request.related_entity_type and not request.related_entity_type.isalnum():
            checks.add("related_entity_type", "must be letters and digits, the part of an id before '_'")
        checks.enum(request.view, TransactionView, "view")
        checks.done()
        start, end = time_range(request)
        size = api.page_size(request.page_size, default=100, maximum=MAX_BATCH)
        query = api.query_key("related", request.related_entity_type, start, end)
        page = api.paginate_by_time(
            lambda after, limit: self.ledger.of_type(
                request.related_entity_type,
                start,
                end,
                after,
                limit,
                full=request.view != TransactionView.BASIC,
            ),
            page_token=request.page_token,
            query=query,
            size=size,
            key=lambda entry: entry.insert_id,
            parse_key=api.as_int,
        )
        return ledger_pb2.ListRelatedEntriesResponse(
            transactions=[transaction_pb(e) for e in page.items], next_page_token=page.next_page_token
        )

    def ExportRelatedEntries(
        self, request: ledger_pb2.ExportRelatedEntriesRequest, context: grpc.ServicerContext
    ) -> Iterator[ledger_pb2.ExportRelatedEntriesResponse]:
        return export.export_related_entries(self.ledger.engine, request, context)

    def VerifyBooks(
        self, request: ledger_pb2.VerifyBooksRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.VerifyBooksResponse:
        ACCESS.check("VerifyBooks", current_principal())
        report = self.ledger.verify_books(hold_grace_seconds=self.hold_grace_seconds)
        return books_pb(report)

    def GetAccountStatement(
        self, request: ledger_pb2.GetAccountStatementRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.GetAccountStatementResponse:
        self._account_reader("GetAccountStatement", self._account_id(request.account_id))
        start, end = time_range(request)
        statement = self.ledger.statement(request.account_id, start, end)
        currency = statement.account.currency
        return ledger_pb2.GetAccountStatementResponse(
            account=account_pb(statement.account),
            opening_balance=to_money(statement.opening_minor, currency),
            closing_balance=to_money(statement.closing_minor, currency),
            lines=[
                ledger_pb2.StatementLine(
                    transaction_id=entry.id,
                    timestamp=to_timestamp(entry.create_time),
                    type=tx_type_pb(entry.type),
                    description=entry.description,
                    change_minor=change,
                    balance_after_minor=after,
                )
                for entry, change, after in statement.lines
            ],
        )
