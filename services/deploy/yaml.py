"""A small YAML emitter for the subset Kubernetes manifests need: dict, list, str, int, bool, None.

PyYAML is not a dependency, and manifests need no anchors, tags, floats or multi-line
blocks. Output is block style (``key: value``, ``- item``), keys in insertion order.
A string is written plain only when no YAML 1.1 or 1.2 reader could take it for
anything else (a number, a boolean, null, a date, an indicator); every other string
is double-quoted with JSON escaping, which is valid YAML. Anything else (a float, a
tuple, a non-string key) is refused rather than guessed at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

# Plain scalars: start with a letter or '/', then a conservative character set. ':' is
# allowed inside ("user:50051") but never before a space or at the end; no '#', quotes,
# brackets, braces, commas, '&', '*', '!', '|', '>', '%', '@' or '`'.
_PLAIN = re.compile(r"[A-Za-z/][A-Za-z0-9_./ :=+-]*")
# Words YAML 1.1 (which Go's yaml.v2, used by kubectl, speaks) reads as booleans or null.
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})

Value = dict[str, "Value"] | list["Value"] | str | int | bool | None


def scalar(value: object) -> str:
    """One scalar as YAML text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value if _is_plain(value) else json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as YAML "
                    "(supported: str, int, bool, None)")


def _is_plain(text: str) -> bool:
    return (_PLAIN.fullmatch(text) is not None
            and text.lower() not in _RESERVED
            and not text.endswith((" ", ":"))
            and ": " not in text
            and "  " not in text)


def _is_block(value: object) -> bool:
    return isinstance(value, dict | list) and len(value) > 0


def _lines(value: object, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines: list[str] = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"mapping keys must be strings, got {key!r}")
            if _is_block(item):
                lines.append(f"{pad}{scalar(key)}:")
                lines.extend(_lines(item, indent + 2))
            else:
                lines.append(f"{pad}{scalar(key)}: {_inline(item)}")
        return lines
    if isinstance(value, list):
        if not value:
            return [pad + "[]"]
        lines = []
        for item in value:
            if _is_block(item):
                # The item's block, indented under "- ": its first line shares the dash's line.
                inner = _lines(item, indent + 2)
                lines.append(pad + "- " + inner[0][indent + 2:])
                lines.extend(inner[1:])
            else:
                lines.append(f"{pad}- {_inline(item)}")
        return lines
    return [pad + scalar(value)]


def _inline(value: object) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def dump(value: object) -> str:
    """One YAML document (without a ``---`` marker), ending with a newline."""
    return "\n".join(_lines(value, 0)) + "\n"


def dump_all(documents: Iterable[object], header: str = "") -> str:
    """Several documents separated by ``---``; ``header`` (comment lines) goes first."""
    parts = [dump(document) for document in documents]
    body = "---\n".join(parts)
    return header + body
