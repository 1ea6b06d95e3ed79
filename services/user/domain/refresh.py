"""What a presented refresh token leads to: rotation, a grace re-issue, or a refusal.

Design of the reuse grace window: every refresh rotates the token (the old one
is marked rotated, a new one is issued in the same family). Presenting a
rotated token again is normally theft — an attacker and the owner both hold
it — so the whole family is revoked and both are logged out. But two tabs of
one browser that refresh at the same moment present the same token twice
within milliseconds; revoking then would log honest users out. So a rotated
token presented within ``grace`` of its rotation gets *the same* successor that
the rotation issued (with a fresh access token): the answer is idempotent, and
there is only ever one live chain per family. Handing out a second, independent
successor instead would let a thief replaying inside the window start a chain of
their own that rotates on undetected beside the owner's. The successor is kept
only encrypted under a key derived from the rotated token (see service.py), so
only a holder of that token can get it. The grace is measured from the rotation
and is not extended by replays; after it, reuse revokes the family.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum


class RefreshOutcome(Enum):
    ROTATE = "rotate"
    GRACE_REISSUE = "grace_reissue"
    REUSED = "reused"
    REVOKED = "revoked"
    EXPIRED = "expired"


def decide(
    *,
    now: datetime,
    expires_at: datetime,
    rotated_at: datetime | None,
    family_revoked: bool,
    grace: timedelta,
) -> RefreshOutcome:
    """The outcome for one presented token, from its stored state."""
    # A revoked family says nothing more about the token: report the revocation,
    # not a reuse (reuse detection already fired, or the user logged out).
    if family_revoked:
        return RefreshOutcome.REVOKED
    if rotated_at is not None:
        # Expiry does not matter inside the grace: the successor issued at the
        # rotation already has a fresh lifetime, so a re-issue extends nothing.
        if now - rotated_at <= grace:
            return RefreshOutcome.GRACE_REISSUE
        return RefreshOutcome.REUSED
    if now >= expires_at:
        return RefreshOutcome.EXPIRED
    return RefreshOutcome.ROTATE
