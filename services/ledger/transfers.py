"""Two-phase transfers: reserve an amount (pending), then post it (in full or in part) or void it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from services.ledger import repository as repo
from services.ledger.commands import NewPendingTransfer
from services.ledger.core import LedgerCore, held_legs, legs, release, reserve
from services.ledger.domain import pending as pending_rules
from services.ledger.domain.model import Entry, NewEntry, PendingStatus, PendingTransfer
from services.ledger.domain.rules import check_currencies, check_limits, post_all
from services.ledger.repository.responses import (
    pending_from_response,
    pending_response,
    posted_from_response,
    posted_response,
)
from services.runtime.errors import FailedPrecondition, InvalidArgument
from services.runtime.ids import new_id

DEFAULT_PENDING_TTL = timedelta(days=7)


class TransferUseCases(LedgerCore):
    def create_pending(self, scope: str, request: NewPendingTransfer) -> PendingTransfer:
        transfer_id = new_id("pnd")
        expire_text = request.expire_time.isoformat() if request.expire_time else ""
        body = {**request.__dict__, "expire_time": expire_text}
        fingerprint = self.fingerprint("CreatePendingTransfer", body)
        account_ids = sorted({request.debit_account_id, request.credit_account_id})
        if len(account_ids) != 2:
            raise InvalidArgument(
                "the two accounts must differ",
                field="credit_account_id",
                description="must differ from debit_account_id",
            )

        def work(session: Session) -> PendingTransfer:
            claim = self._claim(session, scope, request.request_id, "CreatePendingTransfer", fingerprint)
            if isinstance(claim, bytes):
                return pending_from_response(claim)
            now = repo.database_now(session)
            expire = request.expire_time or now + DEFAULT_PENDING_TTL
            if expire <= now:
                raise InvalidArgument(
                    "expire_time is in the past", field="expire_time", description="must be in the future"
                )
            states = repo.balance_states(session, account_ids, lock=True)
            reserved = legs(
                request.debit_account_id, request.credit_account_id, request.amount_minor, request.currency
            )
            check_currencies(reserved, {a: s.currency for a, s in states.items()})
            after = reserve(states, reserved)
            repo.save_balances(session, states, after)
            transfer = PendingTransfer(
                id=transfer_id,
                debit_account_id=request.debit_account_id,
                credit_account_id=request.credit_account_id,
                amount_minor=request.amount_minor,
                currency=request.currency,
                posted_minor=0,
                status=PendingStatus.PENDING,
                user_id=request.user_id,
                type=request.type,
                description=request.description,
                related_entity_id=request.related_entity_id,
                expire_time=expire,
                transaction_id=None,
                request_id=request.request_id,
                create_time=now,
                update_time=now,
            )
            repo.insert_pending(session, transfer)
            self._complete(session, claim, lambda: pending_response(transfer), transfer_id)
            return transfer

        return self._with_expiry_retry(account_ids, lambda: self._write(work))

    def get_pending(self, transfer_id: str) -> PendingTransfer:
        transfer = self._reading(lambda s: repo.get_pending(s, transfer_id))
        if pending_rules.is_expired(transfer, datetime.now(UTC)) and self._expire_one(transfer_id):
            transfer = self._reading(lambda s: repo.get_pending(s, transfer_id))
        return transfer

    def post_pending(
        self,
        scope: str,
        transfer_id: str,
        amount_minor: int | None,
        currency: str | None,
        request_id: str,
        metadata: Mapping[str, str] | None = None,
    ) -> tuple[PendingTransfer, Entry]:
        entry_id = new_id("txn")
        body: dict[str, object] = {"id": transfer_id, "amount": amount_minor, "currency": currency}
        if metadata:
            # Only when present, so a key first used without metadata keeps its fingerprint.
            body["metadata"] = dict(sorted(metadata.items()))
        fingerprint = self.fingerprint("PostPendingTransfer", body)

        def work(session: Session) -> tuple[PendingTransfer, Entry, bool]:
            claim = self._claim(session, scope, request_id, "PostPendingTransfer", fingerprint)
            if isinstance(claim, bytes):
                return (*posted_from_response(claim), True)
            transfer = repo.get_pending(session, transfer_id, lock=True)
            if currency is not None and currency != transfer.currency:
                raise FailedPrecondition(
                    f"the pending transfer is in {transfer.currency}, not {currency}",
                    "CURRENCY_MISMATCH",
                    {"pending_transfer_id": transfer_id},
                )
            now = repo.database_now(session)
            posted = pending_rules.post(transfer, amount_minor, now)
            states = repo.balance_states(
                session, [transfer.debit_account_id, transfer.credit_account_id], lock=True
            )
            released = release(states, held_legs(transfer))
            postings = legs(
                transfer.debit_account_id, transfer.credit_account_id, posted.posted_minor, transfer.currency
            )
            after = post_all(released, postings)
            check_limits(states, after)
            repo.save_balances(session, states, after)
            new = NewEntry(
                user_id=transfer.user_id,
                type=transfer.type,
                description=transfer.description,
                related_entity_id=transfer.related_entity_id,
                postings=postings,
                metadata=dict(metadata or {}),
                request_id=request_id,
                pending_transfer_id=transfer_id,
            )
            entry = repo.append_entries(session, [(entry_id, new)])[0]
            posted = replace(posted, transaction_id=entry.id, update_time=entry.create_time)
            repo.update_pending(session, posted)
            self._complete(session, claim, lambda: posted_response(posted, entry), entry.id)
            return posted, entry, False

        transfer, entry, replayed = self._expiring(transfer_id, lambda: self._write(work))
        return transfer, self._finished(entry, replayed)

    def void_pending(self, transfer_id: str) -> PendingTransfer:
        def work(session: Session) -> PendingTransfer:
            transfer = repo.get_pending(session, transfer_id, lock=True)
            voided = pending_rules.void(transfer, repo.database_now(session))
            self._release_reservation(session, transfer)
            repo.update_pending(session, voided)
            return voided

        return self._expiring(transfer_id, lambda: self._write(work))
