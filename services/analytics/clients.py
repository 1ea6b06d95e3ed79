"""The ledger, as the analytics service calls it: with its own service identity and deadlines.

The change feed is a long-lived stream (no deadline); account look-ups and the
trial balance are reads with the default deadline, retried by gRPC on UNAVAILABLE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

import grpc
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.analytics.domain.model import AccountInfo, Entry, Posting
from services.runtime.api import from_timestamp, to_timestamp
from services.runtime.clients import ServiceTokenProvider, service_channel

LEDGER_SERVICE = ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"]


class FeedStream(Protocol):
    """A running StreamTransactions call: iterate it for entries, cancel it to stop."""

    def __iter__(self) -> Iterator[ledger_pb2.StreamTransactionsResponse]: ...

    def cancel(self) -> bool: ...


def entry_from_pb(tx: ledger_pb2.Transaction) -> Entry:
    return Entry(
        transaction_id=tx.id,
        sequence=tx.sequence,
        type=int(tx.type),
        timestamp=from_timestamp(tx.timestamp),
        description=tx.description,
        amount_minor=tx.amount.amount_minor,
        currency=tx.amount.currency,
        postings=[Posting(p.account_id, int(p.direction), p.amount.amount_minor, p.amount.currency)
                  for p in tx.postings],
        metadata=dict(tx.metadata),
    )


class LedgerClient:
    """Typed calls to the ledger through an authenticated channel it can rebuild."""

    def __init__(self, connect: Callable[[], grpc.Channel]) -> None:
        self._connect = connect
        self.channel = connect()
        self.stub = ledger_pb2_grpc.LedgerServiceStub(self.channel)

    @classmethod
    def from_env(cls, provider: ServiceTokenProvider | None = None) -> LedgerClient:
        tokens = provider or ServiceTokenProvider.from_env("analytics")
        return cls(lambda: service_channel("ledger", LEDGER_SERVICE, tokens.token))

    def reconnect(self) -> None:
        """Replace the channel by a fresh one.

        A channel that failed to connect for a while waits out gRPC's own reconnect
        backoff (up to two minutes) before trying again; the feed consumer keeps its
        own, shorter backoff and starts each attempt after an outage on a new channel.
        """
        old = self.channel
        self.channel = self._connect()
        self.stub = ledger_pb2_grpc.LedgerServiceStub(self.channel)
        old.close()

    def stream(self, after_sequence: int, *, follow: bool = True) -> FeedStream:
        call: Any = self.stub.StreamTransactions(
            ledger_pb2.StreamTransactionsRequest(after_sequence=after_sequence, follow=follow))
        return call

    def get_account(self, account_id: str) -> AccountInfo:
        account = self.stub.GetAccount(ledger_pb2.GetAccountRequest(account_id=account_id)).account
        return AccountInfo(account.id, account.owner_id, int(account.type), account.currency)

    def trial_balance(self, as_of: datetime) -> ledger_pb2.GetTrialBalanceResponse:
        return self.stub.GetTrialBalance(ledger_pb2.GetTrialBalanceRequest(as_of_time=to_timestamp(as_of)))

    def close(self) -> None:
        self.channel.close()
