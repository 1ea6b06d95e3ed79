"""The ledger's tables and queries, used only inside a unit of work (a Session in a transaction).

Plain SQL through SQLAlchemy Core ``text``: the statements are few, hot and
PostgreSQL-specific (row locks, ON CONFLICT, multi-row VALUES), and spelling
them out keeps the exact lock order visible. One module per group of tables;
the service reads them all through this package.
"""

from services.ledger.repository.accounts import (
    AccountView,
    account_not_found,
    account_posted_as_of,
    account_view,
    balance_states,
    database_now,
    get_account,
    insert_account,
    list_accounts,
    posted_as_of,
    save_balances,
    update_account_limit,
)
from services.ledger.repository.books import (
    BalanceDrift,
    balance_drifts,
    currency_totals,
    entries_of_type,
    holds_past_expiry,
    related_entries,
    related_pending,
    trial_balance,
)
from services.ledger.repository.entries import (
    EntryFilter,
    PostOutcome,
    PostResult,
    account_movements,
    append_entries,
    entries_after,
    entry_item,
    get_entry,
    iter_chain,
    list_entries,
    post_entries,
    post_entries_open,
    recorded_entry,
    reversal_of,
    with_seals,
)
from services.ledger.repository.pending import due_pending_ids, get_pending, insert_pending, update_pending

__all__ = [
    "AccountView",
    "BalanceDrift",
    "EntryFilter",
    "PostOutcome",
    "PostResult",
    "account_movements",
    "account_not_found",
    "account_posted_as_of",
    "account_view",
    "append_entries",
    "balance_drifts",
    "balance_states",
    "currency_totals",
    "database_now",
    "due_pending_ids",
    "entries_after",
    "entries_of_type",
    "entry_item",
    "get_account",
    "get_entry",
    "get_pending",
    "holds_past_expiry",
    "insert_account",
    "insert_pending",
    "iter_chain",
    "list_accounts",
    "list_entries",
    "post_entries",
    "post_entries_open",
    "posted_as_of",
    "recorded_entry",
    "related_entries",
    "related_pending",
    "reversal_of",
    "save_balances",
    "trial_balance",
    "update_account_limit",
    "update_pending",
    "with_seals",
]
