"""The sandbox bureau: an in-process credit bureau that behaves like a real one in test mode.

The applicant's national id selects the test identity by its last four characters (after
upper-casing and dropping spaces, dots and hyphens), like the PSP sandbox's test cards:

  ======  =============================================================================
  0001    thin file: 4 months of history, 1 open account, nothing late (band FAIR)
  0002    defaults: 2 accounts in default, 5 late payments in 24 months (band POOR)
  0003    bureau down: the pull raises BureauUnavailable
  other   good history: 10 years, 4 open accounts, nothing late or in default (band VERY_GOOD)
  ======  =============================================================================

A report's reference is derived from the application id, so pulling again for the same
application returns the same report reference, as a bureau's idempotent inquiry would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from services.credit.bureau.base import BureauReport, BureauUnavailable, ScoreBand, normalize_national_id

THIN_FILE_SUFFIX = "0001"
DEFAULTS_SUFFIX = "0002"
DOWN_SUFFIX = "0003"
# The sandbox's thin-file rule, as a real bureau flags it: under a year of history or no open account.
THIN_FILE_HISTORY_MONTHS = 12


class SandboxBureau:
    name = "sandbox"

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))

    def pull(self, national_id: str, reference: str) -> BureauReport:
        normalized = normalize_national_id(national_id)
        suffix = normalized[-4:]
        if suffix == DOWN_SUFFIX:
            raise BureauUnavailable("the sandbox bureau is down for this test identity")
        report_ref = "sbxr_" + hashlib.sha256(f"{reference}:{normalized}".encode()).hexdigest()[:20]
        now = self._clock()
        if suffix == THIN_FILE_SUFFIX:
            return self._report(report_ref, ScoreBand.FAIR, 1, 0, 0, 1, 4, now)
        if suffix == DEFAULTS_SUFFIX:
            return self._report(report_ref, ScoreBand.POOR, 3, 5, 2, 4, 96, now)
        return self._report(report_ref, ScoreBand.VERY_GOOD, 4, 0, 0, 1, 120, now)

    def _report(
        self,
        reference: str,
        band: ScoreBand,
        open_accounts: int,
        delinquencies: int,
        defaults: int,
        inquiries: int,
        history_months: int,
        now: datetime,
    ) -> BureauReport:
        return BureauReport(
            bureau=self.name,
            reference=reference,
            score_band=band,
            open_accounts=open_accounts,
            delinquencies_24m=delinquencies,
            defaults=defaults,
            inquiries_6m=inquiries,
            history_months=history_months,
            thin_file=history_months < THIN_FILE_HISTORY_MONTHS or open_accounts == 0,
            pull_time=now,
        )
