"""The proto comments as the OpenAPI document uses them: read from gen/nexafi.docs.pb (the
descriptor set with source info) and keyed by each element's full name."""

from __future__ import annotations

from pathlib import Path

from services.gateway.bindings import DEFAULT_DESCRIPTOR_SET
from services.runtime.generated import DOCS_DESCRIPTOR

_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_ENUM_VALUE, _SERVICE_METHOD = 2, 2


def _clean(comment: str) -> str:
    """A proto comment as Markdown: wrapped lines joined, blank lines and list items kept."""
    paragraphs: list[list[str]] = [[]]
    for raw in comment.strip("\n").split("\n"):
        line = raw.strip()
        if not line:
            paragraphs.append([])
        elif line.startswith(("- ", "* ")):
            paragraphs.append([line])
        else:
            paragraphs[-1].append(line)
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def load_comments(descriptor_set: Path = DEFAULT_DESCRIPTOR_SET) -> dict[str, str]:
    """The proto comment of each message, field, enum, enum value, service and method, by full name
    (``pkg.Message.field``, ``pkg.Service.Method``); empty when the comments file is absent."""
    from google.protobuf import descriptor_pb2

    path = Path(descriptor_set).with_name(DOCS_DESCRIPTOR)
    if not path.is_file():
        return {}
    file_set = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())
    # (full name, source path) of everything that may carry a comment, walked per file.
    named: list[tuple[str, tuple[int, ...]]] = []

    def enum(e: descriptor_pb2.EnumDescriptorProto, name: str, at: tuple[int, ...]) -> None:
        named.append((name, at))
        named.extend((f"{name}.{v.name}", (*at, _ENUM_VALUE, i)) for i, v in enumerate(e.value))

    def message(m: descriptor_pb2.DescriptorProto, name: str, at: tuple[int, ...]) -> None:
        named.append((name, at))
        named.extend((f"{name}.{f.name}", (*at, _MESSAGE_FIELD, i)) for i, f in enumerate(m.field))
        for i, nested in enumerate(m.nested_type):
            message(nested, f"{name}.{nested.name}", (*at, _MESSAGE_NESTED, i))
        for i, e in enumerate(m.enum_type):
            enum(e, f"{name}.{e.name}", (*at, _MESSAGE_ENUM, i))

    found: dict[str, str] = {}
    for file in file_set.file:
        named.clear()
        for i, m in enumerate(file.message_type):
            message(m, f"{file.package}.{m.name}", (_FILE_MESSAGE, i))
        for i, e in enumerate(file.enum_type):
            enum(e, f"{file.package}.{e.name}", (_FILE_ENUM, i))
        for i, service in enumerate(file.service):
            named.append((f"{file.package}.{service.name}", (_FILE_SERVICE, i)))
            named.extend(
                (f"{file.package}.{service.name}.{method.name}", (_FILE_SERVICE, i, _SERVICE_METHOD, j))
                for j, method in enumerate(service.method)
            )
        by_path = {
            tuple(loc.path): loc.leading_comments or loc.trailing_comments
            for loc in file.source_code_info.location
        }
        for name, at in named:
            text = by_path.get(at)
            if text:
                found[name] = _clean(text)
    return found


def summary(description: str) -> str:
    """The first sentence of a description (an operation's one-line summary)."""
    first = description.split("\n\n", 1)[0]
    end = first.find(". ")
    return first if end < 0 else first[: end + 1]
