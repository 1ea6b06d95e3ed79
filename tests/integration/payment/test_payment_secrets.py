"""No card number anywhere: not in any database (payment, ledger, AI, user), not in the logs
(every logger at DEBUG), not in any response, not in any error.

Card flows run with full numbers and CVCs: cards added with separators and without, a
duplicate, a card the gateway refuses to tokenize, an invalid number, an expired card, and
payments that succeed, are declined and settle asynchronously. Then every row of every table is
dumped (bytea decoded too, so stored protobuf responses are searched as they are) and searched.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.message import Message
from nexafi.payment.v1 import payment_pb2 as S

from services.devtools.embedded_pg import EmbeddedPostgres
from services.payment.connectors.sandbox import BAD_CVC_CARD
from tests.integration.payment.payment_support import CARD_ASYNC, CARD_DECLINE, CARD_OK, PaymentApi, key

pytestmark = pytest.mark.usefixtures("payment_server")

CVC = "731"
AMEX = "378282246310005"
AMEX_CVC = "8406"
INVALID = "4242424242424241"  # fails Luhn
PANS = [CARD_OK, CARD_DECLINE, CARD_ASYNC, BAD_CVC_CARD, AMEX, INVALID]


def forms(pan: str) -> list[str]:
    """The number as typed in any usual way: plain, grouped by spaces or dashes."""
    groups = [pan[i : i + 4] for i in range(0, len(pan), 4)]
    return [pan, " ".join(groups), "-".join(groups)]


def forbidden_patterns() -> list[re.Pattern[str]]:
    patterns: list[re.Pattern[str]] = []
    for pan, cvc in [(p, CVC) for p in PANS] + [(AMEX, AMEX_CVC)]:
        for form in forms(pan):
            patterns.append(re.compile(re.escape(form)))
        # Any 10 consecutive digits of the number (more than the last four and the brand), unless
        # they are a run of zeros that any timestamp or id may hold.
        windows = {pan[i : i + 10] for i in range(len(pan) - 9)}
        patterns += [re.compile(w) for w in sorted(windows) if "000000" not in w]
        # The CVC next to the last four (a CVC alone is just three digits), as words of their own:
        # inside a hex digest or an id ("...af7313220053e") the digits are there by chance.
        last4 = pan[-4:]
        patterns.append(re.compile(rf"(?<![0-9A-Za-z]){last4}\D{{0,12}}{cvc}(?![0-9A-Za-z])"))
        patterns.append(re.compile(rf"(?<![0-9A-Za-z]){cvc}\D{{0,12}}{last4}(?![0-9A-Za-z])"))
    patterns.append(re.compile(r"['\"]?cvc['\"]?\s*[:=]\s*['\"]?\d{3,4}", re.IGNORECASE))
    return patterns


# Numbers every log record carries (clock readings, thread and process ids): random digits that
# can match a 10-digit window of a test card number by chance, and never hold request data.
RECORD_NUMBERS = {"created", "msecs", "relativeCreated", "thread", "process", "lineno"}


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """A record's attributes, ``extra=`` fields included, without its clock and ids."""
    return {k: v for k, v in record.__dict__.items() if k not in RECORD_NUMBERS}


def text_of(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")  # protobuf bytes keep strings as they are
    return str(value)


def dump_database(url: str) -> list[str]:
    engine = sa.create_engine(url)
    out: list[str] = []
    try:
        with engine.connect() as c:
            tables = c.execute(
                sa.text(
                    "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = "
                    "'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
            ).all()
            assert tables, url
            for schema, table in tables:
                rows = c.execute(sa.text(f'SELECT * FROM "{schema}"."{table}"')).all()
                out += [f"{table}: " + " | ".join(text_of(v) for v in row) for row in rows]
    finally:
        engine.dispose()
    return out


def test_no_card_number_in_databases_logs_responses_or_errors(
    api: PaymentApi, pg: EmbeddedPostgres, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    responses: list[str] = []
    errors: list[str] = []

    def call(fn: Callable[[], Any]) -> Any:
        try:
            reply = fn()
        except grpc.RpcError as exc:
            errors.append(
                f"{exc.code()} {exc.details()} {exc.trailing_metadata()} {exc!s} {exc!r} "
                + "".join(traceback.format_exception(exc))
            )
            return None
        if isinstance(reply, Message):
            responses.append(str(reply) + reply.SerializeToString().decode("latin-1"))
        return reply

    def add_card(user: str, number: str, cvc: str = CVC, request_id: str | None = None) -> Any:
        card = S.CardInput(
            number=number,
            exp_month=12,
            exp_year=api.clock().year + 1,
            cvc=cvc,
            holder_name="Ada Lovelace",
        )
        reply = call(
            lambda: api.payments.AddPaymentMethod(
                S.AddPaymentMethodRequest(user_id=user, card=card, request_id=request_id or key()),
                metadata=api.md(user),
            )
        )
        return reply.payment_method if reply else None

    user = api.register()
    ok = add_card(user, "4242 4242 4242 4242")
    assert ok is not None and ok.card.last4 == "4242"
    replay_key = key()
    assert add_card(user, AMEX, AMEX_CVC, replay_key) is not None
    assert add_card(user, AMEX, AMEX_CVC, replay_key) is not None  # a replay from the stored response
    assert add_card(user, "4242-4242-4242-4242") is None  # duplicate
    assert add_card(user, BAD_CVC_CARD) is None  # the gateway refuses to tokenize it
    assert add_card(user, INVALID) is None  # fails Luhn
    assert add_card(user, CARD_OK, cvc="12") is None  # malformed CVC
    expired = S.CardInput(number=CARD_DECLINE, exp_month=1, exp_year=2020, cvc=CVC)
    assert (
        call(
            lambda: api.payments.AddPaymentMethod(
                S.AddPaymentMethodRequest(user_id=user, card=expired, request_id=key()), metadata=api.md(user)
            )
        )
        is None
    )
    declining = add_card(user, CARD_DECLINE)
    async_card = add_card(user, CARD_ASYNC)
    assert len(errors) == 5, errors

    for method in (ok, declining, async_card):
        payment = call(lambda m=method: api.top_up(user, 500, m.id))
        if payment is not None and payment.status == S.PAYMENT_STATUS_REQUIRES_REVIEW:
            call(lambda p=payment: api.set_status(p.id, S.PAYMENT_STATUS_PROCESSING, api.support(), "ok"))
    call(
        lambda: api.payments.ListPaymentMethods(
            S.ListPaymentMethodsRequest(user_id=user), metadata=api.md(user)
        )
    )
    call(lambda: api.payments.ListPayments(S.ListPaymentsRequest(user_id=user), metadata=api.md(user)))

    logs = [caplog.text] + [
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''} {record_fields(r)!r}" for r in caplog.records
    ]
    assert any("fraud" in line or "payment" in line for line in logs)  # the capture did see the services
    stores = {name: dump_database(pg.url(f"nexafi_{name}")) for name in ("payment", "ledger", "ai", "user")}
    assert any(ok.id in row for row in stores["payment"])  # the dump did see our rows
    places = {"responses": responses, "errors": errors, "logs": logs} | {
        f"db:{n}": rows for n, rows in stores.items()
    }
    patterns = forbidden_patterns()
    leaks = [
        f"{place}: {pattern.pattern!r} in {text[:200]!r}"
        for place, texts in places.items()
        for text in texts
        for pattern in patterns
        if pattern.search(text)
    ]
    assert not leaks, "\n".join(leaks[:20])
