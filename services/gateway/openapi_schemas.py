"""OpenAPI schemas of proto messages and enums, as the transcoder's JSON mapping prints them
(see openapi.py): component schemas for what the operations reach, with the proto comments
as their descriptions."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.descriptor_pool import DescriptorPool


def described(schema: dict[str, Any], description: str | None) -> dict[str, Any]:
    if not description:
        return schema
    if "$ref" in schema:
        # OpenAPI 3.0 ignores the siblings of a $ref: wrap it to say what this property is.
        return {"allOf": [schema], "description": description}
    own = schema.get("description")
    return {**schema, "description": f"{description}\n\n{own}" if own else description}


_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}
_INT32 = {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32}
_UINT32 = {FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32}

# Well-known types have their own JSON mapping (proto3 JSON spec).
WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": r"^-?\d+(\.\d+)?s$",
        "description": "A duration in seconds with an 's' suffix, e.g. \"1.5s\".",
    },
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": 'Comma-separated field paths, e.g. "display_name,phone".',
    },
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {"description": "Any JSON value."},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "additionalProperties": True,
    },
    "google.protobuf.StringValue": {"type": "string", "nullable": True},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte", "nullable": True},
    "google.protobuf.BoolValue": {"type": "boolean", "nullable": True},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32", "nullable": True},
    "google.protobuf.UInt32Value": {"type": "integer", "format": "int64", "minimum": 0, "nullable": True},
    "google.protobuf.Int64Value": {"type": "string", "format": "int64", "nullable": True},
    "google.protobuf.UInt64Value": {"type": "string", "format": "uint64", "nullable": True},
    "google.protobuf.DoubleValue": {"type": "number", "format": "double", "nullable": True},
    "google.protobuf.FloatValue": {"type": "number", "format": "float", "nullable": True},
}
HTTP_BODY = "google.api.HttpBody"


class Schemas:
    """Collects component schemas for the messages and enums that operations reach."""

    def __init__(self, pool: DescriptorPool, comments: dict[str, str] | None = None) -> None:
        self.pool = pool
        self.comments = comments or {}
        self.components: dict[str, dict[str, Any]] = {}

    def ref(self, name: str) -> dict[str, Any]:
        # Full proto names: unique across packages, and dots are legal in component names.
        return {"$ref": f"#/components/schemas/{name}"}

    def enum(self, enum: EnumDescriptor) -> dict[str, Any]:
        name = enum.full_name
        if name not in self.components:
            lines = [self.comments.get(name, f"Enum {name}, as value names.")]
            lines += [
                f"- `{v.name}`: {self.comments[f'{name}.{v.name}']}"
                for v in enum.values
                if f"{name}.{v.name}" in self.comments
            ]
            self.components[name] = {
                "type": "string",
                "enum": [v.name for v in enum.values],
                "description": "\n\n".join(lines),
            }
        return self.ref(name)

    def message(self, message: Descriptor) -> dict[str, Any]:
        name = message.full_name
        if name in WELL_KNOWN:
            return dict(WELL_KNOWN[name])
        if name == HTTP_BODY:
            return {"type": "string", "format": "binary"}
        if name not in self.components:
            self.components[name] = {}  # placeholder first: recursive messages
            self.components[name] = self.object(message)
        return self.ref(name)

    def object(self, message: Descriptor, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for field in message.fields:
            if field.name in exclude:
                continue
            properties[field.name] = described(self.field(field), self.comments.get(field.full_name))
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        description = self.comments.get(message.full_name, "")
        oneofs = [o for o in message.oneofs if not (len(o.fields) == 1 and o.name.startswith("_"))]
        if oneofs:
            description = "\n\n".join(
                filter(
                    None,
                    [
                        description,
                        " ".join(
                            f"At most one of {', '.join(f.name for f in o.fields)} (oneof {o.name})."
                            for o in oneofs
                        ),
                    ],
                )
            )
        if description:
            schema["description"] = description
        if oneofs:
            schema["x-oneofs"] = {o.name: [f.name for f in o.fields] for o in oneofs}
        return schema

    def scalar(self, field: FieldDescriptor) -> dict[str, Any]:
        kind = field.type
        if kind in _INT64:
            # The transcoder prints 64-bit integers as JSON strings (they overflow JS numbers);
            # it accepts either a string or a number on input.
            return {
                "type": "string",
                "format": "int64" if kind != FieldDescriptor.TYPE_UINT64 else "uint64",
                "pattern": r"^-?\d+$",
            }
        if kind in _INT32:
            return {"type": "integer", "format": "int32"}
        if kind in _UINT32:
            return {"type": "integer", "format": "int64", "minimum": 0}
        if kind == FieldDescriptor.TYPE_BOOL:
            return {"type": "boolean"}
        if kind == FieldDescriptor.TYPE_DOUBLE:
            return {"type": "number", "format": "double"}
        if kind == FieldDescriptor.TYPE_FLOAT:
            return {"type": "number", "format": "float"}
        if kind == FieldDescriptor.TYPE_STRING:
            return {"type": "string"}
        if kind == FieldDescriptor.TYPE_BYTES:
            return {"type": "string", "format": "byte"}
        if kind == FieldDescriptor.TYPE_ENUM:
            return self.enum(field.enum_type)
        return self.message(field.message_type)

    def field(self, field: FieldDescriptor) -> dict[str, Any]:
        message = field.message_type
        if message is not None and message.GetOptions().map_entry:
            return {"type": "object", "additionalProperties": self.scalar(message.fields_by_name["value"])}
        value = self.scalar(field)
        if field.is_repeated:
            return {"type": "array", "items": value}
        return value
