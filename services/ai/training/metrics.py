"""Evaluation metrics: ROC-AUC, average precision, card precision at top k per
day, KS, MAPE, and threshold selection on the precision-recall curve."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

ArrayLike = npt.ArrayLike


def roc_auc(y: ArrayLike, score: ArrayLike) -> float:
    return float(roc_auc_score(np.asarray(y), np.asarray(score, dtype=np.float64)))


def average_precision(y: ArrayLike, score: ArrayLike) -> float:
    return float(average_precision_score(np.asarray(y), np.asarray(score, dtype=np.float64)))


def ks_statistic(y: ArrayLike, score: ArrayLike) -> float:
    """Kolmogorov-Smirnov: the largest gap between the score CDFs of the two classes."""
    fpr, tpr, _ = roc_curve(np.asarray(y), np.asarray(score, dtype=np.float64))
    return float(np.max(tpr - fpr))


@dataclass(frozen=True)
class CardPrecision:
    """Card precision at top k per day, and the best achievable value (an oracle)."""

    k: int
    value: float
    oracle: float
    days: int
    mean_fraud_cards_per_day: float


def card_precision_top_k(
    day: ArrayLike, card: ArrayLike, y: ArrayLike, score: ArrayLike, k: int = 100
) -> CardPrecision:
    """CP@k: each day, alert the k cards with the highest transaction score;
    precision is the share of those cards with at least one fraud that day,
    averaged over days. Ties are broken by card id, so the result is deterministic.
    """
    d = np.asarray(day, dtype=np.int64)
    c = np.asarray(card, dtype=np.int64)
    yy = np.asarray(y, dtype=np.int64)
    s = np.asarray(score, dtype=np.float64)
    values: list[float] = []
    oracles: list[float] = []
    fraud_cards: list[int] = []
    for one_day in np.unique(d):
        rows = d == one_day
        cards, inverse = np.unique(c[rows], return_inverse=True)
        best = np.full(len(cards), -np.inf)
        np.maximum.at(best, inverse, s[rows])
        fraud = np.zeros(len(cards), dtype=np.int64)
        np.maximum.at(fraud, inverse, yy[rows])
        order = np.lexsort((cards, -best))[:k]
        values.append(float(fraud[order].sum()) / k)
        oracles.append(min(int(fraud.sum()), k) / k)
        fraud_cards.append(int(fraud.sum()))
    return CardPrecision(
        k=k,
        value=float(np.mean(values)) if values else 0.0,
        oracle=float(np.mean(oracles)) if oracles else 0.0,
        days=len(values),
        mean_fraud_cards_per_day=float(np.mean(fraud_cards)) if fraud_cards else 0.0,
    )


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float
    precision: float
    recall: float
    alert_rate: float


def operating_point(y: ArrayLike, score: ArrayLike, threshold: float) -> OperatingPoint:
    """Precision and recall of flagging ``score >= threshold``."""
    yy = np.asarray(y, dtype=np.int64)
    flagged = np.asarray(score, dtype=np.float64) >= threshold
    tp = int(np.sum(flagged & (yy == 1)))
    n_flagged = int(flagged.sum())
    positives = int(yy.sum())
    return OperatingPoint(
        threshold=float(threshold),
        precision=tp / n_flagged if n_flagged else 1.0,
        recall=tp / positives if positives else 0.0,
        alert_rate=n_flagged / len(yy) if len(yy) else 0.0,
    )


def threshold_for_precision(
    y: ArrayLike, score: ArrayLike, target_precision: float, min_alerts: int = 20
) -> float | None:
    """The lowest threshold whose precision is at least ``target_precision`` (so the
    highest recall at that precision), among thresholds flagging at least
    ``min_alerts`` rows. None when no threshold reaches the target."""
    yy = np.asarray(y, dtype=np.int64)
    s = np.asarray(score, dtype=np.float64)
    precision, _, thresholds = precision_recall_curve(yy, s)
    precision = precision[:-1]
    flagged = len(s) - np.searchsorted(np.sort(s), thresholds, side="left")
    ok = (precision >= target_precision) & (flagged >= min_alerts)
    if not bool(ok.any()):
        return None
    return float(thresholds[np.flatnonzero(ok)[0]])


def mape(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Mean absolute percentage error, in percent, over non-zero actual values."""
    a = np.asarray(actual, dtype=np.float64).reshape(-1)
    p = np.asarray(predicted, dtype=np.float64).reshape(-1)
    nz = a != 0
    return float(np.mean(np.abs(a[nz] - p[nz]) / np.abs(a[nz])) * 100.0)
