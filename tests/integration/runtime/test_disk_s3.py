"""The dev stack's S3 server on disk: what the minio client stored is there after a restart."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from minio import Minio
from minio.error import S3Error

from services.devtools.embedded_s3 import EmbeddedS3


def client(server: EmbeddedS3) -> Minio:
    return Minio(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False)


def read(minio: Minio, bucket: str, key: str) -> bytes:
    response = minio.get_object(bucket, key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def test_objects_survive_a_restart(tmp_path: Path) -> None:
    big = hashlib.sha256(b"seed").digest() * 200_000  # 6.4 MB: the minio client uploads it in parts
    with EmbeddedS3(data_dir=tmp_path / "s3") as first:
        minio = client(first)
        minio.make_bucket("nexafi-documents")
        minio.put_object(
            "nexafi-documents", "docs/a/v1", io.BytesIO(big), len(big), part_size=5 * 1024 * 1024
        )
        minio.put_object("nexafi-documents", "docs/b/v1", io.BytesIO(b"small"), 5)
        minio.put_object("nexafi-documents", "docs/c/v1", io.BytesIO(b"gone"), 4)
        minio.remove_object("nexafi-documents", "docs/c/v1")
        minio.put_object("nexafi-documents", "docs/b/v1", io.BytesIO(b"replaced"), 8)
    with EmbeddedS3(data_dir=tmp_path / "s3") as second:
        minio = client(second)
        assert [b.name for b in minio.list_buckets()] == ["nexafi-documents"]
        names = sorted(str(o.object_name) for o in minio.list_objects("nexafi-documents", recursive=True))
        assert names == ["docs/a/v1", "docs/b/v1"]
        assert read(minio, "nexafi-documents", "docs/a/v1") == big
        assert read(minio, "nexafi-documents", "docs/b/v1") == b"replaced"
        with pytest.raises(S3Error) as missing:
            read(minio, "nexafi-documents", "docs/c/v1")
        assert missing.value.code == "NoSuchKey"
