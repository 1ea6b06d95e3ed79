"""The document bucket in S3-compatible storage, through the ``minio`` client.

Settings (environment, read once by ``spec.storage_settings_from_env``): ``DOCUMENT_S3_ENDPOINT``
(``host:port``), ``DOCUMENT_S3_ACCESS_KEY``, ``DOCUMENT_S3_SECRET_KEY``, ``DOCUMENT_S3_BUCKET``
(default ``nexafi-documents``), ``DOCUMENT_S3_SECURE`` (``true`` for HTTPS, default ``false``),
``DOCUMENT_S3_REGION`` (optional). The bucket is created at start when missing; missing settings or an
unreachable endpoint stop the service with one ConfigError line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from services.runtime.config import ConfigError

READ_CHUNK = 256 * 1024


class ObjectMissing(Exception):
    """The object is not in the bucket."""


@dataclass(frozen=True)
class StorageSettings:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    secure: bool
    region: str | None


class Storage:
    """Encrypted objects in one bucket; every object is written whole, once."""

    def __init__(self, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    @classmethod
    def connect(cls, settings: StorageSettings) -> Storage:
        """A client for ``settings`` whose bucket exists; ConfigError when unreachable."""
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3.0, read=60.0),
            maxsize=16,
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )
        try:
            client = Minio(
                settings.endpoint,
                access_key=settings.access_key,
                secret_key=settings.secret_key,
                secure=settings.secure,
                region=settings.region,
                http_client=http,
            )
        except ValueError as exc:
            raise ConfigError(f"DOCUMENT_S3_ENDPOINT is invalid: {exc}") from None
        storage = cls(client, settings.bucket)
        storage.ensure_bucket(settings.endpoint)
        return storage

    def ensure_bucket(self, endpoint: str = "") -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except S3Error as exc:
            if exc.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                return  # a replica created it at the same moment
            raise ConfigError(
                f"document storage at {endpoint} refused bucket {self.bucket!r}: {exc.code}"
            ) from None
        except ValueError as exc:
            raise ConfigError(f"DOCUMENT_S3_BUCKET is invalid: {exc}") from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot reach document storage at {endpoint}: {reason}") from None

    def put(self, key: str, data: BinaryIO, length: int) -> None:
        self.client.put_object(self.bucket, key, data, length, content_type="application/octet-stream")

    def read(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; ObjectMissing when it is not there."""
        try:
            response = self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise ObjectMissing(key) from None
            raise
        try:
            yield from response.stream(READ_CHUNK)
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                return False
            raise
        return True

    def remove(self, key: str) -> None:
        self.client.remove_object(self.bucket, key)
