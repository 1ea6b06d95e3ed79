"""The rendered Envoy configuration: every variant passes ``envoy --mode validate``, and the
policies the gateway promises are in it (checked on the rendered dict)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from services.devtools.envoy_process import validate
from services.gateway import render as render_cli
from services.gateway.bindings import bindings
from services.gateway.envoy_config import render, write
from services.gateway.envoy_names import (
    CLIENT_ADDRESS_HEADER,
    REQUIRE_SUBJECT_FILTER,
    SUBJECT_HEADER,
    UPLOAD_LIMIT_FILTER,
)
from services.gateway.routes import path_regex
from services.gateway.settings import (
    CONSOLE_DIR,
    GRPC_SERVICES,
    PUBLIC_BINDINGS,
    SWAGGER_UI_DIR,
    GatewaySettings,
    RateLimit,
)
from services.runtime.config import ConfigError
from services.runtime.generated import DESCRIPTOR, GEN

ALL = {name: f"127.0.0.1:{50051 + i}" for i, name in enumerate(GRPC_SERVICES)}


def settings(**overrides: Any) -> GatewaySettings:
    base: dict[str, Any] = {
        "listen_port": 18080,
        "admin_port": 19901,
        "upstreams": ALL,
        "openapi_path": Path("/tmp/openapi.json"),
    }
    base.update(overrides)
    return GatewaySettings(**base)


def hcm(config: dict[str, Any]) -> dict[str, Any]:
    listener = config["static_resources"]["listeners"][0]
    return listener["filter_chains"][0]["filters"][0]["typed_config"]  # type: ignore[no-any-return]


def routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    return hcm(config)["route_config"]["virtual_hosts"][0]["routes"]  # type: ignore[no-any-return]


def http_filter(config: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in hcm(config)["http_filters"]:
        if entry["name"] == name:
            return entry["typed_config"]  # type: ignore[no-any-return]
    raise KeyError(name)


def assert_valid(path: Path) -> None:
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


# --- envoy --mode validate on every variant ---------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "all-services-self-jwks",
        "file-jwks",
        "https-jwks",
        "no-services",
        "ledger-only-cors-any",
        "observed-with-docs",
    ],
)
def test_local_variants_validate(tmp_path: Path, keys_dir: Path, variant: str):
    jwks = str(keys_dir / "jwks.json")
    options: dict[str, Any] = {
        "all-services-self-jwks": {},
        "file-jwks": {"jwks_source": jwks},
        "https-jwks": {"jwks_source": "https://keys.nexafi.example/api/v1/auth/jwks"},
        "no-services": {"upstreams": {}, "jwks_source": jwks},
        "ledger-only-cors-any": {"upstreams": {"ledger": "127.0.0.1:50053"}, "cors_origins": ("*",)},
        "observed-with-docs": {
            "metrics_port": 19460,
            "otlp_endpoint": "http://otel-collector:4317",
            "docs_assets_dir": SWAGGER_UI_DIR,
        },
    }[variant]
    path = write(settings(openapi_path=None, **options), tmp_path / "envoy.json")
    assert (tmp_path / "openapi.json").is_file()
    assert_valid(path)


def test_k8s_render_validates_with_the_image_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in list(GRPC_SERVICES):
        monkeypatch.delenv(f"{name.upper()}_ADDR", raising=False)
    out = tmp_path / "k8s" / "envoy.json"
    assert render_cli.main(["--target", "k8s", "--out", str(out)]) == 0
    config = json.loads(out.read_text())
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    address = clusters["ledger"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert address["socket_address"] == {"address": "ledger", "port_value": 50053}  # cluster DNS
    text = out.read_text()
    # The descriptor set and the OpenAPI document are the image's (k8s/Dockerfile).
    assert '"/app/gen/nexafi.pb"' in text and '"/app/gateway/openapi.json"' in text
    # What the image holds there, here in a temporary folder.
    image = tmp_path / "image"
    image.mkdir()
    shutil.copy(GEN / DESCRIPTOR, image / "nexafi.pb")
    shutil.copy(out.with_name("openapi.json"), image / "openapi.json")
    local = tmp_path / "k8s-local.json"
    # Swagger UI's assets are in the image at /app/swagger-ui, the console at
    # /app/services/gateway/console; here in node_modules and the checkout.
    assert str(render_cli.K8S_CONSOLE_DIR / "console.js") in text
    local.write_text(
        text.replace("/app/gen/nexafi.pb", f"{image}/nexafi.pb")
        .replace("/app/gateway/openapi.json", f"{image}/openapi.json")
        .replace(str(render_cli.K8S_DOCS_ASSETS_DIR), str(SWAGGER_UI_DIR))
        .replace(str(render_cli.K8S_CONSOLE_DIR), str(CONSOLE_DIR))
    )
    assert_valid(local)


def test_local_cli_renders_every_service(tmp_path: Path):
    out = tmp_path / "envoy.json"
    assert render_cli.main(["--target", "local", "--out", str(out), "--services", "user,ledger"]) == 0
    config = json.loads(out.read_text())
    assert http_filter(config, "envoy.filters.http.grpc_json_transcoder")["services"] == [
        GRPC_SERVICES["user"],
        GRPC_SERVICES["ledger"],
    ]
    assert_valid(out)


# --- transcoding ------------------------------------------------------------------------------


def test_transcoder_options():
    transcoder = http_filter(render(settings()), "envoy.filters.http.grpc_json_transcoder")
    assert transcoder["services"] == list(GRPC_SERVICES.values())
    assert transcoder["convert_grpc_status"] is True
    assert transcoder["print_options"]["preserve_proto_field_names"] is True
    assert transcoder["print_options"]["always_print_enums_as_ints"] is False
    validation = transcoder["request_validation_options"]
    assert validation["reject_unknown_method"] is True
    assert validation["reject_unknown_query_parameters"] is True
    assert transcoder["match_incoming_request_route"] is True


def _route_for(config: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The first route Envoy would pick for ``method path`` (enough of Envoy's matching for these routes)."""
    for route in routes(config):
        match = route["match"]
        methods = [h["string_match"]["exact"] for h in match.get("headers", []) if h["name"] == ":method"]
        if methods and method not in methods:
            continue
        if "path" in match and match["path"] == path:
            return route
        if "safe_regex" in match and re.fullmatch(match["safe_regex"]["regex"], path):
            return route
        prefix = match.get("path_separated_prefix")
        if prefix and (path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + ":")):
            return route
    raise AssertionError(f"no route for {method} {path}")


def _example(template: str) -> str:
    return re.sub(r"\{[^}]*\}", "x_1", template)


def test_every_binding_is_routed_to_its_service_with_the_right_auth():
    config = render(settings())
    cluster_of = {full: short for short, full in GRPC_SERVICES.items()}
    for binding in bindings():
        route = _route_for(config, binding.http_method, _example(binding.path))
        assert route["route"]["cluster"] == cluster_of[binding.service], binding
        jwt = route["typed_per_filter_config"]["envoy.filters.http.jwt_authn"]
        if (binding.http_method, binding.path) in PUBLIC_BINDINGS:
            assert jwt == {"@type": jwt["@type"], "disabled": True}, binding
        else:
            assert jwt["requirement_name"] == "required", binding


def test_only_routed_services_are_transcoded_and_routed():
    config = render(settings(upstreams={"ledger": "127.0.0.1:50053"}))
    assert http_filter(config, "envoy.filters.http.grpc_json_transcoder")["services"] == [
        GRPC_SERVICES["ledger"]
    ]
    clusters = {c["route"]["cluster"] for c in routes(config) if "route" in c}
    assert clusters == {"ledger"}


def test_path_regex():
    regex = path_regex("/api/v1/payments/connectors/{connector}/callbacks")
    assert re.fullmatch(regex, "/api/v1/payments/connectors/sandbox/callbacks")
    assert not re.fullmatch(regex, "/api/v1/payments/connectors/a/b/callbacks")
    assert re.fullmatch(path_regex("/files/{name=**}"), "/files/a/b/c")


# --- authentication ---------------------------------------------------------------------------


def test_the_client_address_header_is_set_by_envoy_over_anything_a_client_sent():
    # The user service throttles logins per client address; a client must not choose its bucket.
    host = hcm(render(settings()))["route_config"]["virtual_hosts"][0]
    assert host["request_headers_to_add"] == [
        {
            "header": {"key": CLIENT_ADDRESS_HEADER, "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"},
            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
        }
    ]


def test_jwt_provider_reads_only_the_authorization_header_and_forwards_it():
    provider = http_filter(render(settings()), "envoy.filters.http.jwt_authn")["providers"]["nexafi"]
    assert provider["from_headers"] == [{"name": "Authorization", "value_prefix": "Bearer "}]
    assert "from_params" not in provider
    assert provider["forward"] is True
    assert provider["claim_to_headers"] == [{"header_name": SUBJECT_HEADER, "claim_name": "sub"}]
    assert provider["audiences"] == ["nexafi-api"] and provider["issuer"] == "nexafi"
    remote = provider["remote_jwks"]
    assert remote["http_uri"]["uri"] == "http://127.0.0.1:18080/api/v1/auth/jwks"  # through itself
    assert remote["async_fetch"]["fast_listener"] is True
    assert remote["retry_policy"]["num_retries"] >= 1
    assert int(remote["cache_duration"].rstrip("s")) <= 60
    assert "jwt_cache_config" in provider


def test_public_routes():
    names = {
        r["name"]
        for r in routes(render(settings()))
        if r.get("typed_per_filter_config", {}).get("envoy.filters.http.jwt_authn", {}).get("disabled")
    }
    assert names == {
        "user.Register",
        "user.Login",
        "user.RefreshToken",
        "user.Logout",
        "user.RequestPasswordReset",
        "user.ConfirmPasswordReset",
        "user.GetJwks",
        "payment.HandleConnectorCallback",
    }


def test_forged_identity_headers_are_stripped_before_jwt_authn():
    config = render(settings())
    names = [f["name"] for f in hcm(config)["http_filters"]]
    assert names.index("envoy.filters.http.lua") < names.index("envoy.filters.http.jwt_authn")
    lua = http_filter(config, "envoy.filters.http.lua")["default_source_code"]["inline_string"]
    assert '"x-nexafi-"' in lua and "headers:remove" in lua
    assert names.index("envoy.filters.http.lua") < names.index("envoy.filters.http.grpc_json_transcoder")


# --- rate limits ------------------------------------------------------------------------------


def test_rate_limits_come_from_settings():
    config = render(
        settings(
            rate_limit_global=RateLimit(500),
            rate_limit_user=RateLimit(7, 2),
            rate_limit_client=RateLimit(9),
            rate_limit_auth=RateLimit(3, 60),
        )
    )
    limiter = http_filter(config, "envoy.filters.http.local_ratelimit")
    assert limiter["token_bucket"]["max_tokens"] == 500
    assert limiter["always_consume_default_token_bucket"] is True
    assert limiter["enable_x_ratelimit_headers"] == "DRAFT_VERSION_03"
    buckets = {
        tuple((e["key"], e.get("value", "")) for e in d["entries"]): d["token_bucket"]
        for d in limiter["descriptors"]
    }
    assert buckets[(("subject", ""),)] == {"max_tokens": 7, "tokens_per_fill": 7, "fill_interval": "2s"}
    assert buckets[(("caller", "public"), ("remote_address", ""))]["max_tokens"] == 9
    assert buckets[(("caller", "sensitive"), ("remote_address", ""))]["fill_interval"] == "60s"
    names = [f["name"] for f in hcm(config)["http_filters"]]
    # Keyed on the subject jwt_authn sets, so after it.
    assert names.index("envoy.filters.http.jwt_authn") < names.index("envoy.filters.http.local_ratelimit")


def test_rate_limit_parse():
    assert RateLimit.parse("100") == RateLimit(100, 1)
    assert RateLimit.parse("10/60") == RateLimit(10, 60)
    assert RateLimit.parse("10/60s") == RateLimit(10, 60)
    with pytest.raises(ValueError):
        RateLimit.parse("0/1")


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_USER", "5/10")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_AUTH", "2/300")
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("GATEWAY_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("GATEWAY_PORT", "8081")
    monkeypatch.setenv("JWT_AUDIENCE", "api-1,api-2")
    loaded = render_cli.settings_from_env({"ledger": "127.0.0.1:1"})
    assert loaded.rate_limit_user == RateLimit(5, 10)
    assert loaded.rate_limit_auth == RateLimit(2, 300)
    assert loaded.cors_origins == ("https://a.example", "https://b.example")
    assert loaded.max_request_bytes == 2048
    assert loaded.listen_port == 8081
    assert loaded.jwt_audiences == ("api-1", "api-2")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_GLOBAL", "lots")
    with pytest.raises(ConfigError, match="GATEWAY_RATE_LIMIT_GLOBAL"):
        render_cli.settings_from_env({})


# --- health, timeouts, retries ----------------------------------------------------------------


def test_clusters_are_guarded():
    config = render(settings())
    for cluster in config["static_resources"]["clusters"]:
        if cluster["name"] not in GRPC_SERVICES:
            continue
        check = cluster["health_checks"][0]
        assert "grpc_health_check" in check
        assert float(check["no_traffic_interval"].rstrip("s")) <= 5
        assert cluster["common_lb_config"]["healthy_panic_threshold"] == {"value": 0}
        assert cluster["outlier_detection"]["consecutive_local_origin_failure"] >= 1
        assert cluster["circuit_breakers"]["thresholds"][0]["max_requests"] > 0


# A request retried on these may already have been executed: for reads only.
EXECUTED_MAYBE = {
    "reset",
    "unavailable",
    "5xx",
    "gateway-error",
    "retriable-status-codes",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
}


def test_every_route_has_a_timeout_and_only_gets_retried_on_what_is_safe():
    for route in routes(render(settings())):
        if "direct_response" in route:
            continue
        action = route["route"]
        assert action["timeout"], route["name"]
        methods = [
            h["string_match"]["exact"] for h in route["match"].get("headers", []) if h["name"] == ":method"
        ]
        retry_on = set(action.get("retry_policy", {}).get("retry_on", "").split(",")) - {""}
        streaming = action["timeout"] == f"{settings().stream_timeout_seconds:g}s"
        if streaming:
            assert not retry_on, route["name"]  # a stream may have delivered part of its answer
        elif methods == ["GET"]:
            assert {"reset", "unavailable"} <= retry_on, route["name"]
        else:
            # Writes: only when the service never saw the request.
            assert not retry_on & EXECUTED_MAYBE, route["name"]


def test_retries_are_within_a_budget():
    for cluster in render(settings())["static_resources"]["clusters"]:
        if cluster["name"] in GRPC_SERVICES:
            budget = cluster["circuit_breakers"]["thresholds"][0]["retry_budget"]
            assert 0 < budget["budget_percent"]["value"] <= 25


def test_streaming_upload_has_the_document_services_limit_instead_of_the_unary_one():
    from services.document.spec import DEFAULT_MAX_BYTES

    config = render(settings())
    upload = _route_for(config, "POST", "/api/v1/documents/upload")
    assert upload["typed_per_filter_config"]["envoy.filters.http.body_size_limit"]["disabled"] is True
    assert UPLOAD_LIMIT_FILTER not in upload["typed_per_filter_config"]
    assert float(upload["route"]["timeout"].rstrip("s")) >= 60
    other = _route_for(config, "POST", "/api/v1/ledger/accounts")
    assert "envoy.filters.http.body_size_limit" not in other["typed_per_filter_config"]
    assert http_filter(config, "envoy.filters.http.body_size_limit")["max_request_bytes"] == 1024 * 1024
    assert http_filter(config, UPLOAD_LIMIT_FILTER)["max_request_bytes"] == DEFAULT_MAX_BYTES


def test_bad_tokens_reach_the_rate_limiter_before_their_401():
    config = render(settings())
    names = [entry["name"] for entry in hcm(config)["http_filters"]]
    assert (
        names.index("envoy.filters.http.jwt_authn")
        < names.index("envoy.filters.http.local_ratelimit")
        < names.index(REQUIRE_SUBJECT_FILTER)
    )
    required = http_filter(config, "envoy.filters.http.jwt_authn")["requirement_map"]["required"]
    assert {"allow_missing_or_failed": {}} in required["requires_any"]["requirements"]
    protected = _route_for(config, "POST", "/api/v1/ledger/accounts")
    assert REQUIRE_SUBJECT_FILTER in protected["typed_per_filter_config"]
    login = _route_for(config, "POST", "/api/v1/auth/login")
    assert REQUIRE_SUBJECT_FILTER not in login["typed_per_filter_config"]


# --- cross-cutting ----------------------------------------------------------------------------


def test_request_ids_local_replies_and_access_log():
    manager = hcm(render(settings()))
    assert manager["generate_request_id"] and manager["always_set_request_id_in_response"]
    assert manager["preserve_external_request_id"] is True
    body = manager["local_reply_config"]["body_format"]
    assert body["content_type"] == "application/json"
    assert body["json_format"] == {"code": "%RESPONSE_CODE%", "message": "%LOCAL_REPLY_BODY%"}
    log = manager["access_log"][0]["typed_config"]["log_format"]["json_format"]
    assert {"request_id", "status", "path", "duration_ms"} <= set(log)


def test_cors_origins():
    config = render(settings(cors_origins=("https://app.example",)))
    policy = hcm(config)["route_config"]["virtual_hosts"][0]["typed_per_filter_config"][
        "envoy.filters.http.cors"
    ]
    assert policy["allow_origin_string_match"] == [{"exact": "https://app.example"}]
    assert "idempotency-key" in policy["allow_headers"]
    assert "x-request-id" in policy["expose_headers"]


def test_openapi_route_can_serve_a_large_document():
    config = render(settings())
    assert hcm(config)["route_config"]["max_direct_response_body_size_bytes"] >= 1024 * 1024
    openapi = next(r for r in routes(config) if r["name"] == "gateway.openapi")
    assert openapi["direct_response"]["body"] == {"filename": "/tmp/openapi.json"}


def test_unknown_service_is_refused():
    with pytest.raises(ValueError, match="unknown services"):
        render(settings(upstreams={"nope": "127.0.0.1:1"}))


# --- observability and documentation ---------------------------------------------------------


def test_tracing_is_off_unless_a_collector_is_set():
    assert "tracing" not in hcm(render(settings()))
    config = render(settings(otlp_endpoint="http://otel-collector:4317", trace_sampling_percent=10))
    tracing = hcm(config)["tracing"]
    assert tracing["provider"]["name"] == "envoy.tracers.opentelemetry"
    provider = tracing["provider"]["typed_config"]
    assert provider["service_name"] == "nexafi-gateway"
    assert tracing["random_sampling"] == {"value": 10}
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    cluster = clusters[provider["grpc_service"]["envoy_grpc"]["cluster_name"]]
    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert endpoint["socket_address"] == {"address": "otel-collector", "port_value": 4317}
    assert "http2_protocol_options" in json.dumps(cluster)  # OTLP/gRPC
    # Each service route names the gateway's span after itself.
    named = [r for r in routes(config) if r["name"].startswith("payment.")]
    assert named and all(r["decorator"]["operation"] == r["name"] for r in named)


def test_the_metrics_listener_serves_only_the_prometheus_stats():
    config = render(settings())
    assert [listener["name"] for listener in config["static_resources"]["listeners"]] == ["rest"]
    config = render(settings(metrics_port=19460))
    listener = config["static_resources"]["listeners"][1]
    assert listener["address"]["socket_address"]["port_value"] == 19460
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    proxied, rest = manager["route_config"]["virtual_hosts"][0]["routes"]
    assert proxied["match"]["path"] == "/stats/prometheus" and proxied["route"]["cluster"] == "envoy_admin"
    assert rest["direct_response"]["status"] == 404
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"


def test_settings_from_env_for_observability(monkeypatch: pytest.MonkeyPatch):
    for name in (
        "GATEWAY_OTLP_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "GATEWAY_METRICS_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    loaded = render_cli.settings_from_env({})
    assert loaded.otlp_endpoint is None and loaded.metrics_port == 9460
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    assert render_cli.settings_from_env({}).otlp_endpoint == "http://127.0.0.1:4317"
    monkeypatch.setenv("GATEWAY_OTLP_ENDPOINT", "collector:4317")
    monkeypatch.setenv("GATEWAY_METRICS_PORT", "0")
    loaded = render_cli.settings_from_env({})
    assert loaded.otlp_endpoint == "collector:4317" and loaded.metrics_port == 0


def test_docs_routes_need_no_token_and_serve_the_pinned_assets():
    assert not [r for r in routes(render(settings())) if r["name"] == "gateway.docs"]
    config = render(settings(docs_assets_dir=SWAGGER_UI_DIR))
    docs = [r for r in routes(config) if r["name"] == "gateway.docs"]
    files = {r["match"]["path"]: r["direct_response"]["body"] for r in docs}
    bundle = str(SWAGGER_UI_DIR / "swagger-ui-bundle.js")
    assert files["/api/v1/docs/swagger-ui-bundle.js"] == {"filename": bundle}
    assert "/api/v1/docs" in files and "/api/v1/docs/init.js" in files
    assert all("envoy.filters.http.jwt_authn" not in r.get("typed_per_filter_config", {}) for r in docs)
