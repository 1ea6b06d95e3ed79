"""The hash chain: each entry's hash covers its canonical content and its predecessor's hash.

The canonical form is JSON with sorted keys, no insignificant whitespace, UTF-8,
integers for money and time (microseconds since the epoch), and enum *names*,
so it does not depend on driver formatting, float rendering or proto numbering.
Changing it is a format change: old chains would no longer verify.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.ledger.domain.model import Entry

GENESIS_HASH = "0" * 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_micros(moment: datetime) -> int:
    """Exact microseconds since the epoch (integer arithmetic, no float)."""
    if moment.tzinfo is None:
        raise ValueError("timestamps in the chain must be timezone-aware")
    return (moment - _EPOCH) // _MICROSECOND


def canonical_content(entry: Entry) -> bytes:
    """The bytes that an entry's hash covers, except the previous hash."""
    document = {
        "v": 1,
        "id": entry.id,
        "sequence": entry.sequence,
        "user_id": entry.user_id,
        "type": entry.type.name,
        "description": entry.description,
        "related_entity_id": entry.related_entity_id,
        "amount_minor": entry.amount_minor,
        "currency": entry.currency,
        "metadata": dict(entry.metadata),
        "request_id": entry.request_id,
        "reverses_id": entry.reverses_id or "",
        "pending_transfer_id": entry.pending_transfer_id or "",
        "time_us": epoch_micros(entry.create_time),
        "postings": [[p.account_id, p.direction.name, p.amount_minor, p.currency] for p in entry.postings],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(previous_hash: str, entry: Entry) -> str:
    """SHA-256 (hex) of the previous hash and the entry's canonical content."""
    digest = hashlib.sha256()
    digest.update(previous_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_content(entry))
    return digest.hexdigest()


@dataclass(frozen=True)
class ChainReport:
    valid: bool
    entries_checked: int
    first_broken_id: str = ""
    first_broken_sequence: int = 0
    detail: str = ""


class ChainVerifier:
    """Checks entries fed in sequence order; stops at the first broken link."""

    def __init__(self) -> None:
        self.previous_hash = GENESIS_HASH
        self.expected_sequence = 1
        self.checked = 0
        self.broken: ChainReport | None = None

    def feed(self, entries: Iterable[Entry]) -> bool:
        """Check more entries; False once a broken link is found."""
        for entry in entries:
            problem = self._problem(entry)
            if problem:
                self.checked += 1
                self.broken = ChainReport(False, self.checked, entry.id, entry.sequence, problem)
                return False
            self.previous_hash = entry.hash
            self.expected_sequence += 1
            self.checked += 1
        return True

    def _problem(self, entry: Entry) -> str:
        if entry.sequence != self.expected_sequence:
            return f"sequence gap: expected {self.expected_sequence}, found {entry.sequence}"
        if entry.previous_hash != self.previous_hash:
            return "previous hash does not match the preceding entry's hash"
        if entry_hash(entry.previous_hash, entry) != entry.hash:
            return "content hash does not match the entry's content"
        return ""

    def report(self) -> ChainReport:
        return self.broken or ChainReport(True, self.checked)
