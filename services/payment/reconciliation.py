"""Payment reconciliation: the payments of a period compared with the ledger, each entry counted once.

A report names every payment whose ledger movements differ from what the payment says (missing,
duplicated or different entries, refunds that do not add up, holds left behind an ended payment)
and every ledger entry naming a payment we do not have.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from nexafi.ledger.v1 import ledger_pb2
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.payment import repository as repo
from services.payment.clients import Clients
from services.payment.domain.model import Payment, Refund
from services.payment.domain.states import MONEY_MOVED, Status
from services.payment.remote_errors import unavailable
from services.runtime.api import to_timestamp
from services.runtime.clients import RemoteError
from services.runtime.clock import Clock
from services.runtime.db import run_in_transaction
from services.runtime.ledger_client import RELATED_BATCH

if TYPE_CHECKING:
    from services.payment.service import PaymentService

log = logging.getLogger("nexafi.payment")

T = TypeVar("T")

# Entry types that move a payment's money; more than one of them for a payment is a duplicate.
_POSTED_TYPES = frozenset(
    {
        ledger_pb2.TRANSACTION_TYPE_DEPOSIT,
        ledger_pb2.TRANSACTION_TYPE_TRANSFER,
        ledger_pb2.TRANSACTION_TYPE_WITHDRAWAL,
    }
)
# Reconciliation reads the ledger and its own tables this many batches at a time.
RECONCILIATION_THREADS = 4
# Ledger records per message of the ExportRelatedEntries stream: the ledger's maximum.
LEDGER_CHUNK = 5000


@dataclass
class Mismatch:
    kind: str
    payment: Payment | None
    transaction_id: str
    actual_minor: int | None
    actual_currency: str
    detail: str


@dataclass
class Report:
    payments_checked: int
    ledger_transactions_checked: int
    mismatches: list[Mismatch] = field(default_factory=list)


class Reconciler:
    """Reconciles the payment service's book (its engine) with the ledger (its clients)."""

    def __init__(
        self,
        engine: Engine,
        clients: Clients,
        clock: Clock,
        stale_after_seconds: int,
        ledger_chunk: int = LEDGER_CHUNK,
    ) -> None:
        self.engine = engine
        self.clients = clients
        self.clock = clock
        # A PROCESSING payment's hold older than this is reported as stale.
        self.stale_after_seconds = stale_after_seconds
        # Ledger records per streamed message (the ledger's maximum by default).
        self.ledger_chunk = ledger_chunk

    @classmethod
    def of(cls, service: PaymentService) -> Reconciler:
        return cls(
            service.engine, service.clients, service.clock, service.config.stale_after_seconds, LEDGER_CHUNK
        )

    def _tx(self, work: Callable[[Session], T]) -> T:
        return run_in_transaction(self.engine, work)

    def reconcile(self, start: datetime, end: datetime) -> Report:
        """Compare the payments created in [start, end) with the ledger, each entry counted once.

        The ledger is read in bulk, never per payment: one ExportRelatedEntries stream of the
        entries naming any payment, recorded in the period or the hour after it (compact records,
        streamed while this process reads its own payments), then the entries and holds of the
        few payments that need more (failed, cancelled or processing ones, and any whose entry
        the stream did not bring) in batches of a thousand ids. The two sides are merged in
        memory by payment id, so the time grows with the number of entries, not round trips."""
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=1) as background:
            # The ledger and its database build the stream while this process reads the payments.
            streamed = background.submit(
                self.clients.ledger.export_related,
                "pay",
                to_timestamp(start),
                to_timestamp(end + timedelta(hours=1)),
                self.ledger_chunk,
            )
            booked = self._tx(lambda s: repo.booked_in_range(s, start, end))
            read_payments = time.perf_counter()
            try:
                records = streamed.result()
            except RemoteError as exc:
                raise unavailable(exc) from None
        by_id = {b.id: b for b in booked}
        entries: dict[str, ledger_pb2.RelatedEntryRecord] = {}
        holds: dict[str, list[ledger_pb2.PendingTransfer]] = {}
        orphans: list[ledger_pb2.RelatedEntryRecord] = []
        try:
            for entry in records:
                if entry.related_entity_id in by_id:
                    entries[entry.transaction_id] = entry
                else:
                    orphans.append(entry)
            refunded = [b.id for b in booked if b.refunded_minor > 0]
            refunds: dict[str, list[Refund]] = {}
            for chunk in _chunks(refunded):
                for refund in self._tx(partial(repo.succeeded_refunds_of, payment_ids=chunk)):
                    refunds.setdefault(refund.payment_id, []).append(refund)
            wanted = [
                b.id
                for b in booked
                if b.status in (Status.FAILED, Status.CANCELLED, Status.PROCESSING)
                or (
                    b.status in MONEY_MOVED
                    and any(t not in entries for t in [b.transaction_id, *_refund_ids(refunds, b.id)])
                )
            ]
            with ThreadPoolExecutor(max_workers=RECONCILIATION_THREADS) as pool:
                for transactions, pending in pool.map(self.clients.ledger.related_messages, _chunks(wanted)):
                    for transaction in transactions:
                        entries[transaction.id] = _record(transaction)
                    for hold in pending:
                        holds.setdefault(hold.related_entity_id, []).append(hold)
        except RemoteError as exc:
            raise unavailable(exc) from None
        read_ledger = time.perf_counter()
        per_payment: dict[str, list[ledger_pb2.RelatedEntryRecord]] = {}
        for entry in entries.values():
            per_payment.setdefault(entry.related_entity_id, []).append(entry)
        found: list[tuple[str, str, str, str, int | None, str]] = []
        now = self.clock()
        for b in booked:
            mine = per_payment.get(b.id, [])
            if _settled_exactly(b, mine):
                continue  # the common case, decided without the general comparison's allocations
            found += self._reconcile_payment(b, mine, holds.get(b.id, []), refunds.get(b.id, []), now)
        report = Report(payments_checked=len(booked), ledger_transactions_checked=0)
        # Whole payments are read only for the mismatches, which are few.
        for payment_id, kind, detail, txn, actual, currency in found:
            payment = self._tx(partial(repo.get_payment, payment_id=payment_id))
            report.mismatches.append(Mismatch(kind, payment, txn, actual, currency, detail))
        ours: set[str] = set()
        for chunk in _chunks(sorted({e.related_entity_id for e in orphans})):
            ours |= self._tx(partial(repo.existing_payment_ids, payment_ids=chunk))
        for entry in orphans:
            if entry.related_entity_id not in ours:
                report.mismatches.append(
                    Mismatch(
                        "ORPHAN_LEDGER_ENTRY",
                        None,
                        entry.transaction_id,
                        entry.amount.amount_minor,
                        entry.amount.currency,
                        f"the entry refers to {entry.related_entity_id}, which is no payment of ours",
                    )
                )
        report.ledger_transactions_checked = len(entries) + len(orphans)
        log.info(
            "reconciled %d payments with %d ledger entries (%d streamed, %d payments read by batch) in "
            "%.2f s: payments %.2f s, ledger %.2f s more (the rest of the stream, the batches), "
            "comparison %.2f s",
            len(booked),
            report.ledger_transactions_checked,
            len(records),
            len(wanted),
            time.perf_counter() - began,
            read_payments - began,
            read_ledger - read_payments,
            time.perf_counter() - read_ledger,
        )
        return report

    def _reconcile_payment(
        self,
        payment: repo.Booked,
        entries: list[ledger_pb2.RelatedEntryRecord],
        holds: list[ledger_pb2.PendingTransfer],
        refunds: list[Refund],
        now: datetime,
    ) -> list[tuple[str, str, str, str, int | None, str]]:
        """One payment against the entries and holds naming it (each entry once, by id):
        (payment id, kind, detail, transaction id, actual amount, currency) per mismatch."""
        out: list[tuple[str, str, str, str, int | None, str]] = []

        def add(kind: str, detail: str, txn: str = "", actual: int | None = None, currency: str = "") -> None:
            out.append((payment.id, kind, detail, txn, actual, currency))

        by_id = {e.transaction_id: e for e in entries}
        posted = [e for e in entries if e.type in _POSTED_TYPES]
        if len(posted) > 1:
            add(
                "DUPLICATE_LEDGER_ENTRY",
                f"{len(posted)} posted entries for one payment: "
                f"{', '.join(e.transaction_id for e in posted)}",
                posted[0].transaction_id,
            )
        if payment.status in MONEY_MOVED:
            entry = by_id.get(payment.transaction_id)
            if entry is None:
                detail = (
                    "the payment's ledger entry does not exist"
                    if payment.transaction_id.startswith("txn_")
                    else "the payment moved money but has no posted ledger entry"
                )
                add("MISSING_LEDGER_ENTRY", detail, payment.transaction_id)
                return out
            if entry.amount.amount_minor != payment.amount_minor or entry.amount.currency != payment.currency:
                add(
                    "AMOUNT_MISMATCH",
                    f"the ledger moved {entry.amount.amount_minor} {entry.amount.currency}, "
                    f"the payment says {payment.amount_minor} {payment.currency}",
                    entry.transaction_id,
                    entry.amount.amount_minor,
                    entry.amount.currency,
                )
            ledger_refunded = sum(
                by_id[r.transaction_id].amount.amount_minor for r in refunds if r.transaction_id in by_id
            )
            if ledger_refunded != payment.refunded_minor:
                add(
                    "REFUND_MISMATCH",
                    f"the ledger refunded {ledger_refunded}, the payment says {payment.refunded_minor}",
                    "",
                    ledger_refunded,
                    payment.currency,
                )
            return out
        held = [
            h
            for h in holds
            if h.status == ledger_pb2.PENDING_TRANSFER_STATUS_PENDING
            and h.expire_time.ToDatetime(tzinfo=UTC) > now
        ]
        if payment.status in (Status.FAILED, Status.CANCELLED):
            for hold in holds:
                if hold.status == ledger_pb2.PENDING_TRANSFER_STATUS_POSTED:
                    add(
                        "STATUS_MISMATCH",
                        "the payment did not complete but its reservation was posted",
                        hold.transaction_id,
                        hold.posted_amount.amount_minor,
                        payment.currency,
                    )
            for hold in held:
                add("STALE_HOLD", "the payment ended but its reservation is still held", hold.id)
        elif payment.status is Status.PROCESSING and held:
            age = (now - payment.update_time).total_seconds()
            if age > self.stale_after_seconds:
                add("STALE_HOLD", f"the reservation has been held for {int(age)} s", held[0].id)
        return out


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + RELATED_BATCH] for i in range(0, len(ids), RELATED_BATCH)]


def _refund_ids(refunds: dict[str, list[Refund]], payment_id: str) -> list[str]:
    return [r.transaction_id for r in refunds.get(payment_id, [])]


def _record(transaction: ledger_pb2.Transaction) -> ledger_pb2.RelatedEntryRecord:
    """An entry read by id (BatchGetRelatedEntries), in the shape of the streamed ones."""
    return ledger_pb2.RelatedEntryRecord(
        transaction_id=transaction.id,
        related_entity_id=transaction.related_entity_id,
        type=transaction.type,
        amount=transaction.amount,
    )


def _settled_exactly(payment: repo.Booked, entries: list[ledger_pb2.RelatedEntryRecord]) -> bool:
    """True when ``_reconcile_payment`` would find nothing because the payment moved money, was
    never refunded, and its one entry is the one it names, with its amount: most of a book."""
    if len(entries) != 1 or payment.refunded_minor != 0 or payment.status not in MONEY_MOVED:
        return False
    entry = entries[0]
    return (
        entry.transaction_id == payment.transaction_id
        and entry.amount.amount_minor == payment.amount_minor
        and entry.amount.currency == payment.currency
    )
