"""Argon2id password hashing with explicit, configurable parameters.

Parameters come from the settings (``NEXAFI_ARGON2_*``, settings.py) so production
can raise them as hardware allows and tests can lower them; hashes made with
other parameters still verify and are upgraded at the next login
(``needs_rehash``).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Argon2Params:
    # RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes).
    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4


class PasswordHashing:
    """Hash, verify and decide on upgrades; also a dummy verify for unknown users."""

    def __init__(self, params: Argon2Params) -> None:
        self.params = params
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        # A real hash with the current parameters, of a random password nobody
        # knows: verifying against it costs exactly what a real check costs, so
        # an unknown login cannot be told apart from a wrong password by timing.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(32))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except VerifyMismatchError:
            return False
        except (InvalidHashError, VerificationError):
            log.warning("a stored password hash could not be verified (corrupt or unsupported)")
            return False

    def verify_dummy(self, password: str) -> None:
        """Spend the time of one verification and fail; for unknown users."""
        self.verify(self._dummy_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
