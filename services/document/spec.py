"""How the runtime builds the document server: its settings (read once, here), storage, the servicer.

``SPEC`` reads the settings from the environment when the server starts; ``spec_with(settings)``
builds the same server from settings made in code (the tests' way). Settings (environment):

* Storage: ``DOCUMENT_S3_ENDPOINT``, ``DOCUMENT_S3_ACCESS_KEY``, ``DOCUMENT_S3_SECRET_KEY``,
  ``DOCUMENT_S3_BUCKET``, ``DOCUMENT_S3_SECURE``, ``DOCUMENT_S3_REGION`` (see ``storage.py``);
  missing or unreachable storage stops the service at start with one line.
* ``DOCUMENT_MASTER_KEYS`` — the master keys that wrap the per-version data keys, as
  ``id:base64key[,id:base64key...]`` (each key 32 bytes, standard base64); the first is current
  and wraps new data keys, the others still unwrap data keys they wrapped before a rotation.
  Required when ``NEXAFI_ENV=production``; elsewhere a fixed, publicly known development key
  (id ``dev``) is used with a warning, so development content is encrypted but not secret.
* ``DOCUMENT_MAX_BYTES`` — the largest document accepted, in bytes (default 10 MiB). Envoy
  does not limit streamed upload bodies; this is the limit.
* KYC extraction (``extraction/worker.py``): passports in PNG or JPEG get their MRZ read by OCR
  and verified in a background thread; every other document type is NOT_APPLICABLE at upload.
  ``DOCUMENT_EXTRACTION_ENABLED`` (``true``/``false``, default ``true``; when off, passports stay
  PENDING until a replica with it on picks them up), ``DOCUMENT_EXTRACTION_POLL_MS`` (how often
  the queue is polled when idle, default 2000; an upload to this process wakes it at once),
  ``DOCUMENT_EXTRACTION_RUNNING_TIMEOUT_SECONDS`` (a version RUNNING longer than this is
  re-claimed: its worker died; default 600), ``DOCUMENT_EXTRACTION_THREADS`` (onnxruntime
  threads for OCR, default 1, so extraction never starves the gRPC server). When extraction is
  on and the OCR runtime cannot be imported (OpenCV needs libGL and libglib from the system),
  the service stops at start with one line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Callable, Sequence

import grpc
from nexafi.document.v1 import document_pb2, document_pb2_grpc

from services.document.crypto import KEY_SIZE, MasterKeys
from services.document.extraction.ocr import check_runtime, shared_engine
from services.document.extraction.worker import ExtractionWorker
from services.document.service import DocumentService
from services.document.servicer import DocumentServicer
from services.document.settings import DEFAULT_MAX_BYTES, DocumentSettings, ExtractionSettings
from services.document.storage import Storage, StorageSettings
from services.runtime.config import ConfigError, env_int, env_str
from services.runtime.fingerprints import derived_fingerprint_key
from services.runtime.server import ServiceContext, ServiceSpec, page_token_key
from services.runtime.service_access import service_callers

__all__ = ["DEFAULT_MAX_BYTES", "SPEC", "load_master_keys", "settings_from_env", "spec_with"]

log = logging.getLogger("nexafi.document")

SERVICE_NAME = document_pb2.DESCRIPTOR.services_by_name["DocumentService"].full_name
DEV_MASTER_KEY_ID = "dev"
# Derived from a public string: development content is encrypted, never secret.
DEV_MASTER_KEY = hashlib.sha256(b"nexafi-development-document-master-key-not-secret").digest()
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _flag(name: str, default: str) -> bool:
    raw = (env_str(name, default) or default).lower()
    if raw not in _TRUE + _FALSE:
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    return raw in _TRUE


def load_master_keys() -> MasterKeys:
    raw = env_str("DOCUMENT_MASTER_KEYS")
    if not raw:
        if (env_str("NEXAFI_ENV", "development") or "").lower() in ("production", "prod"):
            raise ConfigError("DOCUMENT_MASTER_KEYS is not set (required in production)")
        log.warning("DOCUMENT_MASTER_KEYS is not set: using the public development key")
        return MasterKeys(DEV_MASTER_KEY_ID, {DEV_MASTER_KEY_ID: DEV_MASTER_KEY})
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for item in raw.split(","):
        key_id, sep, encoded = item.strip().partition(":")
        if not sep or not key_id or not encoded:
            raise ConfigError("DOCUMENT_MASTER_KEYS must be id:base64key[,id:base64key...]")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"DOCUMENT_MASTER_KEYS: key {key_id!r} is not valid base64") from None
        if len(key) != KEY_SIZE:
            raise ConfigError(
                f"DOCUMENT_MASTER_KEYS: key {key_id!r} must be {KEY_SIZE} bytes, got {len(key)}"
            )
        if key_id in keys:
            raise ConfigError(f"DOCUMENT_MASTER_KEYS: key id {key_id!r} appears twice")
        keys[key_id] = key
        order.append(key_id)
    return MasterKeys(order[0], keys)


def storage_settings_from_env() -> StorageSettings:
    required = ("DOCUMENT_S3_ENDPOINT", "DOCUMENT_S3_ACCESS_KEY", "DOCUMENT_S3_SECRET_KEY")
    missing = [name for name in required if not env_str(name)]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set "
            "(the document service's S3-compatible storage)"
        )
    secure = _flag("DOCUMENT_S3_SECURE", "false")
    endpoint = env_str("DOCUMENT_S3_ENDPOINT") or ""
    if "://" in endpoint or "/" in endpoint:
        raise ConfigError(
            "DOCUMENT_S3_ENDPOINT must be host:port, without scheme or path "
            "(use DOCUMENT_S3_SECURE for HTTPS)"
        )
    return StorageSettings(
        endpoint=endpoint,
        access_key=env_str("DOCUMENT_S3_ACCESS_KEY") or "",
        secret_key=env_str("DOCUMENT_S3_SECRET_KEY") or "",
        bucket=env_str("DOCUMENT_S3_BUCKET", "nexafi-documents") or "nexafi-documents",
        secure=secure,
        region=env_str("DOCUMENT_S3_REGION"),
    )


def extraction_settings_from_env() -> ExtractionSettings:
    return ExtractionSettings(
        enabled=_flag("DOCUMENT_EXTRACTION_ENABLED", "true"),
        poll_seconds=env_int("DOCUMENT_EXTRACTION_POLL_MS", 2000, minimum=10, maximum=3_600_000) / 1000,
        running_timeout_seconds=env_int(
            "DOCUMENT_EXTRACTION_RUNNING_TIMEOUT_SECONDS", 600, minimum=5, maximum=86_400
        ),
        ocr_threads=env_int("DOCUMENT_EXTRACTION_THREADS", 1, minimum=1, maximum=64),
    )


def settings_from_env() -> DocumentSettings:
    """Every setting of the document service, from the environment; the one place it is read."""
    return DocumentSettings(
        storage=storage_settings_from_env(),
        keys=load_master_keys(),
        max_bytes=env_int("DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES, minimum=1, maximum=2**40),
        extraction=extraction_settings_from_env(),
    )


Register = Callable[[grpc.Server, ServiceContext], Sequence[str]]


def registrar(settings: Callable[[], DocumentSettings]) -> Register:
    def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
        assert context.engine is not None
        chosen = settings()
        service = DocumentService(context.engine, Storage.connect(chosen.storage), chosen)
        servicer = DocumentServicer(service, derived_fingerprint_key(page_token_key(context.settings)))
        document_pb2_grpc.add_DocumentServiceServicer_to_server(servicer, server)
        extraction = chosen.extraction
        if extraction.enabled:
            problem = check_runtime()
            if problem is not None:
                raise ConfigError(
                    f"the OCR runtime of passport extraction cannot load ({problem}); "
                    "install it or set DOCUMENT_EXTRACTION_ENABLED=false"
                )
            worker = ExtractionWorker(
                service, shared_engine(extraction.ocr_threads), extraction, clock=context.clock
            )
            service.uploads.on_pending = worker.wake
            worker.start()
            context.on_shutdown.append(worker.stop)
        else:
            log.warning("DOCUMENT_EXTRACTION_ENABLED is off: passports stay PENDING in this replica")
        return [SERVICE_NAME]

    return register


# No service reads or writes customers' documents (least privilege; services.runtime.service_access).
SERVICE_CALLERS = service_callers({})


def spec_with(settings: DocumentSettings) -> ServiceSpec:
    """The document service with these settings instead of the environment's."""
    return ServiceSpec(
        name="document",
        register=registrar(lambda: settings),
        public_methods=frozenset(),
        service_callers=SERVICE_CALLERS,
    )


SPEC = ServiceSpec(
    name="document",
    register=registrar(settings_from_env),
    public_methods=frozenset(),
    service_callers=SERVICE_CALLERS,
)
