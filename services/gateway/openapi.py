"""An OpenAPI 3 document generated from the descriptor set (the same bindings Envoy transcodes).

JSON as the transcoder prints and parses it: proto field names (preserve_proto_field_names),
enums as value names, 64-bit integers as strings, Timestamp as an RFC 3339 string,
Duration as "1.5s", FieldMask as a comma-separated string. Every binding, including
additional_bindings, is one operation; operations carry ``x-grpc-method``.

The proto comments (gen/nexafi.docs.pb, beside the descriptor set) become each operation's
summary (the RPC comment's first sentence) and description (all of it, with the errors it
lists), and the descriptions of schemas, properties, parameters and enum values. Every
operation declares the ``x-request-id`` header, echoed in every response; creating routes (a
``request_id`` field) also the ``Idempotency-Key`` header.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from services.gateway.bindings import DEFAULT_DESCRIPTOR_SET, Binding, bindings, load_pool
from services.gateway.openapi_schemas import HTTP_BODY, WELL_KNOWN, Schemas
from services.gateway.proto_comments import load_comments, summary

ERROR_SCHEMA = "Error"
IDEMPOTENCY_FIELD = "request_id"
REQUEST_ID_HEADER: dict[str, Any] = {
    "name": "x-request-id",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": (
        "Your id for this request, to correlate logs; the gateway makes one when absent and "
        "echoes it in every response, errors included."
    ),
}
IDEMPOTENCY_HEADER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": (
        "Makes a retry safe: fills an empty request_id. A replay with the same key and body "
        "returns the first result; the same key with another body is refused "
        "(409, IDEMPOTENCY_KEY_REUSED)."
    ),
}
RESPONSE_HEADERS: dict[str, Any] = {
    "x-request-id": {
        "description": "The request's id: the client's x-request-id, or one the gateway made.",
        "schema": {"type": "string"},
    }
}


# FileDescriptorProto / DescriptorProto / EnumDescriptorProto / ServiceDescriptorProto field numbers
# that source_code_info paths are made of.
def _field_path(message: Descriptor, path: str) -> FieldDescriptor | None:
    field: FieldDescriptor | None = None
    current: Descriptor | None = message
    for part in path.split("."):
        if current is None:
            return None
        field = current.fields_by_name.get(part)
        if field is None:
            return None
        current = field.message_type
    return field


def _query_parameters(
    schemas: Schemas, message: Descriptor, exclude: set[str], prefix: str = "", depth: int = 0
) -> list[dict[str, Any]]:
    """Leaf fields as query parameters (nested messages as dotted names), as the transcoder maps them."""
    params: list[dict[str, Any]] = []
    for field in message.fields:
        name = prefix + field.name
        if name in exclude:
            continue
        sub = field.message_type
        if sub is not None and sub.GetOptions().map_entry:
            continue  # maps cannot be bound from a query string
        if sub is not None and sub.full_name not in WELL_KNOWN:
            if depth < 2 and not field.is_repeated:
                params.extend(_query_parameters(schemas, sub, exclude, name + ".", depth + 1))
            continue
        schema = schemas.field(field)
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
        if field.full_name in schemas.comments:
            param["description"] = schemas.comments[field.full_name]
        if field.is_repeated:
            param["explode"] = True
        params.append(param)
    return params


def _operation(binding: Binding, index: int, schemas: Schemas, public: bool) -> dict[str, Any]:
    request = schemas.pool.FindMessageTypeByName(binding.request_type)
    response = schemas.pool.FindMessageTypeByName(binding.response_type)
    short_service = binding.service.rsplit(".", 1)[-1]
    operation: dict[str, Any] = {
        "operationId": f"{short_service}_{binding.method}" + (f"_{index}" if index else ""),
        "tags": [short_service],
        "x-grpc-method": binding.full_method,
    }
    comment = schemas.comments.get(f"{binding.service}.{binding.method}")
    if comment:
        operation["summary"] = summary(comment)
        operation["description"] = comment
    params: list[dict[str, Any]] = []
    for variable in binding.path_variables:
        field = _field_path(request, variable)
        schema = schemas.field(field) if field is not None else {"type": "string"}
        param = {"name": variable, "in": "path", "required": True, "schema": schema}
        if field is not None and field.full_name in schemas.comments:
            param["description"] = schemas.comments[field.full_name]
        params.append(param)
    path_fields = set(binding.path_variables)
    if binding.body == "":
        params.extend(_query_parameters(schemas, request, path_fields))
    elif binding.body != "*":
        # Fields outside the body field may also come from the query string.
        params.extend(_query_parameters(schemas, request, path_fields | {binding.body}))
    params.append(dict(REQUEST_ID_HEADER))
    if IDEMPOTENCY_FIELD in request.fields_by_name:
        params.append(dict(IDEMPOTENCY_HEADER))
    operation["parameters"] = params
    if binding.body == "*":
        top_level = frozenset(v.split(".")[0] for v in binding.path_variables if "." not in v)
        body_schema = schemas.object(request, exclude=top_level) if top_level else schemas.message(request)
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body_schema}},
        }
    elif binding.body:
        field = request.fields_by_name[binding.body]
        if field.message_type is not None and field.message_type.full_name == HTTP_BODY:
            content = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
            if binding.client_streaming:
                operation["description"] = "\n\n".join(
                    filter(
                        None,
                        [
                            operation.get("description"),
                            "Streamed to the service in chunks; the size limit is the service's, "
                            "not the gateway's.",
                        ],
                    )
                )
        else:
            content = {"application/json": {"schema": schemas.field(field)}}
        operation["requestBody"] = {"required": True, "content": content}

    if binding.response_body:
        field = response.fields_by_name[binding.response_body]
        if field.message_type is not None and field.message_type.full_name == HTTP_BODY:
            ok_content = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
        else:
            ok_content = {"application/json": {"schema": schemas.field(field)}}
    else:
        ok_schema = schemas.message(response)
        if binding.server_streaming:
            ok_schema = {"type": "array", "items": ok_schema}
        ok_content = {"application/json": {"schema": ok_schema}}
    error = {"$ref": f"#/components/responses/{ERROR_SCHEMA}"}
    operation["responses"] = {
        "200": {"description": "OK", "headers": RESPONSE_HEADERS, "content": ok_content},
        "default": error,
    }
    if public:
        operation["security"] = []
    else:
        operation["responses"]["401"] = error
    return operation


def build_document(
    descriptor_set: Path = DEFAULT_DESCRIPTOR_SET,
    services: list[str] | None = None,
    *,
    public: frozenset[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``services`` (full names; all when None)."""
    from services.gateway.settings import HEALTH_PATH, OPENAPI_PATH, PUBLIC_BINDINGS

    public_bindings = PUBLIC_BINDINGS if public is None else public
    schemas = Schemas(load_pool(descriptor_set)[0], load_comments(descriptor_set))
    paths: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for binding in bindings(descriptor_set, services):
        key = f"{binding.service}.{binding.method}"
        index = seen.get(key, 0)
        seen[key] = index + 1
        operation = _operation(
            binding, index, schemas, (binding.http_method, binding.path) in public_bindings
        )
        item = paths.setdefault(binding.openapi_path, {})
        verb = binding.http_method.lower()
        if verb in item:
            raise ValueError(f"two bindings for {binding.http_method} {binding.path}")
        item[verb] = operation

    schemas.components[ERROR_SCHEMA] = {
        "type": "object",
        "required": ["code", "message"],
        "description": (
            "Every error. From a service: code is the gRPC status code and details the "
            "google.rpc details (ErrorInfo with an UPPER_SNAKE reason, BadRequest field "
            "violations). From the gateway itself (unknown route, bad JSON, 401, 413, 429, "
            "503, 504): code is the HTTP status and details are absent."
        ),
        "properties": {
            "code": {
                "type": "integer",
                "format": "int32",
                "description": (
                    "The gRPC status code (a service's error) or the HTTP status (the gateway's)."
                ),
            },
            "message": {"type": "string", "description": "What was wrong, for a person to read."},
            "details": {
                "type": "array",
                "description": (
                    "google.rpc details: an ErrorInfo whose reason is a stable UPPER_SNAKE code to branch "
                    "on, "
                    "and for invalid input a BadRequest listing each field and what is wrong with it."
                ),
                "items": {
                    "type": "object",
                    "properties": {"@type": {"type": "string"}},
                    "additionalProperties": True,
                },
            },
        },
    }
    gateway_tag = "Gateway"
    health_content = {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayHealth"}}}
    paths[HEALTH_PATH] = {
        "get": {
            "operationId": "Gateway_Health",
            "tags": [gateway_tag],
            "security": [],
            "summary": "Reports whether every backend service is serving.",
            "description": "Each backend's state from the gateway's active gRPC health checks.",
            "responses": {
                "200": {"description": "Every backend is serving.", "content": health_content},
                "503": {"description": "At least one backend is not serving.", "content": health_content},
            },
        }
    }
    paths[OPENAPI_PATH] = {
        "get": {
            "operationId": "Gateway_OpenApi",
            "tags": [gateway_tag],
            "security": [],
            "summary": "Returns this OpenAPI document.",
            "description": "This document.",
            "responses": {
                "200": {
                    "description": "OpenAPI 3 document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    schemas.components["GatewayHealth"] = {
        "type": "object",
        "required": ["status", "backends"],
        "properties": {
            "status": {
                "type": "string",
                "enum": ["SERVING", "NOT_SERVING"],
                "description": "SERVING when every backend is.",
            },
            "backends": {
                "type": "object",
                "description": "Each backend service's state.",
                "additionalProperties": {"type": "string", "enum": ["SERVING", "NOT_SERVING"]},
            },
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "NexaFi API",
            "version": "v1",
            "description": (
                "Generated from the protobuf contracts (google.api.http bindings). JSON field "
                "names as in the proto; enums as value names; 64-bit integers as strings; "
                "unknown query parameters are rejected (400). Send an Idempotency-Key header "
                "on creating routes to make retries safe."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "responses": {
                ERROR_SCHEMA: {
                    "description": "An error",
                    "headers": RESPONSE_HEADERS,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
                    },
                }
            },
            "schemas": dict(sorted(schemas.components.items())),
        },
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m services.gateway.openapi [OUT]``: the document of every service."""
    args = sys.argv[1:] if argv is None else argv
    text = json.dumps(build_document(), indent=1)
    if args:
        Path(args[0]).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
