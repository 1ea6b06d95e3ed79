"""The OpenAPI document matches the google.api.http bindings exactly and is structurally valid
OpenAPI 3.0 (checked here: openapi-spec-validator is not a dependency)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from services.gateway.openapi import build_document
from services.gateway.settings import HEALTH_PATH, OPENAPI_PATH, PUBLIC_BINDINGS
from services.runtime.generated import DESCRIPTOR, GEN

HTTP_VERBS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
OPERATION_KEYS = {
    "operationId",
    "tags",
    "summary",
    "description",
    "parameters",
    "requestBody",
    "responses",
    "security",
    "deprecated",
    "servers",
    "callbacks",
    "externalDocs",
}
SCHEMA_KEYS = {
    "type",
    "format",
    "properties",
    "items",
    "additionalProperties",
    "enum",
    "$ref",
    "description",
    "nullable",
    "pattern",
    "minimum",
    "required",
    "allOf",
    "oneOf",
    "anyOf",
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def raw_bindings() -> list[tuple[str, str, str]]:
    """(HTTP method, OpenAPI path, gRPC method) read straight from the descriptor set, independently
    of services.gateway.bindings."""
    assert annotations_pb2.http is not None
    file_set = descriptor_pb2.FileDescriptorSet.FromString((GEN / DESCRIPTOR).read_bytes())
    found = []
    for file in file_set.file:
        for service in file.service:
            for method in service.method:
                if not method.options.HasExtension(annotations_pb2.http):
                    continue
                top = method.options.Extensions[annotations_pb2.http]
                for rule in [top, *top.additional_bindings]:
                    verb = rule.WhichOneof("pattern")
                    assert verb is not None
                    path = str(getattr(rule, verb))
                    path = re.sub(r"\{([^}=]+)(=[^}]*)?\}", r"{\1}", path)
                    found.append((verb.upper(), path, f"/{file.package}.{service.name}/{method.name}"))
    return found


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (verb.upper(), path, op)
        for path, item in document["paths"].items()
        for verb, op in item.items()
        if verb in HTTP_VERBS
    ]


def test_every_binding_is_exactly_one_operation(document: dict[str, Any]):
    expected = Counter(raw_bindings())
    gateway_paths = {HEALTH_PATH, OPENAPI_PATH}
    actual = Counter(
        (verb, path, op["x-grpc-method"])
        for verb, path, op in operations(document)
        if path not in gateway_paths
    )
    assert actual == expected
    assert all(count == 1 for count in expected.values())
    assert len(expected) == 96  # every binding in proto/, additional_bindings included


def test_operation_ids_are_unique(document: dict[str, Any]):
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))


def test_security_public_versus_bearer(document: dict[str, Any]):
    assert document["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    public = {(m, re.sub(r"\{[^}]*\}", "{}", p)) for m, p in PUBLIC_BINDINGS}
    for verb, path, op in operations(document):
        is_public = (verb, re.sub(r"\{[^}]*\}", "{}", path)) in public or path in (HEALTH_PATH, OPENAPI_PATH)
        assert ("security" in op and op["security"] == []) == is_public, (verb, path)


def test_path_parameters_match_templates(document: dict[str, Any]):
    for verb, path, op in operations(document):
        names = re.findall(r"\{([^}]+)\}", path)
        declared = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
        assert declared == names, (verb, path)
        for param in op.get("parameters", []):
            assert param["in"] in ("path", "query", "header")
            assert "schema" in param
            if param["in"] == "path":
                assert param["required"] is True


def test_bodies_and_query_parameters(document: dict[str, Any]):
    paths = document["paths"]
    login = paths["/api/v1/auth/login"]["post"]
    assert "application/json" in login["requestBody"]["content"]
    # body "*": everything in the body; only the request id header besides.
    assert [p["in"] for p in login["parameters"]] == ["header"]
    listing = paths["/api/v1/ledger/transactions/{user_id}"]["get"]
    query = {p["name"]: p for p in listing["parameters"] if p["in"] == "query"}
    assert {"page_size", "page_token", "types", "time_range.start_time"} <= set(query)
    assert query["types"]["schema"]["type"] == "array"
    assert query["time_range.start_time"]["schema"] == {"type": "string", "format": "date-time"}
    update = paths["/api/v1/users/{user_id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert "user_id" not in update["properties"]  # bound from the path
    assert update["properties"]["update_mask"]["type"] == "string"  # FieldMask
    upload = paths["/api/v1/documents/upload"]["post"]["requestBody"]["content"]
    assert upload == {"*/*": {"schema": {"type": "string", "format": "binary"}}}
    download = paths["/api/v1/documents/{document_id}/content"]["get"]["responses"]["200"]["content"]
    assert "*/*" in download


def test_schemas_follow_proto_json(document: dict[str, Any]):
    schemas = document["components"]["schemas"]
    money = schemas["nexafi.common.v1.Money"]["properties"]
    assert money["amount_minor"]["type"] == "string" and money["amount_minor"]["format"] == "int64"
    account = schemas["nexafi.ledger.v1.Account"]["properties"]
    assert account["type"]["allOf"] == [{"$ref": "#/components/schemas/nexafi.ledger.v1.AccountType"}]
    assert "ACCOUNT_TYPE_LIABILITY" in schemas["nexafi.ledger.v1.AccountType"]["enum"]
    assert {k: v for k, v in account["create_time"].items() if k != "description"} == {
        "type": "string",
        "format": "date-time",
    }
    assert account["metadata"]["additionalProperties"] == {"type": "string"}
    transaction = schemas["nexafi.ledger.v1.Transaction"]["properties"]
    assert transaction["postings"]["type"] == "array"
    oneofs = [s for s in schemas.values() if "x-oneofs" in s]
    assert oneofs and all("At most one of" in s["description"] for s in oneofs)
    error = schemas["Error"]
    assert set(error["required"]) == {"code", "message"}


def _walk(node: Any, refs: list[str], schemas: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        if "$ref" in node:
            refs.append(node["$ref"])
        for key, value in node.items():
            if key in ("schema", "items", "additionalProperties") and isinstance(value, dict):
                schemas.append(value)
            if key == "properties":
                schemas.extend(v for v in value.values() if isinstance(v, dict))
            _walk(value, refs, schemas)
    elif isinstance(node, list):
        for item in node:
            _walk(item, refs, schemas)


def test_structurally_valid_openapi_3(document: dict[str, Any]):
    assert document["openapi"].startswith("3.0.")
    assert {"title", "version"} <= set(document["info"])
    refs: list[str] = []
    schemas: list[dict[str, Any]] = list(document["components"]["schemas"].values())
    _walk(document, refs, schemas)
    for ref in refs:  # every $ref resolves
        node: Any = document
        assert ref.startswith("#/")
        for part in ref[2:].split("/"):
            node = node[part]
    for schema in schemas:
        assert set(schema) <= SCHEMA_KEYS | {"x-oneofs"}, schema
        if "type" in schema:
            assert schema["type"] in {"string", "integer", "number", "boolean", "array", "object"}
        if schema.get("type") == "array":
            assert "items" in schema
    for path, item in document["paths"].items():
        assert path.startswith("/")
        for verb, op in item.items():
            assert verb in HTTP_VERBS
            assert set(op) <= OPERATION_KEYS | {"x-grpc-method"}, op.keys()
            assert op["responses"] and all(re.fullmatch(r"\d{3}|default", code) for code in op["responses"])
            for response in op["responses"].values():
                assert "$ref" in response or "description" in response


def test_only_the_requested_services():
    ledger_only = build_document(services=["nexafi.ledger.v1.LedgerService"])
    methods = {
        op["x-grpc-method"]
        for _, path, op in operations(ledger_only)
        if path not in (HEALTH_PATH, OPENAPI_PATH)
    }
    assert methods and all(m.startswith("/nexafi.ledger.v1.LedgerService/") for m in methods)


def test_proto_comments_are_the_documentation(document: dict[str, Any]):
    """Every RPC and field is commented in the protos (buf lint), so every operation has a summary
    and a description and every property of a contract message a description."""
    contract_ops = [op for _, path, op in operations(document) if path not in (HEALTH_PATH, OPENAPI_PATH)]
    for op in contract_ops:
        assert op["summary"] and op["description"].startswith(op["summary"]), op["operationId"]
        assert "\n\n" not in op["summary"] and len(op["summary"]) < len(op["description"]) + 1
    initiate = document["paths"]["/api/v1/payments/initiate"]["post"]
    assert initiate["summary"].startswith("Initiates a payment")
    assert "INVALID_ARGUMENT" in initiate["description"]  # the errors the RPC returns
    described = undescribed = 0
    for schema in document["components"]["schemas"].values():
        for prop in schema.get("properties", {}).values():
            if prop.get("description"):
                described += 1
            else:
                undescribed += 1
    assert undescribed == 0 and described > 600
    money = document["components"]["schemas"]["nexafi.common.v1.Money"]
    assert "ISO 4217" in money["properties"]["currency"]["description"]
    status = document["components"]["schemas"]["nexafi.payment.v1.PaymentStatus"]["description"]
    assert "`PAYMENT_STATUS_SUCCEEDED`:" in status
    listing = document["paths"]["/api/v1/ledger/transactions/{user_id}"]["get"]["parameters"]
    assert all(p.get("description") for p in listing)


def test_request_id_and_idempotency_headers_and_the_error_body(document: dict[str, Any]):
    for verb, path, op in operations(document):
        if path in (HEALTH_PATH, OPENAPI_PATH):
            continue
        headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
        assert "x-request-id" in headers, (verb, path)
        assert "x-request-id" in op["responses"]["200"]["headers"]
        assert op["responses"]["default"] == {"$ref": "#/components/responses/Error"}
    error = document["components"]["responses"]["Error"]
    assert "x-request-id" in error["headers"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    initiate = document["paths"]["/api/v1/payments/initiate"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in initiate["parameters"]}
    reading = document["paths"]["/api/v1/payments/{payment_id}"]["get"]
    assert "Idempotency-Key" not in {p["name"] for p in reading["parameters"]}
