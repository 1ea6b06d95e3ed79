"""Which service calls which, declared once.

Everything that depends on the mesh's shape reads it from here: the dev stack (which services
get a client secret, the order it lists and starts them in), the clients (a service opens
channels only to the services it is declared to call), the Kubernetes generator (the client
secrets in each Deployment's environment and the NetworkPolicies, exactly these paths) and the
tests, which check that each callee's ``SERVICE_CALLERS`` (its spec) allows exactly the services
declared to call it, and that no service imports the stub of a service it is not declared to call.

Every service that calls another calls the user service too: it fetches its own token there
(``IssueServiceToken``) and reads the revocation feed (``services/runtime/revocation.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

USER = "user"

# Caller -> the services it calls. Keys: every service of the mesh, in the order of their ports.
CALLS: Mapping[str, frozenset[str]] = {
    "user": frozenset(),
    # Money through the ledger; the fraud check before it moves; does the payee exist?
    "payment": frozenset({"user", "ledger", "ai"}),
    # Only the revocation feed, for its own token verifier.
    "ledger": frozenset({"user"}),
    # Loan accounts and disbursements in the ledger; the credit score; does the borrower exist?
    "credit": frozenset({"user", "ledger", "ai"}),
    # The ledger's change feed and accounts; the loan book.
    "analytics": frozenset({"user", "ledger", "credit"}),
    # The balance and spending series behind trends and recommendations.
    "ai": frozenset({"user", "analytics"}),
    # Only the revocation feed, for its own token verifier.
    "document": frozenset({"user"}),
}

SERVICES: tuple[str, ...] = tuple(CALLS)
# The services with an identity of their own (a client id and secret at the user service).
CALLING_SERVICES: tuple[str, ...] = tuple(s for s in SERVICES if CALLS[s])


def callees(service: str) -> frozenset[str]:
    """The services ``service`` calls."""
    return CALLS[service]


def callers(service: str) -> frozenset[str]:
    """The services that call ``service``."""
    return frozenset(caller for caller, called in CALLS.items() if service in called)


def start_order(services: Iterable[str] = SERVICES) -> list[str]:
    """``services`` with every service after those it calls, where the graph allows it.

    The graph has a cycle (credit → ai → analytics → credit), so no order puts every callee
    first: what is left when no service has all its callees placed goes together, in port
    order. (The dev stack starts them at once anyway; a caller finds its peers when it first
    calls.)"""
    wanted = [s for s in SERVICES if s in set(services)]
    placed: list[str] = []
    while len(placed) < len(wanted):
        ready = [s for s in wanted if s not in placed and CALLS[s] & set(wanted) <= set(placed)]
        placed += ready or [s for s in wanted if s not in placed]
    return placed
