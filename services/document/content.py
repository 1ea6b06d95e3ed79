"""Reading stored content back: decryption, verification against the checksum, consistency checks.

Plaintext is released segment by segment as it is authenticated, but the last segment is
held back until the whole content matches its SHA-256 and size: a client never receives a
complete file that differs from what was uploaded.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import grpc
from sqlalchemy.engine import Engine

from services.document import crypto
from services.document import repository as repo
from services.document.access_log import trace_id
from services.document.domain import AccessAction, Version
from services.document.storage import ObjectMissing, Storage
from services.runtime.db import run_in_transaction
from services.runtime.errors import DomainError, NotFound

log = logging.getLogger("nexafi.document")


class DataLoss(DomainError):
    """Stored content is missing or no longer matches its checksum."""

    code = grpc.StatusCode.DATA_LOSS
    default_reason = "DATA_LOSS"


def purged(document_id: str) -> NotFound:
    return NotFound(f"the content of document {document_id} was purged", "DOCUMENT_PURGED")


class ContentReader:
    def __init__(self, engine: Engine, storage: Storage, keys: crypto.MasterKeys) -> None:
        self.engine = engine
        self.storage = storage
        self.keys = keys

    def plaintext(self, found: Version) -> Iterator[bytes]:
        """The verified plaintext of ``found`` in chunks; DataLoss or DOCUMENT_PURGED otherwise."""
        if found.wrapped_key is None:
            raise purged(found.document_id)
        return self._verified(found, found.wrapped_key)

    def _verified(self, found: Version, wrapped_key: bytes) -> Iterator[bytes]:
        context = found.object_key.encode()
        hasher = hashlib.sha256()
        size = 0
        try:
            decryptor = crypto.SegmentDecryptor(
                self.keys.unwrap(found.master_key_id, wrapped_key, context), context
            )
            for piece in self.storage.read(found.object_key):
                for plain in decryptor.update(piece):
                    hasher.update(plain)
                    size += len(plain)
                    yield plain
            last = decryptor.finish()
        except crypto.IntegrityError as exc:
            log.error("document %s v%d failed verification: %s", found.document_id, found.version, exc)
            raise self._loss(found, "no longer matches its checksum", "CHECKSUM_MISMATCH") from None
        except ObjectMissing:
            log.error(
                "document %s v%d: object %s is missing", found.document_id, found.version, found.object_key
            )
            raise self._loss(found, "is missing from storage", "CONTENT_MISSING") from None
        hasher.update(last)
        size += len(last)
        # The last segment is held back until the whole content is verified against its checksum.
        if hasher.hexdigest() != found.sha256 or size != found.size_bytes:
            log.error("document %s v%d: checksum mismatch", found.document_id, found.version)
            raise self._loss(found, "no longer matches its checksum", "CHECKSUM_MISMATCH")
        if last:
            yield last

    @staticmethod
    def _loss(found: Version, what: str, reason: str) -> DataLoss:
        return DataLoss(
            f"the stored content of document {found.document_id} version {found.version} {what}",
            reason,
            {"document_id": found.document_id, "version": str(found.version)},
        )

    def check(
        self, *, after: tuple[str, int] | None, limit: int, verify_checksums: bool
    ) -> tuple[list[Version], list[tuple[Version, str]]]:
        """The versions checked and those whose content is missing or fails verification."""
        versions = run_in_transaction(
            self.engine, lambda s: repo.stored_versions(s, after=after, limit=limit)
        )
        problems: list[tuple[Version, str]] = []
        for found in versions:
            if found.wrapped_key is None:
                continue
            if not verify_checksums:
                if not self.storage.exists(found.object_key):
                    problems.append((found, "CONTENT_MISSING"))
                continue
            try:
                for _ in self._verified(found, found.wrapped_key):
                    pass
            except DataLoss as exc:
                problems.append((found, exc.reason))
        return versions, problems

    def for_extraction(self, found: Version, actor: str) -> bytes:
        """The verified plaintext of ``found`` for extraction by ``actor``; the read is logged first.

        NotFound (DOCUMENT_PURGED) when the data key is destroyed, DataLoss when the stored
        content is missing or fails verification, exactly as a download would.
        """
        run_in_transaction(
            self.engine,
            lambda s: repo.add_event(
                s,
                found.document_id,
                found.version,
                AccessAction.DOWNLOAD,
                actor,
                trace_id(),
                "KYC extraction",
            ),
        )
        return b"".join(self.plaintext(found))

    def remove_quietly(self, object_key: str) -> None:
        try:
            self.storage.remove(object_key)
        except Exception:
            log.exception("could not remove object %s", object_key)
