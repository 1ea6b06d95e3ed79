"""Credit scores: reading them and refreshing one with the AI service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from services.credit import repository as repo
from services.credit.domain.model import (
    Financials,
    Score,
)
from services.credit.shared import CreditCore, key_digest, unavailable
from services.runtime.clients import RemoteError
from services.runtime.db import run_in_transaction
from services.runtime.errors import (
    InvalidArgument,
    NotFound,
    Unavailable,
)
from services.runtime.idempotency import Claim
from services.runtime.ids import new_id


class ScoreUseCases(CreditCore):
    def get_score(self, user_id: str) -> Score:
        score = run_in_transaction(self.engine, lambda s: repo.latest_score(s, user_id))
        if score is None:
            raise NotFound(f"user {user_id} has no credit score yet", "CREDIT_SCORE_NOT_FOUND")
        return score

    def list_scores(
        self, where: repo.ScoreFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[Score]:
        return run_in_transaction(self.engine, lambda s: repo.list_scores(s, where, after, limit))

    def refresh_score(self, claim: Claim, user_id: str, financials: Financials | None) -> Score:
        if claim.resource_id:
            # An earlier attempt with this key stored the score, then died before answering.
            stored = run_in_transaction(self.engine, lambda s: repo.get_score(s, claim.resource_id))
            if stored is not None:
                return stored
        try:
            if not self.clients.users.exists(user_id):
                raise NotFound(f"user {user_id} not found", "USER_NOT_FOUND")
        except RemoteError as exc:
            raise unavailable(exc) from None
        if financials is None:
            financials = run_in_transaction(self.engine, lambda s: repo.latest_financials(s, user_id))
            if financials is None:
                raise InvalidArgument(
                    "the user has no loan application to take financials from",
                    field="financials",
                    description="is required when the user has no loan application",
                )
        try:
            # Derived from the caller's key, so a retry re-reads the same inference.
            result = self._score(
                f"credit:refresh:{key_digest(claim.scope, claim.key)}", user_id, "", financials, 0
            )
        except RemoteError as exc:
            raise Unavailable(
                "the credit scoring model cannot be reached; retry with the same request_id",
                "SCORING_UNAVAILABLE",
            ) from exc
        score = Score(
            new_id("cs"),
            user_id,
            result.score,
            result.default_probability_bps,
            result.reasons,
            result.model_version,
            self.clock(),
        )

        def work(session: Session) -> None:
            repo.insert_score(session, score)
            self.idempotency.attach(session, claim, score.id)

        run_in_transaction(self.engine, work)
        return score
