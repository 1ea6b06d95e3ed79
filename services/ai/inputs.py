"""Where the AI service's inputs come from, and reading a user's history from them.

* **Fraud history.** The velocity and novelty features need the customer's
  recent transactions. The service keeps its own history: every transaction
  submitted to CheckFraud is stored in ``checked_transactions`` (amount, time,
  merchant, category, country, device, decision). A user's history is therefore
  "the transactions previously checked for that user"; a ledger-feed consumer
  could fill the same table later without changing the features.
* **Merchant and category risk.** The contract has no way to report confirmed
  fraud outcomes yet, so there are no serving-side labels for
  ``DelayedLabelIndex``. Category risk uses the label-delayed category counts
  at the end of the training data (``metadata.json`` ``risk``); every merchant
  is "unknown" (zero counts), so merchant risk falls back to its category's
  rate, which is what the features define for a merchant without labelled history.
* **Spending profile and spending series** (recommendations, PredictTrend
  SPENDING) come from the same table, without declined attempts. The
  recommendations' amounts per category come from analytics instead
  (``GetSpendingAnalysis`` over the profile window and its last 30 days: booked
  ledger entries, categorized by the merchant category payments record on
  them) when analytics has spending in a model category for the user; the
  recurring charges still come from the checked table (they need each
  transaction's merchant), and when analytics has none or cannot be reached
  the profile rests on the checked table alone.
* **Balance and income series** (PredictTrend BALANCE and INCOME) come from the
  analytics service (``GetDashboardSeries``, daily, in the request's currency),
  which builds them from the ledger feed: the AI service only sees outgoing
  money. Analytics is called with the AI service's own identity
  (``services.ai.clients``); when it cannot be reached the forecast answers
  UNAVAILABLE ``HISTORY_UNAVAILABLE`` and every other RPC is unaffected.
  A user's history starts on the first day in the window with a non-zero
  balance, spending or income (analytics answers zeros for a user without
  ledger activity, so that user has no history). Analytics serves at most
  366 daily periods per call, so a longer ``lookback_days`` reads the last 366:
  the model reads only the last 56.
* **No history yet.** A user's first check has an empty history. The features
  say so explicitly (feature set 2: ``has_history``, ``history_span_log``, and
  novelty flags that are 0 when there is nothing to compare with), and the
  model (fraud 1.1.0) was trained with an onboarding cohort of new customers.
  Older model versions get the feature set they were trained on.
* **Currencies.** The fraud model was trained on EUR cents. An amount in
  another currency is converted with the service's own dated rate table
  (``services.ai.fx``, decimal arithmetic, each currency's minor-unit
  exponent); the assessment records the rate and the table's date (not the
  converted amount: the audit log keeps no inputs). History rows are
  converted the same way at their own time, so a customer paying in USD and
  GBP has one consistent history.
* **Kind of payment.** The channel says what the platform's payment is: a
  wallet top-up, a transfer to another customer, a payout (bank transfer) or a
  card purchase (card present or not, ATM, direct debit). Fraud 1.2.0 (feature
  set 3) was trained on all four; the counterparty (merchant, payee or the
  funding payment method) feeds the "new counterparty" feature.
* **Time zone.** The request's ``time_zone`` (IANA name) gives the local hour
  of the transaction and of each history row at its own instant (daylight
  saving time included); without one, UTC. The payment service passes the time
  zone the app sent with the payment (the user service keeps none).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from services.ai import features
from services.ai import repository as repo
from services.ai.clients import MAX_DAYS_PER_CALL, UnexpectedSeries
from services.ai.forecasting import (
    ANALYTICS_METRICS,
    HistorySource,
    TrendSource,
    first_active_day,
    user_daily_series,
)
from services.runtime.clients import RemoteError
from services.runtime.config import ConfigError
from services.runtime.db import UnitOfWork
from services.runtime.errors import Unavailable

log = logging.getLogger("nexafi.ai")

SECONDS_PER_DAY = features.SECONDS_PER_DAY


def booked_spending(
    history: HistorySource | None, user_id: str, currency: str, now: datetime
) -> tuple[dict[str, int], dict[str, int]] | None:
    """The user's booked spending per model category from analytics (the ledger's entries,
    categorized by the merchant category payments record on them): over the profile window and
    over its recent part. None when analytics has none in a model category or cannot answer; the
    profile then rests on the checked-transaction history alone."""
    if history is None:
        return None
    end = int(now.timestamp()) + 1
    try:
        window = history.spending_by_category(
            user_id, currency, end - features.PROFILE_WINDOW_DAYS * SECONDS_PER_DAY, end
        )
        recent = history.spending_by_category(
            user_id, currency, end - features.RECENT_DAYS * SECONDS_PER_DAY, end
        )
    except (RemoteError, ConfigError) as exc:
        log.warning("booked spending of %s unavailable from analytics: %s", user_id, exc)
        return None
    known = {c: v for c, v in window.items() if c in features.CATEGORIES and v > 0}
    if not known:
        return None
    return known, {c: v for c, v in recent.items() if c in known}


def user_series(
    read: UnitOfWork,
    history: HistorySource | None,
    source: TrendSource,
    currency: str,
    now: datetime,
    minimum: int,
) -> tuple[list[int], int]:
    # Complete days only: today is still running.
    last_day = int(now.timestamp()) // SECONDS_PER_DAY - 1
    first_day = last_day - source.lookback_days + 1
    if source.metric == "SPENDING":
        with read() as session:
            first = repo.first_checked_time(session, source.user_id, currency)
            by_day = repo.daily_spending(session, source.user_id, currency, first_day, last_day)
        first_active = None if first is None else int(first.timestamp()) // SECONDS_PER_DAY
    else:
        first_day = max(first_day, last_day - MAX_DAYS_PER_CALL + 1)
        figures = analytics_history(history, source.user_id, currency, first_day, last_day)
        by_day = dict(figures.get(source.metric, {}))
        first_active = first_active_day(figures)
    return user_daily_series(source.metric, by_day, first_day, last_day, first_active, minimum), last_day


def analytics_history(
    history: HistorySource | None, user_id: str, currency: str, first_day: int, last_day: int
) -> Mapping[str, Mapping[int, int]]:
    """The user's daily figures from analytics, else UNAVAILABLE ``HISTORY_UNAVAILABLE``."""

    def unavailable(why: str) -> Unavailable:
        return Unavailable(
            f"the user's history cannot be read from the analytics service ({why}); retry later",
            "HISTORY_UNAVAILABLE",
            {"service": "analytics"},
        )

    if history is None:
        raise unavailable("no analytics client is configured")
    try:
        return history.daily(user_id, ANALYTICS_METRICS, currency, first_day, last_day)
    except RemoteError as exc:
        if not exc.unreachable:
            # Analytics refused the AI service's own, well-formed request: a deployment problem.
            log.error("analytics refused the history of %s: %s", user_id, exc)
        raise unavailable(exc.code.name) from None
    except ConfigError as exc:
        log.error("cannot call analytics: %s", exc)
        raise unavailable("the AI service has no service credentials") from None
    except UnexpectedSeries as exc:
        log.error("analytics answered unreadable series for %s: %s", user_id, exc)
        raise unavailable("unreadable answer") from None
