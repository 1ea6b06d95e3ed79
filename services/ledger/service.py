"""The ledger's service layer: what the gRPC adapter calls, one module per group of use cases.

Each use case is a transaction script over the repository and the domain rules; the lock
order they share and the idempotency keys are described in services/ledger/core.py.
"""

from __future__ import annotations

from services.ledger.batches import BatchUseCases
from services.ledger.commands import NewAccount, NewPendingTransfer
from services.ledger.feed import FeedNotifier
from services.ledger.reports import BooksReport, ReportUseCases, Statement
from services.ledger.transfers import TransferUseCases

__all__ = ["BooksReport", "FeedNotifier", "Ledger", "NewAccount", "NewPendingTransfer", "Statement"]


class Ledger(ReportUseCases, BatchUseCases, TransferUseCases):
    """Accounts and reports, journal entries (single and batched), two-phase transfers."""
