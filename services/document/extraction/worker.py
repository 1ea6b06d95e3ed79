"""The background worker that moves versions out of EXTRACTION_STATUS_PENDING.

One thread per process polls the queue (``repository.claim_extraction``: the oldest PENDING
version, or a RUNNING one whose claim is older than the RUNNING timeout because its worker
died), with FOR UPDATE SKIP LOCKED so several replicas share the queue without taking the same
version. The claim commits RUNNING before the slow part, so a crash leaves a RUNNING version
that another poll re-claims after the timeout; a version whose extraction crashed the worker
``max_attempts`` times is FAILED (EXTRACTION_ABANDONED) instead of retried forever. The result
is written only while the claim still holds (its attempt number is the token).

Passports in PNG or JPEG are read through the same decryption and checksum verification as a
download (the read is recorded in the access audit log, actor ``document``), OCR'd and their
MRZ verified (``mrz.py``). Results: SUCCEEDED with ``extracted_fields``, or FAILED with one of
the ``extraction_error`` codes below. Neither the recognized text nor the fields are logged:
logs name the document, the version and the outcome code only.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from services.document import repository as repo
from services.document.domain import EXTRACTABLE_MEDIA, EXTRACTED_TYPES, ExtractionStatus, Version
from services.document.extraction.mrz import PassportMrz
from services.document.extraction.ocr import OcrEngine, UnreadableImage, decode_image
from services.document.extraction.passport import read_passport
from services.document.service import DocumentService
from services.document.settings import ExtractionSettings
from services.runtime import metrics
from services.runtime.clock import Clock, system_clock
from services.runtime.db import run_in_transaction
from services.runtime.errors import DomainError

log = logging.getLogger("nexafi.document.extraction")

QUEUE = metrics.gauge(
    "nexafi_document_extraction_queue",
    "Document versions waiting for extraction (PENDING) or being extracted (RUNNING), "
    "across replicas, as of this worker's last poll.",
    ("status",),
)
EXTRACTIONS = metrics.counter(
    "nexafi_document_extractions",
    "Extractions finished, by status and error code (without its field).",
    ("status", "error"),
)

# The actor of the extraction's reads in the access audit log (the service's own name).
ACTOR = "document"

# extraction_error codes (besides mrz.py's MRZ_NOT_FOUND, CHECK_DIGIT_MISMATCH:<field>,
# INVALID_FIELD:<field>).
UNSUPPORTED_CONTENT = "UNSUPPORTED_CONTENT"  # a PDF passport: no PDF rasterizer in the service
UNREADABLE_IMAGE = "UNREADABLE_IMAGE"  # not a decodable image, or too many pixels
DOCUMENT_DELETED = "DOCUMENT_DELETED"  # deleted before extraction ran
CONTENT_UNAVAILABLE = "CONTENT_UNAVAILABLE"  # purged, missing or failing verification (+ reason)
EXTRACTION_ABANDONED = "EXTRACTION_ABANDONED"  # crashed the worker max_attempts times


@dataclass(frozen=True)
class Outcome:
    status: ExtractionStatus
    fields: dict[str, str]
    error: str = ""


def failed(error: str) -> Outcome:
    return Outcome(ExtractionStatus.FAILED, {}, error)


class ExtractionWorker:
    """Claims and extracts versions, in a background thread or one at a time on demand."""

    def __init__(
        self,
        service: DocumentService,
        ocr: OcrEngine,
        settings: ExtractionSettings,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.service = service
        self.ocr = ocr
        self.settings = settings
        # "Today" of the passport expiry check (runtime/clock.py: tests pin it).
        self.clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="document-extraction", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            # An OCR call in progress finishes first (about a second); its claim then times out
            # or completes, so waiting longer is not needed for correctness.
            self._thread.join(timeout=15)
            self._thread = None

    def wake(self) -> None:
        """Poll now instead of at the next interval (a version was just queued)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.measure_queue()
                worked = self.run_once()
            except Exception:
                log.exception("the extraction queue could not be polled")
                worked = False
            if worked:
                continue
            self._wake.wait(self.settings.poll_seconds)
            self._wake.clear()

    def measure_queue(self) -> None:
        counts = run_in_transaction(self.service.engine, repo.extraction_queue)
        for status, count in counts.items():
            QUEUE.labels(status.name).set(count)

    # -- one version -------------------------------------------------------------------------------

    def run_once(self) -> bool:
        """Claim and extract one version; False when nothing was waiting."""
        claim = run_in_transaction(
            self.service.engine, lambda s: repo.claim_extraction(s, self.settings.running_timeout_seconds)
        )
        if claim is None:
            return False
        found = claim.version
        if claim.attempt > self.settings.max_attempts:
            outcome = failed(EXTRACTION_ABANDONED)
        else:
            try:
                outcome = self.extract(found)
            except Exception:
                # Left RUNNING: re-claimed after the timeout, until max_attempts.
                log.exception(
                    "extraction of %s v%d failed (attempt %d)",
                    found.document_id,
                    found.version,
                    claim.attempt,
                )
                return True
        written = run_in_transaction(
            self.service.engine,
            lambda s: repo.finish_extraction(s, claim, outcome.status, outcome.fields, outcome.error),
        )
        if written:
            EXTRACTIONS.labels(outcome.status.name, outcome.error.split(":", 1)[0]).inc()
            log.info(
                "extraction of %s v%d: %s %s",
                found.document_id,
                found.version,
                outcome.status.name,
                outcome.error,
            )
        else:
            log.warning(
                "extraction of %s v%d was re-claimed meanwhile; result dropped",
                found.document_id,
                found.version,
            )
        return True

    def extract(self, found: Version) -> Outcome:
        if found.document_type not in EXTRACTED_TYPES:
            return Outcome(ExtractionStatus.NOT_APPLICABLE, {})
        if found.deleted:
            return failed(DOCUMENT_DELETED)
        if found.content_type not in EXTRACTABLE_MEDIA:
            return failed(UNSUPPORTED_CONTENT)
        try:
            content = self.service.extraction_content(found, ACTOR)
        except DomainError as exc:
            return failed(f"{CONTENT_UNAVAILABLE}:{exc.reason}")
        try:
            image = decode_image(content)
        except UnreadableImage:
            return failed(UNREADABLE_IMAGE)
        result = read_passport(self.ocr, image, today=self.clock().date())
        if isinstance(result, PassportMrz):
            return Outcome(ExtractionStatus.SUCCEEDED, result.as_fields())
        return failed(result.reason)
