"""The REST bindings (``google.api.http``) of the contracts, read from the descriptor set.

Envoy's routes, the transcoder's service list and the OpenAPI document are all
derived from this one list, so they cannot drift from the protos.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, ServiceDescriptor

from services.runtime.generated import DESCRIPTOR, GEN

DEFAULT_DESCRIPTOR_SET = GEN / DESCRIPTOR
# A path template variable: {name} or {name=pattern/**}.
_VARIABLE = re.compile(r"\{([a-zA-Z0-9_.]+)(?:=[^}]*)?\}")


@dataclass(frozen=True)
class Binding:
    """One HTTP method + path template bound to one gRPC method."""

    service: str  # full gRPC service name, e.g. nexafi.user.v1.UserService
    method: str  # short RPC name, e.g. GetUser
    http_method: str  # upper case: GET, POST, PUT, PATCH, DELETE
    path: str  # the template as written in the proto, e.g. /api/v1/users/{user_id}
    body: str  # "" (no body), "*" or a request field name
    response_body: str
    request_type: str  # full message names
    response_type: str
    client_streaming: bool
    server_streaming: bool
    additional: bool  # an additional_bindings entry rather than the primary rule

    @property
    def full_method(self) -> str:
        return f"/{self.service}/{self.method}"

    @property
    def path_variables(self) -> list[str]:
        return _VARIABLE.findall(self.path)

    @property
    def openapi_path(self) -> str:
        """The template with ``{name=pattern}`` reduced to ``{name}`` (OpenAPI's syntax)."""
        return _VARIABLE.sub(lambda m: "{" + m.group(1) + "}", self.path)

    @property
    def route_prefix(self) -> str:
        """The path-separated prefix Envoy routes on: the first three segments (/api/v1/<resource>)."""
        segments = self.path.split("/")
        resource = segments[3].split(":", 1)[0] if len(segments) > 3 else ""
        return "/".join([*segments[:3], resource])


def _rules(rule: http_pb2.HttpRule) -> list[tuple[http_pb2.HttpRule, bool]]:
    return [(rule, False)] + [(extra, True) for extra in rule.additional_bindings]


def _verb_and_path(rule: http_pb2.HttpRule) -> tuple[str, str]:
    pattern = rule.WhichOneof("pattern")
    if pattern is None:
        raise ValueError("an HttpRule without a pattern")
    if pattern == "custom":
        return rule.custom.kind.upper(), rule.custom.path
    return pattern.upper(), str(getattr(rule, pattern))


@cache
def load_pool(
    descriptor_set: Path = DEFAULT_DESCRIPTOR_SET,
) -> tuple[descriptor_pool.DescriptorPool, descriptor_pb2.FileDescriptorSet]:
    """A descriptor pool built from the set (independent of the generated Python modules)."""
    # Importing annotations_pb2 registers the google.api.http extension, so parsing the
    # set below keeps the HttpRule options instead of leaving them as unknown fields.
    assert annotations_pb2.http is not None
    file_set = descriptor_pb2.FileDescriptorSet.FromString(Path(descriptor_set).read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file_proto in file_set.file:
        pool.Add(file_proto)
    return pool, file_set


def message(name: str, descriptor_set: Path = DEFAULT_DESCRIPTOR_SET) -> Descriptor:
    return load_pool(descriptor_set)[0].FindMessageTypeByName(name)


def service_descriptor(name: str, descriptor_set: Path = DEFAULT_DESCRIPTOR_SET) -> ServiceDescriptor:
    return load_pool(descriptor_set)[0].FindServiceByName(name)


def bindings(
    descriptor_set: Path = DEFAULT_DESCRIPTOR_SET, services: list[str] | None = None
) -> list[Binding]:
    """Every binding of every service (or only of ``services``, full names), in proto order."""
    _pool, file_set = load_pool(descriptor_set)
    found: list[Binding] = []
    for file_proto in file_set.file:
        for service in file_proto.service:
            full_service = f"{file_proto.package}.{service.name}"
            if services is not None and full_service not in services:
                continue
            for method in service.method:
                if not method.options.HasExtension(annotations_pb2.http):
                    continue
                rule = method.options.Extensions[annotations_pb2.http]
                for each, additional in _rules(rule):
                    verb, path = _verb_and_path(each)
                    found.append(
                        Binding(
                            service=full_service,
                            method=method.name,
                            http_method=verb,
                            path=path,
                            body=each.body,
                            response_body=each.response_body,
                            request_type=method.input_type.lstrip("."),
                            response_type=method.output_type.lstrip("."),
                            client_streaming=method.client_streaming,
                            server_streaming=method.server_streaming,
                            additional=additional,
                        )
                    )
    return found
