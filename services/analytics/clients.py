"""The ledger and the credit service, as analytics calls them: its own service identity, deadlines.

The change feed is a long-lived stream (no deadline); account look-ups, the
trial balance and the pages of loan applications are reads with the default
deadline, retried by gRPC on UNAVAILABLE.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, Protocol

import grpc
from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2, credit_pb2_grpc
from nexafi.ledger.v1 import ledger_pb2

from services.analytics.domain.model import AccountInfo, BalanceLine, Entry, Posting
from services.analytics.domain.portfolio import InstallmentFacts, LoanFacts, LoanStatus
from services.runtime import ledger_client
from services.runtime.api import from_timestamp, to_timestamp
from services.runtime.clients import all_pages, call

# The credit contract's largest page: the fewest calls for a bounded amount of data per call.
LOAN_PAGE_SIZE = 200


class FeedStream(Protocol):
    """A running StreamTransactions call: iterate it for entries, cancel it to stop."""

    def __iter__(self) -> Iterator[Entry]: ...

    def cancel(self) -> bool: ...


class _EntryStream:
    """A StreamTransactions call read as domain entries (the feed's protobuf stays in this adapter)."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def __iter__(self) -> Iterator[Entry]:
        for item in self._call:
            yield entry_from_pb(item.transaction)

    def cancel(self) -> bool:
        return bool(self._call.cancel())


def entry_from_pb(tx: ledger_pb2.Transaction) -> Entry:
    return Entry(
        transaction_id=tx.id,
        sequence=tx.sequence,
        type=int(tx.type),
        timestamp=from_timestamp(tx.timestamp),
        description=tx.description,
        amount_minor=tx.amount.amount_minor,
        currency=tx.amount.currency,
        postings=[
            Posting(p.account_id, int(p.direction), p.amount.amount_minor, p.amount.currency)
            for p in tx.postings
        ],
        metadata=dict(tx.metadata),
    )


class LedgerClient(ledger_client.LedgerClient):
    """The shared ledger client with the reads only analytics makes (the change feed, account
    classes, the trial balance), in analytics' domain types.

    The feed and the account look-ups of the consumer raise ``grpc.RpcError`` as gRPC does: the
    consumer's loop decides on the status code (UNAVAILABLE: a new channel, see ``reconnect``).
    """

    def stream(self, after_sequence: int, *, follow: bool = True) -> FeedStream:
        return _EntryStream(
            self.stub.StreamTransactions(
                ledger_pb2.StreamTransactionsRequest(after_sequence=after_sequence, follow=follow)
            )
        )

    def account_info(self, account_id: str) -> AccountInfo:
        account = self.stub.GetAccount(ledger_pb2.GetAccountRequest(account_id=account_id)).account
        return AccountInfo(account.id, account.owner_id, int(account.type), account.currency)

    def trial_balance(self, as_of: datetime) -> list[BalanceLine]:
        """Every account's balance line as of ``as_of``, from the ledger (the authority on balances)."""
        request = ledger_pb2.GetTrialBalanceRequest(as_of_time=to_timestamp(as_of))
        reply = call("ledger", self.stub.GetTrialBalance, request)
        return [
            BalanceLine(
                line.account_id, line.name, int(line.type), line.currency, line.debit_minor, line.credit_minor
            )
            for line in reply.lines
        ]


def loan_facts(app: credit_pb2.LoanApplication) -> LoanFacts:
    return LoanFacts(
        status=LoanStatus(int(app.status)),
        approved_minor=app.approved_amount.amount_minor,
        disbursed=app.HasField("disburse_time"),
        outstanding_minor=app.outstanding_principal.amount_minor,
        interest_repaid_minor=sum(r.interest.amount_minor for r in app.repayments),
        installments=tuple(
            InstallmentFacts(date.fromisoformat(i.due_date), i.total.amount_minor - i.paid.amount_minor)
            for i in app.schedule
        ),
    )


class CreditClient:
    """The credit service's loan book, read page by page with the analytics service's identity."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.stub = credit_pb2_grpc.CreditServiceStub(channel)

    def loans(self, currency: str, start: datetime, end: datetime) -> Iterator[LoanFacts]:
        """Every application in ``currency`` submitted in [start, end), one page per call.

        Failures raise :class:`services.runtime.clients.RemoteError`.
        """
        request = credit_pb2.ListLoanApplicationsRequest(
            currency=currency,
            page_size=LOAN_PAGE_SIZE,
            create_time_range=common_pb2.TimeRange(
                start_time=to_timestamp(start), end_time=to_timestamp(end)
            ),
        )

        def page(token: str) -> tuple[list[LoanFacts], str]:
            request.page_token = token
            reply = call("credit", self.stub.ListLoanApplications, request)
            return [loan_facts(app) for app in reply.loan_applications], reply.next_page_token

        return all_pages(page)

    def close(self) -> None:
        self.channel.close()
