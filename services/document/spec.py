"""How the runtime builds the document server: storage, master keys, the servicer.

Settings (environment):

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
from collections.abc import Sequence

import grpc
from nexafi.document.v1 import document_pb2, document_pb2_grpc

from services.document.crypto import KEY_SIZE, MasterKeys
from services.document.extraction.ocr import check_runtime, shared_engine
from services.document.extraction.worker import ExtractionWorker, WorkerSettings
from services.document.service import Config, DocumentService
from services.document.servicer import DocumentServicer
from services.document.storage import Storage, StorageSettings
from services.runtime.config import ConfigError, env_int, env_str
from services.runtime.server import ServiceContext, ServiceSpec
from services.runtime.service_access import service_callers

log = logging.getLogger("nexafi.document")

SERVICE_NAME = document_pb2.DESCRIPTOR.services_by_name["DocumentService"].full_name
DEV_MASTER_KEY_ID = "dev"
# Derived from a public string: development content is encrypted, never secret.
DEV_MASTER_KEY = hashlib.sha256(b"nexafi-development-document-master-key-not-secret").digest()
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


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
            raise ConfigError(f"DOCUMENT_MASTER_KEYS: key {key_id!r} must be {KEY_SIZE} bytes, "
                              f"got {len(key)}")
        if key_id in keys:
            raise ConfigError(f"DOCUMENT_MASTER_KEYS: key id {key_id!r} appears twice")
        keys[key_id] = key
        order.append(key_id)
    return MasterKeys(order[0], keys)


def load_config() -> Config:
    return Config(max_bytes=env_int("DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES, minimum=1, maximum=2**40),
                  keys=load_master_keys())


def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
    assert context.engine is not None
    config = load_config()
    storage = Storage.connect(StorageSettings.from_env())
    service = DocumentService(context.engine, storage, config)
    document_pb2_grpc.add_DocumentServiceServicer_to_server(DocumentServicer(service), server)
    if extraction_enabled():
        problem = check_runtime()
        if problem is not None:
            raise ConfigError(f"the OCR runtime of passport extraction cannot load ({problem}); "
                              "install it or set DOCUMENT_EXTRACTION_ENABLED=false")
        worker = ExtractionWorker(service, shared_engine(env_int("DOCUMENT_EXTRACTION_THREADS", 1, minimum=1,
                                                                 maximum=64)), load_worker_settings())
        service.on_pending = worker.wake
        worker.start()
        context.on_shutdown.append(worker.stop)
    else:
        log.warning("DOCUMENT_EXTRACTION_ENABLED is off: passports stay PENDING in this replica")
    return [SERVICE_NAME]


def extraction_enabled() -> bool:
    raw = (env_str("DOCUMENT_EXTRACTION_ENABLED", "true") or "true").lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"DOCUMENT_EXTRACTION_ENABLED must be true or false, got {raw!r}")
    return raw in ("true", "1", "yes")


def load_worker_settings() -> WorkerSettings:
    return WorkerSettings(
        poll_seconds=env_int("DOCUMENT_EXTRACTION_POLL_MS", 2000, minimum=10, maximum=3_600_000) / 1000,
        running_timeout_seconds=env_int("DOCUMENT_EXTRACTION_RUNNING_TIMEOUT_SECONDS", 600, minimum=5,
                                        maximum=86_400))


# No service reads or writes customers' documents (least privilege; services.runtime.service_access).
SERVICE_CALLERS = service_callers({})

SPEC = ServiceSpec(name="document", register=register, public_methods=frozenset(),
                   service_callers=SERVICE_CALLERS)
