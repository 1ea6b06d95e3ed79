"""The API as a person meets it, through the real Envoy in front of the real user service: the
documentation page at /api/v1/docs (Swagger UI from the pinned npm package, served by Envoy, rendered
by a real headless Chromium), and the gateway's own errors, which say what was wrong in the API's
terms without internal type names."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.gateway.settings import DOCS_PATH, OPENAPI_PATH, SWAGGER_UI_DIR
from tests.e2e.gateway.conftest import Gateway, assert_error, start_gateway, stop, upstream
from tests.support.harness import TokenFactory

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")

CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def gateway(services, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    assert SWAGGER_UI_DIR.is_dir(), "node_modules/swagger-ui-dist is missing: run `make tools` (npm ci)"
    running = services.start(user_spec.SPEC)
    yield from stop(
        start_gateway(module_tmp, {"user": upstream(running)}, keys_dir, docs_assets_dir=SWAGGER_UI_DIR)
    )


@pytest.fixture(scope="module")
def admin(tokens: TokenFactory) -> str:
    return tokens.make("usr_01DOCSADMIN000000000000000", ["admin"])


def test_the_docs_page_and_its_assets_come_from_the_gateway(gateway: Gateway):
    page = gateway.get(DOCS_PATH)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    # Nothing from another origin: the page's scripts and styles are the gateway's own.
    assert "default-src 'none'" in page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith(f"{DOCS_PATH}/") for s in sources), sources
    kinds = {
        "swagger-ui-bundle.js": "application/javascript",
        "swagger-ui.css": "text/css",
        "init.js": "application/javascript",
    }
    for name, kind in kinds.items():
        asset = gateway.get(f"{DOCS_PATH}/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind), name
    bundle = gateway.get(f"{DOCS_PATH}/swagger-ui-bundle.js").content
    assert bundle == (SWAGGER_UI_DIR / "swagger-ui-bundle.js").read_bytes()
    assert OPENAPI_PATH in gateway.get(f"{DOCS_PATH}/init.js").text
    # No token needed for the documentation, and an unknown asset is the usual JSON 404.
    assert_error(gateway.get(f"{DOCS_PATH}/nothing.js"), 404)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`make test` installs it)")
def test_a_real_browser_renders_every_operation(gateway: Gateway, tmp_path: Path):
    document = gateway.get(OPENAPI_PATH).json()
    operations = [(verb, path, op) for path, item in document["paths"].items() for verb, op in item.items()]
    assert CHROMIUM is not None
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}",
            # Virtual time runs out only once the page is idle: the document fetched and rendered.
            "--virtual-time-budget=30000",
            "--dump-dom",
            gateway.url(DOCS_PATH),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'id="swagger-ui"' in html and "NexaFi API" in html
    rendered = re.findall(r'class="opblock opblock-(\w+)[^"]*".*?data-path="([^"]+)"', html, re.DOTALL)
    assert len(rendered) == len(operations), (len(rendered), len(operations))
    assert {(verb, path) for verb, path in rendered} == {(verb, path) for verb, path, _ in operations}
    # The summaries the proto comments made are what a reader sees beside each operation.
    for _verb, _path, op in operations:
        if "summary" in op:
            summary = op["summary"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            assert summary in html, op["operationId"]


def test_gateway_errors_say_what_was_wrong_in_the_apis_terms(gateway: Gateway, admin: str):
    cases = [
        (("GET", "/api/v1/users?page_sise=3"), 'unknown query parameter "page_sise"'),
        (
            ("GET", "/api/v1/users?page_size=abc"),
            'invalid value for field "page_size": expected a 32-bit integer',
        ),
        (
            ("GET", "/api/v1/users?status=NOPE"),
            'invalid value for field "status": expected a valid UserStatus',
        ),
        (("GET", "/api/v1/users?status.x=1"), 'unknown query parameter: "status" has no fields'),
        (
            ("PUT", "/api/v1/users/usr_x", '{"update_mask": 5}'),
            'invalid value for field "update_mask": expected a comma-separated list of field names',
        ),
        (
            ("POST", "/api/v1/auth/login", '{"login": '),
            "the request body is not valid JSON: unexpected end of",
        ),
        (("POST", "/api/v1/auth/login", "garbage"), "the request body is not valid JSON: unexpected token"),
        (("POST", "/api/v1/auth/login", "[1]"), "the request body must be a JSON object"),
        (
            ("POST", "/api/v1/auth/login", '{"login": "ada", "password": 5}'),
            'invalid value for field "password": expected a string',
        ),
        (("POST", "/api/v1/auth/login?remember=1", "{}"), 'unknown query parameter "remember"'),
    ]
    for request, expected in cases:
        method, path, *body = request
        reply = gateway.request(
            method,
            path,
            token=admin,
            data=body[0] if body else None,
            headers={"content-type": "application/json"},
        )
        error = assert_error(reply, 400)
        assert error["message"].startswith(expected), (request, error["message"])
        # No proto package, message type or parser internals.
        assert not re.search(r"nexafi\.|Request\b|TYPE_|type\.googleapis|googleapis|\^", error["message"]), (
            error["message"]
        )
    missing = assert_error(gateway.get("/api/v1/nowhere", token=admin), 404)
    assert missing["message"] == "no such route: /api/v1/nowhere"


def test_a_services_own_errors_are_left_alone(gateway: Gateway, admin: str):
    # The service's INVALID_ARGUMENT and NOT_FOUND: their gRPC code, message and details as sent.
    invalid = assert_error(gateway.post("/api/v1/auth/register", json={}), 400, grpc_code=3)
    assert invalid["details"]
    missing = assert_error(gateway.get("/api/v1/users/usr_doesnotexist", token=admin), 404, grpc_code=5)
    assert missing["details"]
