"""The sandbox's signed callbacks: header parsing, HMAC over timestamp and body, tolerance window."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.payment.connectors import sandbox
from services.payment.connectors.base import (
    CardData,
    ConnectorTimeout,
    InvalidSignature,
    MalformedCallback,
    Outcome,
    TokenizationRefused,
)
from services.payment.connectors.sandbox import (
    SIGNATURE_TOLERANCE_SECONDS,
    SandboxConnector,
    event_body,
    sign,
)
from services.runtime.money import Money

SECRET = "whsec_unit_test_0123456789"
T0 = 1_790_000_000
NOW = datetime.fromtimestamp(T0, UTC)


@pytest.fixture
def connector() -> SandboxConnector:
    return SandboxConnector(SECRET)


def body(outcome: Outcome = Outcome.SUCCEEDED, created: int = T0) -> bytes:
    return event_body("evt_1", "pay_1", outcome, "ch_1", created)


def test_signature_format_is_timestamp_and_hmac_of_timestamp_dot_body():
    raw = body()
    expected = hmac.new(SECRET.encode(), f"{T0}.".encode() + raw, hashlib.sha256).hexdigest()
    assert sign(SECRET, raw, T0) == f"t={T0},v1={expected}"


def test_a_valid_callback_parses(connector: SandboxConnector):
    raw = event_body("evt_9", "pay_9", Outcome.FAILED, "ch_9", T0, "CARD_DECLINED", "declined")
    event = connector.parse_callback(raw, sign(SECRET, raw, T0), NOW)
    assert (event.event_id, event.reference, event.outcome) == ("evt_9", "pay_9", Outcome.FAILED)
    assert (event.external_reference, event.failure_code) == ("ch_9", "CARD_DECLINED")
    assert event.created == NOW
    # Extra, unknown header parts (a second scheme, spaces-free) are ignored.
    assert connector.parse_callback(raw, sign(SECRET, raw, T0) + ",v0=abc", NOW).event_id == "evt_9"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        f"t={T0}",  # no v1
        "v1=00",  # no timestamp
        f"t=abc,v1={'0' * 64}",
        f"t={T0},v1=",
        f"t={T0},v1={'0' * 64}",
    ],
)
def test_malformed_or_wrong_headers_are_refused(connector: SandboxConnector, header: str):
    with pytest.raises(InvalidSignature):
        connector.parse_callback(body(), header, NOW)


def test_wrong_secret_tampered_body_or_moved_timestamp_are_refused(connector: SandboxConnector):
    raw = body()
    with pytest.raises(InvalidSignature):
        connector.parse_callback(raw, sign("whsec_other_secret_000000", raw, T0), NOW)
    with pytest.raises(InvalidSignature):
        connector.parse_callback(raw.replace(b"succeeded", b"failed"), sign(SECRET, raw, T0), NOW)
    # The timestamp is signed with the body: swapping it for a fresh one breaks the signature.
    mac = sign(SECRET, raw, T0).split("v1=")[1]
    with pytest.raises(InvalidSignature):
        connector.parse_callback(raw, f"t={T0 + 10},v1={mac}", NOW)


def test_tolerance_window_both_ways(connector: SandboxConnector):
    raw = body()
    header = sign(SECRET, raw, T0)
    edge = timedelta(seconds=SIGNATURE_TOLERANCE_SECONDS)
    connector.parse_callback(raw, header, NOW + edge)  # exactly at the edge: accepted
    connector.parse_callback(raw, header, NOW - edge)
    with pytest.raises(InvalidSignature, match="too old"):
        connector.parse_callback(raw, header, NOW + edge + timedelta(seconds=1))
    with pytest.raises(InvalidSignature):
        connector.parse_callback(raw, header, NOW - edge - timedelta(seconds=1))


def test_the_compare_is_constant_time(connector: SandboxConnector, monkeypatch: pytest.MonkeyPatch):
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(sandbox.hmac, "compare_digest", spy)
    raw = body()
    connector.parse_callback(raw, sign(SECRET, raw, T0), NOW)
    with pytest.raises(InvalidSignature):
        connector.parse_callback(raw, f"t={T0},v1={'f' * 64}", NOW)
    assert len(calls) == 2  # every check goes through hmac.compare_digest, never ==


def test_a_signed_but_unparsable_body_is_malformed_not_a_crash(connector: SandboxConnector):
    weird = {"id": "e", "created": T0, "data": {"reference": "p", "status": "weird"}}
    for raw in (b"not json", json.dumps({"id": "evt"}).encode(), json.dumps(weird).encode()):
        with pytest.raises(MalformedCallback) as error:
            connector.parse_callback(raw, sign(SECRET, raw, T0), NOW)
        assert raw.decode() not in str(error.value)


def test_sandbox_test_cards_and_idempotent_references(connector: SandboxConnector):
    def token(number: str) -> str:
        return connector.tokenize_card(CardData(number, 12, 2030, "123", "Ada"))

    ok = token(sandbox.SUCCESS_CARD)
    assert sandbox.SUCCESS_CARD not in ok and ok.startswith("tok_sbx_ok_")
    first = connector.charge("pay_a", ok, Money(100, "EUR"))
    assert first.outcome is Outcome.SUCCEEDED
    assert connector.charge("pay_a", ok, Money(100, "EUR")) == first  # the reference is the idempotency key
    declined = connector.charge("pay_b", token(sandbox.DECLINE_CARD), Money(1, "EUR"))
    assert declined.failure_code == "CARD_DECLINED"
    assert connector.charge("pay_c", token(sandbox.ASYNC_CARD), Money(1, "EUR")).outcome is Outcome.PENDING
    with pytest.raises(ConnectorTimeout):
        connector.charge("pay_d", token(sandbox.TIMEOUT_CARD), Money(1, "EUR"))
    status = connector.fetch_status("pay_d")
    assert status is not None and status.outcome is Outcome.SUCCEEDED  # it did go through at the PSP
    assert connector.fetch_status("pay_never") is None
    with pytest.raises(TokenizationRefused) as refused:
        token(sandbox.BAD_CVC_CARD)
    assert refused.value.code == "INCORRECT_CVC" and sandbox.BAD_CVC_CARD not in str(refused.value)
    card = CardData(sandbox.SUCCESS_CARD, 12, 2030, "987", "Ada")
    assert sandbox.SUCCESS_CARD not in repr(card) and "987" not in repr(card)
