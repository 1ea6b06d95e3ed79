"""The ledger's settings, read from the environment once, in spec.py, and passed in.

* ``LEDGER_DIRECT_CONNECTIONS`` (16): autocommit connections of the one-round-trip write path.
* ``LEDGER_SEAL_WAIT_MS`` (2000): how long a write waits for its entries' seal; 0 returns at commit.
* ``LEDGER_SEAL_IN_WRITE`` (on): seal inside the writer's transaction when the head is free;
  ``off`` always commits first and seals in a pass after commit.
* ``LEDGER_EXPIRY_SWEEP_SECONDS`` (5): period of the sweep that releases lapsed holds.
* ``LEDGER_IDEMPOTENCY_RETENTION_HOURS`` (720, 30 days): how long a request_id replays its first
  response. Longer than the contract's default 24: callers key account openings and money
  movements they may retry from recovery jobs days later, and an expired key executes again.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.runtime.config import ConfigError, env_int, env_str


@dataclass(frozen=True)
class LedgerSettings:
    direct_connections: int = 16
    seal_wait_seconds: float = 2.0
    seal_in_write: bool = True
    expiry_sweep_seconds: int = 5
    idempotency_retention_hours: int = 720

    @classmethod
    def from_env(cls) -> LedgerSettings:
        seal_in_write = (env_str("LEDGER_SEAL_IN_WRITE", "on") or "on").lower()
        if seal_in_write not in ("on", "off"):
            raise ConfigError(f"LEDGER_SEAL_IN_WRITE must be on or off, got {seal_in_write!r}")
        return cls(
            direct_connections=env_int("LEDGER_DIRECT_CONNECTIONS", 16, minimum=1, maximum=256),
            seal_wait_seconds=env_int("LEDGER_SEAL_WAIT_MS", 2000, minimum=0, maximum=60_000) / 1000,
            seal_in_write=seal_in_write == "on",
            expiry_sweep_seconds=env_int("LEDGER_EXPIRY_SWEEP_SECONDS", 5, minimum=1, maximum=3600),
            idempotency_retention_hours=env_int(
                "LEDGER_IDEMPOTENCY_RETENTION_HOURS", 720, minimum=1, maximum=24 * 366
            ),
        )
