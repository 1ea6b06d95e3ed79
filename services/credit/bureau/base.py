"""The connector interface between the credit service and a credit bureau.

Adding a real bureau connector
------------------------------
1. Implement :class:`Bureau` in ``services/credit/bureau/<bureau>.py``:

   * ``pull(national_id, reference)`` asks the bureau for the applicant's report (a hard
     inquiry, made only with the applicant's consent, which the service checks before it
     calls). ``reference`` is our application id: send it as the bureau's inquiry reference
     so a disputed inquiry can be traced to the application. Return :class:`BureauReport`
     (``thin_file`` when the bureau holds too little history to judge, including no file at
     all). Raise :class:`BureauUnavailable` when the bureau cannot be reached or does not
     answer in time: the application then goes to an underwriter, never approved blind and
     never rejected for our outage. Never log the national id or put it in an exception.
2. Register it in ``services/credit/spec.py`` (``build_bureau``) under its name and select it
   with ``CREDIT_BUREAU``.
3. Keep its secrets in environment variables named ``CREDIT_BUREAU_<NAME>_...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Protocol


class ScoreBand(IntEnum):
    """The bureau's own score band; numbers match the proto's CreditScoreBand."""

    POOR = 1
    FAIR = 2
    GOOD = 3
    VERY_GOOD = 4
    EXCEPTIONAL = 5


class BureauError(Exception):
    """Base of bureau failures; messages never hold the national id."""


class BureauUnavailable(BureauError):
    """The bureau could not be reached or did not answer in time; no report was obtained."""


@dataclass(frozen=True)
class BureauReport:
    """What the bureau reports about an applicant at ``pull_time``."""

    bureau: str  # the connector's name
    reference: str  # the bureau's id of this report (inquiry)
    score_band: ScoreBand
    open_accounts: int
    delinquencies_24m: int  # payments 30+ days late in the last 24 months
    defaults: int  # accounts in default, charged off or in collection
    inquiries_6m: int  # hard inquiries in the last 6 months, this one excluded
    history_months: int  # age of the oldest account
    thin_file: bool  # too little history to judge (or no file at all)
    pull_time: datetime


class Bureau(Protocol):
    """One credit bureau. Implementations must be thread-safe."""

    name: str

    def pull(self, national_id: str, reference: str) -> BureauReport: ...


def normalize_national_id(value: str) -> str:
    """The id as bureaus match it: upper case, without spaces, dots or hyphens."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


def mask_national_id(value: str) -> str:
    """What is stored and shown of a national id: its last four characters."""
    normalized = normalize_national_id(value)
    return "*" * max(0, len(normalized) - 4) + normalized[-4:]
