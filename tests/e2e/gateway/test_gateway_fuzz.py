"""Schemathesis over every operation of the served OpenAPI document, through the real Envoy in front
of every real service: schema-conforming and schema-breaking requests, as an ordinary customer
(anonymous on the public routes). No answer may be a 5xx, every answer must match the document,
and every error is the JSON error shape.

Bounded and deterministic: a few examples per operation and generation mode, derandomized (the
same requests on every run), no shrinking, no example database.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from services.devtools.embedded_s3 import EmbeddedS3
from services.gateway.settings import RateLimit
from tests.e2e.gateway.conftest import ERROR_KEYS, Gateway, register_customer, start_gateway, stop, upstream

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SPEC_MODULES = ("user", "ledger", "analytics", "ai", "credit", "payment", "document")
# About 1,200 requests, a minute or two; NEXAFI_FUZZ_EXAMPLES=50 for a deeper run by hand.
EXAMPLES_PER_MODE = int(os.environ.get("NEXAFI_FUZZ_EXAMPLES", "8"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_MODE,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


@pytest.fixture(scope="module")
def gateway(s3: EmbeddedS3, services, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    specs = [pytest.importorskip(f"services.{name}.spec").SPEC for name in SPEC_MODULES]
    # Dependency order: each service finds the ones started before it. Budgets out of the way:
    # the fuzzer is one address and one customer sending hundreds of requests.
    upstreams = {spec.name: upstream(services.start(spec)) for spec in specs}
    roomy = RateLimit(100_000, 1)
    yield from stop(
        start_gateway(
            module_tmp,
            upstreams,
            keys_dir,
            rate_limit_global=roomy,
            rate_limit_user=roomy,
            rate_limit_client=roomy,
            rate_limit_auth=roomy,
        )
    )


def json_error_body(response: Any) -> str | None:
    """Why an error reply (a schemathesis Response: header values are lists) is not the JSON
    error shape, or None when it is."""
    if response.status_code < 400:
        return None
    content_type = ",".join(response.headers.get("content-type", []))
    if not content_type.startswith("application/json"):
        return f"error {response.status_code} is {content_type!r}, not JSON"
    try:
        body = response.json()
    except ValueError:
        return f"error {response.status_code} has a body that is not JSON: {response.text[:200]!r}"
    if not isinstance(body, dict) or not set(body) >= ERROR_KEYS or not body["message"]:
        return f"error {response.status_code} does not name the problem: {response.text[:200]!r}"
    return None


def own(case: Any, user_id: str) -> None:
    """Point a well-formed request at the customer's own data, so that it passes authorization
    and reaches the services' validation and storage instead of stopping at PERMISSION_DENIED."""
    for container in (case.path_parameters, case.query, case.body):
        if isinstance(container, dict) and "user_id" in container:
            container["user_id"] = user_id


def test_every_operation_survives_the_fuzzer(gateway: Gateway):
    customer = register_customer(gateway)
    schema = schemathesis.openapi.from_url(gateway.url("/api/v1/openapi.json"))
    document = requests.get(gateway.url("/api/v1/openapi.json"), timeout=10).json()
    operations = [result.ok() for result in schema.get_all_operations()]
    declared = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    # Schemathesis leaves out the document's own operation (GET /api/v1/openapi.json, which
    # takes no input): the OpenAPI route test checks it.
    fuzzed = {(op.method.lower(), op.path) for op in operations}
    assert fuzzed == declared - {("get", "/api/v1/openapi.json")}, "every operation is fuzzed"

    failures: list[str] = []
    sent = 0
    for operation in operations:
        public = operation.definition.raw.get("security") == []
        headers = {} if public else {"authorization": f"Bearer {customer['token']}"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            count, seen = fuzz(operation, mode, gateway.base, headers, customer["id"])
            sent += count
            if seen:
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}):\n"
                    + "\n".join(dict.fromkeys(seen))
                )
    print(json.dumps({"operations": len(operations), "requests": sent, "failing": len(failures)}))
    assert not failures, f"{len(failures)} of {2 * len(operations)} runs failed:\n\n" + "\n\n".join(failures)


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]


def fuzz(
    operation: Any, mode: GenerationMode, base_url: str, headers: dict[str, str], user_id: str
) -> tuple[int, list[str]]:
    """Run one operation's examples of one mode: how many requests went out, and every problem
    seen (all of them, not just the first: one run reports everything)."""
    seen: list[str] = []
    sent = 0

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal sent
        sent += 1
        if mode is GenerationMode.POSITIVE:
            own(case, user_id)
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        shape = json_error_body(response)
        if shape:
            seen.append(f"{shape}\n  {case.as_curl_command(headers=headers)}")
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as error:  # reported all at once by the caller
            seen.append(f"{type(error).__name__}: {str(error)[:1500]}")

    try:
        run()
    except Unsatisfiable:
        # Nothing to break: an operation without parameters or body has no negative case.
        if mode is not GenerationMode.NEGATIVE:
            raise
    except (Exception, BaseExceptionGroup) as error:  # e.g. an error on sending
        seen.append(f"{type(error).__name__}: {str(error)[:1500]}")
    return sent, seen
