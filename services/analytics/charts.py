"""Charts rendered on the server with matplotlib's Agg (PNG) and SVG backends, never pyplot.

Pictures only: amounts arrive as integer minor units and are drawn in major units (a float
is fine for a bar's height; the figures themselves are in the JSON and CSV). Output is
deterministic for the same data: a fixed size and font (DejaVu Sans, shipped inside
matplotlib: nothing is downloaded), no timestamps or software versions in the files, and a
fixed salt for the SVG element ids. matplotlib's global state is not thread-safe, so one
lock serializes rendering in the threaded gRPC server.
"""

from __future__ import annotations

import enum
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # before anything could pick an interactive backend

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from services.runtime.money import CURRENCY_EXPONENTS

matplotlib.rcParams.update(
    {
        "svg.hashsalt": "nexafi",
        "font.family": "DejaVu Sans",
        "font.size": 11,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)

WIDTH_PX, HEIGHT_PX, DPI = 1200, 675, 100
_LOCK = threading.Lock()
_COLORS = ("#1f6feb", "#d1495b", "#2a9d8f", "#e9c46a", "#6d597a")


class ImageFormat(enum.IntEnum):
    """The contract's ImageFormat numbers (unspecified resolved to PNG before this)."""

    PNG = 1
    SVG = 2

    @property
    def content_type(self) -> str:
        return "image/png" if self is ImageFormat.PNG else "image/svg+xml"


@dataclass(frozen=True)
class Series:
    """One named row of values: minor units of ``currency``, or plain counts when currency is None."""

    name: str
    values: Sequence[int]


def major(amount_minor: int, currency: str | None) -> float:
    if currency is None:
        return float(amount_minor)
    return amount_minor / 10 ** CURRENCY_EXPONENTS.get(currency, 2)


def period_label(start: datetime) -> str:
    return start.strftime("%Y-%m-%d")


def _figure(title: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontweight="bold")
    axes.grid(axis="y", alpha=0.3)
    return figure, axes


def _save(figure: Figure, image_format: ImageFormat) -> bytes:
    out = io.BytesIO()
    if image_format is ImageFormat.PNG:
        figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    else:
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return out.getvalue()


def _unit(currency: str | None) -> str:
    return currency if currency is not None else "entries"


def bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    currency: str | None,
    image_format: ImageFormat,
    *,
    horizontal: bool = False,
    line: Series | None = None,
) -> bytes:
    """Grouped bars, one group per label and one bar per series; ``line`` is drawn over them."""
    with _LOCK:
        figure, axes = _figure(title)
        count = max(len(series), 1)
        width = 0.8 / count
        positions = list(range(len(labels)))
        for index, item in enumerate(series):
            offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
            heights = [major(v, currency) for v in item.values]
            color = _COLORS[index % len(_COLORS)]
            if horizontal:
                axes.barh(offsets, heights, width, label=item.name, color=color)
            else:
                axes.bar(offsets, heights, width, label=item.name, color=color)
        if line is not None:
            axes.plot(
                positions,
                [major(v, currency) for v in line.values],
                marker="o",
                color="#222222",
                label=line.name,
            )
        if horizontal:
            axes.set_yticks(positions, labels)
            axes.invert_yaxis()
            axes.set_xlabel(_unit(currency))
        else:
            axes.set_xticks(
                positions,
                labels,
                rotation=45 if len(labels) > 6 else 0,
                ha="right" if len(labels) > 6 else "center",
            )
            axes.set_ylabel(_unit(currency))
        if len(series) > 1 or line is not None:
            axes.legend(loc="best")
        return _save(figure, image_format)


def lines(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    currency: str | None,
    image_format: ImageFormat,
) -> bytes:
    """One line per series over the labels (periods in time order)."""
    with _LOCK:
        figure, axes = _figure(title)
        positions = list(range(len(labels)))
        for index, item in enumerate(series):
            axes.plot(
                positions,
                [major(v, currency) for v in item.values],
                marker="o",
                label=item.name,
                color=_COLORS[index % len(_COLORS)],
            )
        step = max(1, len(labels) // 12)
        axes.set_xticks(positions[::step], labels[::step], rotation=45, ha="right")
        axes.set_ylabel(_unit(currency))
        axes.axhline(0, color="#888888", linewidth=0.8)
        axes.legend(loc="best")
        return _save(figure, image_format)
