"""Which ledger accounts each kind of payment reserves from and pays into.

Every kind is a two-phase ledger transfer (reserve, then post or void), so that
recovery handles all of them alike. Wallets are LIABILITY accounts (what
NexaFi owes the user), the clearing accounts are ASSET accounts for money held
at or in transit through the external gateway:

  TOP_UP    Dr external_clearing  / Cr payer wallet     (money arrives from the card or bank)
  TRANSFER  Dr payer wallet       / Cr payee wallet
  PAYOUT    Dr payer wallet       / Cr payout_clearing  (money leaves towards the bank)

A top-up reserves on the UNBOUNDED clearing account, so it never fails for
funds, and its pending credit shows on the wallet without being spendable until
the gateway confirms it. Refunds record the mirror image: a full refund is a
ledger reversal of the posted entry, a partial one a new REFUND entry for the
amount with the same accounts swapped.
"""

from __future__ import annotations

from enum import StrEnum

from services.payment.domain.states import Kind

# The ledger's vocabulary is the one of its shared client; the payment books a subset of it.
from services.runtime.ledger_client import AccountType, BalanceRule, EntryType


class Purpose(StrEnum):
    WALLET = "wallet"
    EXTERNAL_CLEARING = "external_clearing"
    PAYOUT_CLEARING = "payout_clearing"


SYSTEM_OWNER = "system"

#: The entry that books a payment of each kind.
ENTRY_TYPE = {
    Kind.TOP_UP: EntryType.DEPOSIT,
    Kind.TRANSFER: EntryType.TRANSFER,
    Kind.PAYOUT: EntryType.WITHDRAWAL,
}


def account_rules(purpose: Purpose) -> tuple[AccountType, BalanceRule]:
    """A wallet is what NexaFi owes its user and never goes below zero; a clearing account holds
    money at or in transit through the gateway and is unbounded."""
    if purpose is Purpose.WALLET:
        return AccountType.LIABILITY, BalanceRule.NON_NEGATIVE
    return AccountType.ASSET, BalanceRule.UNBOUNDED


def reservation_purposes(kind: Kind) -> tuple[Purpose, Purpose]:
    """(debit side, credit side) of the payment's reservation; the payer's or payee's wallet for WALLET."""
    if kind is Kind.TOP_UP:
        return Purpose.EXTERNAL_CLEARING, Purpose.WALLET
    if kind is Kind.TRANSFER:
        return Purpose.WALLET, Purpose.WALLET
    if kind is Kind.PAYOUT:
        return Purpose.WALLET, Purpose.PAYOUT_CLEARING
    raise ValueError(f"no postings for kind {kind!r}")


def step_request_id(payment_id: str, step: str) -> str:
    """The idempotency key of one ledger (or AI, or connector) step of a payment.

    Derived from our own record, so a retry or a recovery run of the same step
    sends the same key and the callee replays instead of acting twice.
    """
    return f"{payment_id}:{step}"
