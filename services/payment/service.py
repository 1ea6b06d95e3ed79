"""The payment service's use cases, wired once: the servicer and the spec reach each through it.

Each use case is its own module: ``initiation``, ``execution`` (driving a payment through its
steps), ``status_changes`` (review decisions, cancellations), ``refunds``, ``callbacks``,
``recovery``, ``methods``, ``queries`` and ``reconciliation``, sharing ``store`` (transactions,
leases, transitions), ``accounts`` (ledger accounts), ``fraud`` and ``remote_errors``.

Time: every "now" the service decides with comes from its injected clock (the fraud
check's transaction time, the stamps on payments, refunds and methods, the daily limit's
24-hour window, recovery ages, card expiry, callback signature age), and the SQL compares
those stamps with the clock's time passed as a parameter, never with the database's
``now()``. Leases and idempotency locks are the exception: they coordinate replicas, so
they are set and compared on the database's clock alone.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from services.payment.accounts import LedgerAccounts
from services.payment.callbacks import Callbacks
from services.payment.clients import Clients
from services.payment.config import Config
from services.payment.connectors.base import Connector
from services.payment.execution import PaymentDriver
from services.payment.fraud import FraudCheck
from services.payment.initiation import Initiation
from services.payment.methods import PaymentMethods
from services.payment.queries import PaymentQueries
from services.payment.recovery import Recovery
from services.payment.refunds import Refunds
from services.payment.status_changes import StatusChanges
from services.payment.store import PaymentStore
from services.runtime.clock import Clock, system_clock


class PaymentService:
    def __init__(
        self,
        engine: Engine,
        clients: Clients,
        connectors: dict[str, Connector],
        config: Config,
        default_connector: str = "sandbox",
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.clients = clients
        self.connectors = connectors
        self.config = config
        self.limits = config.limits
        store = PaymentStore(engine, clock, config.lease_seconds)
        accounts = LedgerAccounts(store, clients.ledger)
        driver = PaymentDriver(
            store, clients.ledger, FraudCheck(clients.ai), connectors, config.fraud_unavailable_policy
        )
        self.payments = PaymentQueries(store)
        self.initiation = Initiation(store, accounts, driver, clients.users, config.limits, default_connector)
        self.status_changes = StatusChanges(store, driver)
        self.refunds = Refunds(store, clients.ledger, connectors)
        self.callbacks = Callbacks(store, driver, connectors)
        self.recovery = Recovery(store, driver, self.refunds, connectors, config.processing_max_age_seconds)
        self.methods = PaymentMethods(store, accounts, connectors, default_connector)
