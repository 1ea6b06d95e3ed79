"""The credit score's contract around the model: bands, reasons shown, the utilization stand-in."""

from __future__ import annotations

MAX_CREDIT_REASONS = 4
#: Stand-in revolving limit: the contract gives utilization as a ratio (basis points),
#: the features take balance / limit, so balance = utilization_bps over a limit of 10000.
UTILIZATION_LIMIT = 10_000

# Credit bands of the contract (inclusive lower bounds).
CREDIT_BANDS: tuple[tuple[int, str], ...] = (
    (800, "exceptional"),
    (740, "very_good"),
    (670, "good"),
    (580, "fair"),
    (300, "poor"),
)


def credit_band(score: int) -> str:
    for lower, band in CREDIT_BANDS:
        if score >= lower:
            return band
    return "poor"
