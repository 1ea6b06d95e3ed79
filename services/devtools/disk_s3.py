"""moto's S3-protocol server with buckets and objects kept on disk: ``python -m services.devtools.disk_s3``.

moto keeps every object in memory only, so objects uploaded in the dev stack vanished when
``make run`` restarted while their rows stayed in PostgreSQL. This runs the same moto server
(the ``minio`` client cannot tell the difference) with its S3 backend's four writing calls
wrapped: every bucket created or deleted and every object written or deleted is mirrored
under ``--data-dir`` before the S3 request is answered, and at start everything found there
is loaded back into the backend. A successful PUT therefore means the bytes are on disk
(written to a temporary file, fsync'ed, renamed into place).

Layout: ``DATA/<bucket>/bucket.json`` (account, partition and region of the bucket) and, per
object, ``DATA/<bucket>/objects/<sha256 of key>.data`` (the bytes) beside ``.meta`` (the key
as JSON; written after the data and removed before it, so a half-written
object is never loaded). Only the newest version of a key is kept: versioned buckets, object
tags, ACLs and other metadata (content type included) are not persisted (the document service
uses none of them).
The ETag of an object completed by multipart upload becomes its plain MD5 after a restart.

This is a development store: production points ``DOCUMENT_S3_ENDPOINT`` at a real MinIO or S3.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from moto.s3.models import S3Backend, s3_backends

_loading = threading.local()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class DiskMirror:
    """The on-disk copy of the backend's buckets and objects under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _objects(self, bucket: str) -> Path:
        return self.root / bucket / "objects"

    def _stem(self, bucket: str, key: str) -> Path:
        return self._objects(bucket) / hashlib.sha256(key.encode()).hexdigest()

    def bucket_created(self, bucket: str, account_id: str, partition: str, region: str) -> None:
        self._objects(bucket).mkdir(parents=True, exist_ok=True)
        _write_atomically(
            self.root / bucket / "bucket.json",
            json.dumps({"account_id": account_id, "partition": partition, "region": region}).encode(),
        )

    def bucket_deleted(self, bucket: str) -> None:
        shutil.rmtree(self.root / bucket, ignore_errors=True)

    def object_written(self, bucket: str, key: str, value: bytes) -> None:
        stem = self._stem(bucket, key)
        stem.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(stem.with_suffix(".data"), value)
        _write_atomically(stem.with_suffix(".meta"), json.dumps({"key": key}).encode())

    def object_deleted(self, bucket: str, key: str) -> None:
        stem = self._stem(bucket, key)
        stem.with_suffix(".meta").unlink(missing_ok=True)
        stem.with_suffix(".data").unlink(missing_ok=True)

    def load(self) -> tuple[int, int]:
        """Recreate every stored bucket and object in moto's backend; (buckets, objects) loaded."""
        buckets = objects = 0
        if not self.root.is_dir():
            return 0, 0
        _loading.active = True
        try:
            for bucket_dir in sorted(self.root.iterdir()):
                spec_path = bucket_dir / "bucket.json"
                if not spec_path.is_file():
                    continue
                spec = json.loads(spec_path.read_text())
                backend: S3Backend = s3_backends[spec["account_id"]][spec["partition"]]
                backend.create_bucket(bucket_dir.name, spec["region"])
                buckets += 1
                for meta_path in sorted((bucket_dir / "objects").glob("*.meta")):
                    data_path = meta_path.with_suffix(".data")
                    if not data_path.is_file():
                        continue
                    meta = json.loads(meta_path.read_text())
                    backend.put_object(
                        bucket_dir.name, meta["key"], data_path.read_bytes(), disable_notification=True
                    )
                    objects += 1
        finally:
            _loading.active = False
        return buckets, objects


def install(mirror: DiskMirror) -> None:
    """Wrap the backend's writing calls so that each is mirrored to ``mirror`` before it returns."""
    create_bucket = S3Backend.create_bucket
    delete_bucket = S3Backend.delete_bucket
    put_object = S3Backend.put_object
    delete_object = S3Backend.delete_object

    def _mirroring(self: S3Backend) -> bool:
        return not getattr(_loading, "active", False)

    def create_bucket_on_disk(
        self: S3Backend, bucket_name: str, region_name: str, *args: Any, **kwargs: Any
    ) -> Any:
        bucket = create_bucket(self, bucket_name, region_name, *args, **kwargs)
        if _mirroring(self):
            mirror.bucket_created(bucket_name, self.account_id, self.partition, region_name)
        return bucket

    def delete_bucket_on_disk(self: S3Backend, bucket_name: str) -> Any:
        bucket = delete_bucket(self, bucket_name)
        if bucket is not None and _mirroring(self):
            mirror.bucket_deleted(bucket_name)
        return bucket

    def put_object_on_disk(
        self: S3Backend, bucket_name: str, key_name: str, value: bytes, *args: Any, **kwargs: Any
    ) -> Any:
        key = put_object(self, bucket_name, key_name, value, *args, **kwargs)
        if _mirroring(self):
            mirror.object_written(bucket_name, key_name, key.value)
        return key

    def delete_object_on_disk(
        self: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any
    ) -> Any:
        result = delete_object(self, bucket_name, key_name, *args, **kwargs)
        bucket = self.buckets.get(bucket_name)
        if _mirroring(self) and bucket is not None and not bucket.keys.get(key_name):
            mirror.object_deleted(bucket_name, key_name)
        return result

    S3Backend.create_bucket = create_bucket_on_disk  # type: ignore[method-assign]
    S3Backend.delete_bucket = delete_bucket_on_disk  # type: ignore[method-assign]
    S3Backend.put_object = put_object_on_disk  # type: ignore[method-assign]
    S3Backend.delete_object = delete_object_on_disk  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="where buckets and objects are kept")
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    mirror = DiskMirror(args.data_dir)
    install(mirror)
    buckets, objects = mirror.load()
    print(f"disk_s3: {buckets} bucket(s), {objects} object(s) loaded from {args.data_dir}", flush=True)
    from moto import server  # imported after install so that nothing holds the unwrapped calls

    server.main(["-H", args.host, "-p", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
