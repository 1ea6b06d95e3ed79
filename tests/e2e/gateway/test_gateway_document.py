"""A customer's documents over REST through the real Envoy in front of the real user and document
services (with the session's S3-protocol server): upload a raw file body with its Content-Type
and the metadata as query parameters, read its metadata, list, delete; another user's document
is refused, a mistyped upload is answered with the JSON error shape.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio import Minio

from services.devtools.embedded_s3 import EmbeddedS3
from tests.e2e.gateway.conftest import (
    Gateway,
    assert_error,
    field_violations,
    gateway_in_front_of,
    reason,
    register_customer,
)
from tests.support.harness import TokenFactory

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")
document_spec = pytest.importorskip(
    "services.document.spec", reason="the document service is not in this checkout"
)


@pytest.fixture(scope="module")
def gateway(s3: EmbeddedS3, services, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    specs = [user_spec.SPEC, document_spec.SPEC]
    yield from gateway_in_front_of(services, specs, keys_dir, module_tmp)


def upload(gateway: Gateway, who: dict[str, str], content: bytes, content_type: str, **params: str):
    query = {
        "user_id": who["id"],
        "filename": "passport.pdf",
        "document_type": "DOCUMENT_TYPE_PASSPORT",
        **params,
    }
    return gateway.post(
        "/api/v1/documents/upload",
        token=who["token"],
        params=query,
        data=content,
        headers={"content-type": content_type, "idempotency-key": uuid.uuid4().hex},
    )


def test_upload_read_list_delete_over_rest(gateway: Gateway):
    alice = register_customer(gateway)
    # Larger than one Envoy buffer, so the body arrives as several stream messages.
    content = b"%PDF-1.7\n" + os.urandom(300_000)
    uploaded = upload(gateway, alice, content, "application/pdf", sha256=hashlib.sha256(content).hexdigest())
    assert uploaded.status_code == 200, uploaded.text
    document = uploaded.json()["document"]
    assert document["user_id"] == alice["id"] and document["content_type"] == "application/pdf"
    assert document["size_bytes"] == str(len(content)) and document["version"] == 1
    assert document["status"] == "DOCUMENT_STATUS_UPLOADED"

    got = gateway.get(f"/api/v1/documents/{document['id']}", token=alice["token"])
    assert got.status_code == 200, got.text
    assert got.json()["document"]["sha256"] == hashlib.sha256(content).hexdigest()

    listed = gateway.get(
        f"/api/v1/documents/user/{alice['id']}", token=alice["token"], params={"page_size": 10}
    )
    assert listed.status_code == 200, listed.text
    assert [d["id"] for d in listed.json()["documents"]] == [document["id"]]

    # The content comes back as the raw body with its Content-Type (server-streaming HttpBody).
    downloaded = gateway.get(f"/api/v1/documents/{document['id']}/content", token=alice["token"])
    assert downloaded.status_code == 200, downloaded.text[:500]
    assert downloaded.headers["content-type"] == "application/pdf" and downloaded.content == content

    deleted = gateway.request("DELETE", f"/api/v1/documents/{document['id']}", token=alice["token"])
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["document"]["status"] == "DOCUMENT_STATUS_DELETED"
    gone = gateway.get(f"/api/v1/documents/{document['id']}", token=alice["token"])
    assert_error(gone, 404, grpc_code=5)
    assert (
        gateway.get(f"/api/v1/documents/user/{alice['id']}", token=alice["token"]).json().get("documents", [])
        == []
    )


def test_another_users_document_is_forbidden(gateway: Gateway):
    alice, mallory = register_customer(gateway), register_customer(gateway)
    uploaded = upload(gateway, alice, b"\x89PNG\r\n\x1a\n" + os.urandom(5000), "image/png", filename="id.png")
    assert uploaded.status_code == 200, uploaded.text
    document_id = uploaded.json()["document"]["id"]
    refused = gateway.get(f"/api/v1/documents/{document_id}", token=mallory["token"])
    body = assert_error(refused, 403, grpc_code=7)
    assert reason(body) == "PERMISSION_DENIED"
    listed = gateway.get(f"/api/v1/documents/user/{alice['id']}", token=mallory["token"])
    assert_error(listed, 403, grpc_code=7)
    anonymous = gateway.get(f"/api/v1/documents/{document_id}")
    assert_error(anonymous, 401)


def test_mistyped_upload_is_refused(gateway: Gateway):
    alice = register_customer(gateway)
    # A PNG declared as a PDF: the bytes decide, and they disagree.
    reply = upload(gateway, alice, b"\x89PNG\r\n\x1a\n" + os.urandom(5000), "application/pdf")
    body = assert_error(reply, 400, grpc_code=3)
    assert reason(body) == "CONTENT_TYPE_MISMATCH"
    assert field_violations(body) == ["http_body.content_type"]
    assert (
        gateway.get(f"/api/v1/documents/user/{alice['id']}", token=alice["token"]).json().get("documents", [])
        == []
    )


def test_oversized_upload_is_refused(gateway: Gateway):
    alice = register_customer(gateway)
    # Envoy enforces the upload limit (the service's own, 10 MiB) before the service sees the body;
    # test_gateway_limits.py covers chunked bodies and far larger ones.
    reply = upload(gateway, alice, b"%PDF-1.7\n" + os.urandom(10 * 1024 * 1024), "application/pdf")
    assert_error(reply, 413)


def test_lost_content_is_a_json_data_loss_and_the_admin_check_lists_it(
    gateway: Gateway, s3: EmbeddedS3, tokens: TokenFactory
):
    # A token rather than a registration: the gateway limits registrations per client address.
    bob_id = f"usr_{uuid.uuid4().hex[:20]}"
    bob = {"id": bob_id, "token": tokens.make(bob_id, ["customer"])}
    uploaded = upload(gateway, bob, b"%PDF-1.7\n" + os.urandom(5_000), "application/pdf")
    assert uploaded.status_code == 200, uploaded.text
    document = uploaded.json()["document"]
    admin = tokens.make("usr_storage_admin", ["admin"])
    key = gateway.get(f"/api/v1/documents/{document['id']}", token=admin).json()["document"]["storage_path"]
    Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=False).remove_object(
        s3.env()["DOCUMENT_S3_BUCKET"], key
    )

    # DATA_LOSS: Envoy's mapping is 500, with the JSON error naming the document.
    lost = gateway.get(f"/api/v1/documents/{document['id']}/content", token=bob["token"])
    body = assert_error(lost, 500, grpc_code=15)
    assert reason(body) == "CONTENT_MISSING" and document["id"] in body["message"]

    problems: list[dict[str, str]] = []
    token = ""
    while True:
        page = gateway.post(
            "/api/v1/documents/storage-consistency/check",
            token=admin,
            json={"page_size": 1000, "page_token": token},
        )
        assert page.status_code == 200, page.text
        problems += page.json().get("problems", [])
        token = page.json().get("next_page_token", "")
        if not token:
            break
    assert {
        "document_id": document["id"],
        "version": 1,
        "user_id": bob["id"],
        "storage_path": key,
        "problem": "STORAGE_PROBLEM_CONTENT_MISSING",
    } in problems
    refused = gateway.post("/api/v1/documents/storage-consistency/check", token=bob["token"], json={})
    assert_error(refused, 403, grpc_code=7)
