"""How the runtime builds the ledger server: the servicer, the expiry sweeper and shutdown hooks."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import grpc
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.ledger.service import FeedNotifier, Ledger
from services.ledger.servicer import LedgerServicer
from services.ledger.settings import LedgerSettings
from services.runtime.jobs import PeriodicJob
from services.runtime.server import ServiceContext, ServiceSpec
from services.runtime.service_access import service_callers

log = logging.getLogger("nexafi.ledger")

SERVICE_NAME = ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"].full_name


def _sweep_expired(ledger: Ledger) -> None:
    """Releases lapsed pending transfers (access also releases them lazily) and forgets expired keys."""
    expired = ledger.expire_due()
    if expired:
        log.info("released %d expired pending transfers", expired)
    ledger.purge_expired_keys()


def register_with(server: grpc.Server, context: ServiceContext, settings: LedgerSettings) -> Sequence[str]:
    assert context.engine is not None
    notifier = FeedNotifier()
    ledger = Ledger(context.engine, notifier, settings=settings)
    sweep_seconds = settings.expiry_sweep_seconds
    servicer = LedgerServicer(ledger, hold_grace_seconds=max(60, 3 * sweep_seconds))
    ledger_pb2_grpc.add_LedgerServiceServicer_to_server(servicer, server)
    sweeper = PeriodicJob("ledger-expiry", float(sweep_seconds), lambda: _sweep_expired(ledger), log).start()
    ledger.sealer.start()
    # End change-feed streams first, so the server's grace period is not spent waiting on them.
    context.on_shutdown.append(notifier.close)
    context.on_shutdown.append(sweeper.stop)
    context.on_shutdown.append(ledger.sealer.stop)
    context.on_shutdown.append(ledger.direct.close)
    return [SERVICE_NAME]


# Who calls the ledger, and for what (least privilege; services.runtime.service_access). The accounts
# each may move money on are scoped by services/ledger/scopes.py.
SERVICE_CALLERS = service_callers(
    {
        # Wallets and clearing accounts; two-phase reservations; full refunds as reversals; spend limits.
        # Reconciliation reads the entries that name its payments (streamed in bulk, then by id).
        "payment": {
            "CreateAccount",
            "CreatePendingTransfer",
            "PostPendingTransfer",
            "VoidPendingTransfer",
            "GetPendingTransfer",
            "CreateTransaction",
            "ReverseTransaction",
            "GetTransaction",
            "BatchGetRelatedEntries",
            "ExportRelatedEntries",
        },
        # Loan and credit-line accounts: disbursements, repayments, limits; finding the user's wallet;
        # the loan reconciliation and the recovery of money in doubt read the entries naming a loan.
        "credit": {
            "CreateAccount",
            "GetAccount",
            "ListAccounts",
            "UpdateAccountLimit",
            "CreateTransaction",
            "BatchGetRelatedEntries",
        },
        # The change feed and what its reports need: an entry's accounts, the trial balance, and a new
        # user's accounts (the currency of their statement before any entry).
        "analytics": {"StreamTransactions", "GetAccount", "ListAccounts", "GetTrialBalance"},
    }
)


def spec_with(settings: LedgerSettings) -> ServiceSpec:
    """The ledger with these settings instead of the environment's."""
    return ServiceSpec(
        name="ledger",
        register=lambda server, context: register_with(server, context, settings),
        public_methods=frozenset(),
        service_callers=SERVICE_CALLERS,
    )


SPEC = ServiceSpec(
    name="ledger",
    register=lambda server, context: register_with(server, context, LedgerSettings.from_env()),
    public_methods=frozenset(),
    service_callers=SERVICE_CALLERS,
)
