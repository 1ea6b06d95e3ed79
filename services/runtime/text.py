"""Hostile text refused at the edge, once, for every RPC of every service.

The server interceptor checks every string field of every request message, recursively
through nested messages, repeated fields and maps (keys and values), before a servicer
sees it. Refused with INVALID_ARGUMENT (reason ``CONTROL_CHARACTERS`` or ``INVALID_UTF8``)
and a BadRequest field violation per offending field path, such as ``metadata["k"]``,
``items[2].note`` or ``address.line1``:

* **control characters**: C0 (U+0000 to U+001F), DEL (U+007F) and C1 (U+0080 to U+009F). NUL
  is refused by PostgreSQL's text type (a 500 before this check); the others break logs,
  CSV exports and terminal output, and no identifier, name, code or token needs them.
  Tab, line feed and carriage return are allowed in free-text fields only (the field
  names in ``FREE_TEXT_FIELDS``: descriptions, reasons, notes), where a person may write
  more than one line.
* **invalid UTF-8**: protobuf refuses to parse such a message at all (grpcio then answers
  INTERNAL); the interceptor catches that and names the first field whose bytes are not
  UTF-8, read from the wire format.

Cost: the set fields are visited once (``ListFields``), their strings concatenated and
scanned by two C-level regular expressions; only a refused request is walked again to
name its fields. ``tests/benchmarks/runtime_bench.py`` prints the cost per request.
"""

from __future__ import annotations

import json
import re
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from services.runtime.errors import FieldViolation, InvalidArgument

# Fields where a person writes prose: line breaks and tabs are allowed there.
FREE_TEXT_FIELDS = frozenset(
    {
        "description",
        "purpose_description",
        "reason",
        "rejection_reason",
        "note",
        "explanation",
        "message",
        "detail",
    }
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_PROSE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

CONTROL_DESCRIPTION = "must not contain control characters (U+0000-U+001F, U+007F-U+009F)"
PROSE_DESCRIPTION = "must not contain control characters other than tab, line feed and carriage return"
UTF8_DESCRIPTION = "must be valid UTF-8"

_STRING = FieldDescriptor.TYPE_STRING
_MESSAGE = FieldDescriptor.TYPE_MESSAGE

# What to do with each field, by descriptor: decided once, as descriptors never change.
_SKIP, _TEXT, _PROSE, _TEXTS, _PROSES, _MSG, _MSGS, _MAP = range(8)
_plans: dict[FieldDescriptor, int] = {}


def _plan(field: FieldDescriptor) -> int:
    plan = _plans.get(field)
    if plan is not None:
        return plan
    repeated = field.is_repeated
    if field.type == _STRING:
        prose = field.name in FREE_TEXT_FIELDS
        plan = (_PROSES if prose else _TEXTS) if repeated else (_PROSE if prose else _TEXT)
    elif field.type == _MESSAGE:
        plan = _MAP if field.message_type.GetOptions().map_entry else _MSGS if repeated else _MSG
    else:
        plan = _SKIP
    _plans[field] = plan
    return plan


def text_violations(message: Message) -> list[FieldViolation]:
    """Every string field of ``message`` (at any depth) that holds a refused character."""
    strict: list[str] = []
    prose: list[str] = []
    _collect(message, strict, prose)
    # Concatenation neither makes nor hides a control character: one scan per kind of field,
    # and the walk that names the fields only runs for a request that is refused.
    if _CONTROL.search("".join(strict)) is None and _CONTROL_IN_PROSE.search("".join(prose)) is None:
        return []
    found: list[FieldViolation] = []
    _walk(message, "", found)
    return found


def check_text(message: Message) -> None:
    """INVALID_ARGUMENT (``CONTROL_CHARACTERS``) naming each field that holds a refused character."""
    found = text_violations(message)
    if found:
        raise InvalidArgument(
            f"control characters in {', '.join(v.field for v in found)}",
            violations=found,
            reason="CONTROL_CHARACTERS",
        )


def _collect(message: Message, strict: list[str], prose: list[str]) -> None:
    for field, value in message.ListFields():
        plan = _plans.get(field)
        if plan is None:
            plan = _plan(field)
        if plan == _TEXT:
            strict.append(value)
        elif plan == _SKIP:
            continue
        elif plan == _PROSE:
            prose.append(value)
        elif plan == _MSG:
            _collect(value, strict, prose)
        elif plan == _TEXTS:
            strict.extend(value)
        elif plan == _PROSES:
            prose.extend(value)
        elif plan == _MSGS:
            for item in value:
                _collect(item, strict, prose)
        else:
            value_type = field.message_type.fields_by_name["value"].type
            for key in value:
                if isinstance(key, str):
                    strict.append(key)
                if value_type == _STRING:
                    strict.append(value[key])
                elif value_type == _MESSAGE:
                    _collect(value[key], strict, prose)


def _walk(message: Message, prefix: str, found: list[FieldViolation]) -> None:
    for field, value in message.ListFields():
        plan = _plan(field)
        if plan == _SKIP:
            continue
        path = prefix + field.name
        if plan == _TEXT:
            if _CONTROL.search(value):
                found.append(FieldViolation(path, CONTROL_DESCRIPTION))
        elif plan == _PROSE:
            if _CONTROL_IN_PROSE.search(value):
                found.append(FieldViolation(path, PROSE_DESCRIPTION))
        elif plan == _MSG:
            _walk(value, path + ".", found)
        elif plan in (_TEXTS, _PROSES):
            pattern, description = (
                (_CONTROL_IN_PROSE, PROSE_DESCRIPTION) if plan == _PROSES else (_CONTROL, CONTROL_DESCRIPTION)
            )
            for i, item in enumerate(value):
                if pattern.search(item):
                    found.append(FieldViolation(f"{path}[{i}]", description))
        elif plan == _MSGS:
            for i, item in enumerate(value):
                _walk(item, f"{path}[{i}].", found)
        else:
            _walk_map(field, value, path, found)


def _walk_map(field: FieldDescriptor, value: Any, path: str, found: list[FieldViolation]) -> None:
    value_type = field.message_type.fields_by_name["value"].type
    for key in value:
        if isinstance(key, str) and _CONTROL.search(key):
            # The key itself is hostile: name the map, never echo the key.
            found.append(FieldViolation(path, "keys " + CONTROL_DESCRIPTION))
            continue
        if value_type == _STRING:
            if _CONTROL.search(value[key]):
                found.append(FieldViolation(f"{path}[{json.dumps(key)}]", CONTROL_DESCRIPTION))
        elif value_type == _MESSAGE:
            _walk(value[key], f"{path}[{json.dumps(key)}].", found)


# -- invalid UTF-8 -------------------------------------------------------------------------------
class Undecodable:
    """A request message protobuf could not parse; the interceptor refuses it with the field."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def refuse_undecodable(descriptor: Descriptor | None, data: bytes) -> InvalidArgument:
    """The error for a request that does not parse: the first non-UTF-8 string field, if any."""
    path = _bad_utf8_path(descriptor, data, "") if descriptor is not None else None
    if path is not None:
        return InvalidArgument(
            f"{path} is not valid UTF-8", field=path, description=UTF8_DESCRIPTION, reason="INVALID_UTF8"
        )
    return InvalidArgument("the request message cannot be parsed", reason="MALFORMED_REQUEST")


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _bad_utf8_path(descriptor: Descriptor, data: bytes, prefix: str) -> str | None:
    """Walk the wire format of ``data`` as ``descriptor``; the path of the first non-UTF-8 string."""
    seen: dict[int, int] = {}
    pos = 0
    try:
        while pos < len(data):
            key, pos = _varint(data, pos)
            number, wire = key >> 3, key & 7
            if wire == 0:
                _, pos = _varint(data, pos)
                continue
            if wire == 1 or wire == 5:
                pos += 8 if wire == 1 else 4
                continue
            if wire != 2:
                return None  # groups, or garbage: nothing to name
            length, pos = _varint(data, pos)
            chunk, pos = data[pos : pos + length], pos + length
            field = descriptor.fields_by_number.get(number)
            if field is None:
                continue
            index = seen.get(number, 0)
            seen[number] = index + 1
            name = prefix + field.name + (f"[{index}]" if field.is_repeated else "")
            if field.type == _STRING:
                try:
                    chunk.decode("utf-8")
                except UnicodeDecodeError:
                    return name
            elif field.type == _MESSAGE:
                if field.message_type.GetOptions().map_entry:
                    inner = _bad_utf8_path(field.message_type, chunk, "")
                    if inner is not None:
                        return prefix + field.name
                else:
                    inner = _bad_utf8_path(field.message_type, chunk, name + ".")
                    if inner is not None:
                        return inner
    except ValueError:
        return None
    return None
