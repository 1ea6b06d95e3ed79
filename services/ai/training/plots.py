"""PNG plots for the model cards (matplotlib, Agg backend, no timestamps in the
files so that a rerun writes the same bytes)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from services.ai.features import CATEGORIES


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9})
    return plt


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png", metadata={"Software": None})
    _pyplot().close(fig)


def fraud_curves(path: Path, y: np.ndarray, p: np.ndarray, review: float, decline: float) -> None:
    plt = _pyplot()
    fig, (ax_pr, ax_roc) = plt.subplots(1, 2, figsize=(10, 4))
    precision, recall, thresholds = precision_recall_curve(y, p)
    ax_pr.plot(recall, precision, color="tab:blue", lw=1.5)
    for name, t, color in (("review", review, "tab:orange"), ("decline", decline, "tab:red")):
        i = min(int(np.searchsorted(thresholds, t)), len(thresholds) - 1)
        ax_pr.scatter(
            [recall[i]],
            [precision[i]],
            color=color,
            zorder=3,
            label=f"{name} p>={t:.3f}: P={precision[i]:.2f} R={recall[i]:.2f}",
        )
    ax_pr.set(
        xlabel="recall", ylabel="precision", title="Precision-recall (test days)", xlim=(0, 1), ylim=(0, 1.02)
    )
    ax_pr.legend(loc="lower left")
    ax_pr.grid(alpha=0.3)
    fpr, tpr, _ = roc_curve(y, p)
    ax_roc.plot(fpr, tpr, color="tab:blue", lw=1.5)
    ax_roc.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test days)")
    ax_roc.grid(alpha=0.3)
    _save(fig, path)


def credit_curves(path: Path, y: np.ndarray, pd: np.ndarray, scores: np.ndarray) -> None:
    plt = _pyplot()
    fig, (ax_roc, ax_hist) = plt.subplots(1, 2, figsize=(10, 4))
    fpr, tpr, _ = roc_curve(y, pd)
    ax_roc.plot(fpr, tpr, color="tab:blue", lw=1.5)
    ax_roc.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC of PD (test applicants)")
    ax_roc.grid(alpha=0.3)
    bins = np.arange(300, 860, 10)
    ax_hist.hist(scores[y == 0], bins=bins, alpha=0.6, density=True, label="repaid", color="tab:green")
    ax_hist.hist(scores[y == 1], bins=bins, alpha=0.6, density=True, label="defaulted", color="tab:red")
    ax_hist.set(xlabel="score", ylabel="density", title="Score distribution by outcome")
    ax_hist.legend()
    _save(fig, path)


def trend_example(
    path: Path,
    series: np.ndarray,
    forecast: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    mape_by_day: Sequence[float],
) -> None:
    plt = _pyplot()
    fig, (ax, ax_h) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [2, 1]})
    h = len(forecast)
    n = len(series)
    days = np.arange(n)
    shown = days >= n - 70
    ax.plot(days[shown], series[shown] / 100.0, color="black", lw=1.0, label="actual")
    future = np.arange(n - h, n)
    ax.plot(future, forecast / 100.0, color="tab:blue", lw=1.5, label="forecast")
    ax.fill_between(future, lower / 100.0, upper / 100.0, color="tab:blue", alpha=0.2, label="80% interval")
    ax.axvline(n - h - 0.5, color="grey", lw=0.8, ls="--")
    ax.set(xlabel="day", ylabel="EUR", title="A held-out series: last 14 days forecast")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    ax_h.bar(np.arange(1, h + 1), mape_by_day, color="tab:blue")
    ax_h.set_xticks(np.arange(1, h + 1))
    ax_h.set(xlabel="days ahead", ylabel="MAPE (%)", title="Held-out MAPE by horizon")
    _save(fig, path)


def segment_heatmap(path: Path, centers: np.ndarray, labels: Sequence[str], sizes: Sequence[int]) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    shares = centers[:, : len(CATEGORIES)]
    im = ax.imshow(shares, aspect="auto", cmap="Blues")
    ax.set_xticks(np.arange(len(CATEGORIES)), labels=list(CATEGORIES), rotation=60, ha="right")
    ax.set_yticks(np.arange(len(labels)), labels=[f"{i}: n={s}" for i, s in enumerate(sizes)])
    ax.set_title("Segment centres: share of spending by category")
    fig.colorbar(im, ax=ax, fraction=0.03)
    _save(fig, path)
