"""What the runtime's per-request edge checks cost, in process: the hostile-text walk over
typical requests, and signing and verifying a page token. CPU time of this process (so
other work on a shared machine does not inflate it). Prints figures; asserts nothing."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from nexafi.common.v1 import common_pb2
from nexafi.payment.v1 import payment_pb2
from nexafi.user.v1 import user_pb2

from services.runtime import api
from services.runtime.text import check_text


def per_call_micros(work: Callable[[], object], rounds: int = 20_000) -> float:
    for _ in range(1_000):
        work()
    started = time.process_time()
    for _ in range(rounds):
        work()
    return (time.process_time() - started) / rounds * 1e6


def main() -> int:
    payment = payment_pb2.InitiatePaymentRequest(
        user_id="usr_01JF3N4X8Q2W5Y7Z9A1B3C5D7E",
        kind=payment_pb2.PAYMENT_KIND_TRANSFER,
        amount=common_pb2.Money(amount_minor=1250, currency="EUR"),
        payee_user_id="usr_01JF3N4X8Q2W5Y7Z9A1B3C5D7F",
        description="dinner on Friday\nthanks!",
        request_id="3f9a1c2e5b7d4f60a8c9e1b2d3f4a5b6",
        metadata={"category": "restaurants", "mcc": "5812", "device_id": "ios-7F3A", "ip_country": "DE"},
    )
    login = user_pb2.LoginRequest(login="ada.lovelace@example.com", password="correct horse battery staple 9")
    update = user_pb2.UpdateUserRequest(
        user_id="usr_01JF3N4X8Q2W5Y7Z9A1B3C5D7E",
        profile=user_pb2.Profile(first_name="Ada", last_name="Lovelace"),
    )
    update.update_mask.paths.extend(["profile.first_name", "profile.last_name"])
    for name, message in [
        ("InitiatePayment (9 strings, a map)", payment),
        ("Login (2 strings)", login),
        ("UpdateUser (nested, repeated)", update),
    ]:
        cost = per_call_micros(functools.partial(check_text, message))
        print(f"hostile-text check, {name}: {cost:.2f} µs/request")
    query = api.query_key("payments", "usr_01JF3N4X8Q2W5Y7Z9A1B3C5D7E", [], 0, None, None, False)
    token = api.encode_page_token("pay_01JF3N4X8Q2W5Y7Z9A1B3C5D7E", query)
    print(
        f"page token, sign: {per_call_micros(lambda: api.encode_page_token('pay_1', query)):.2f} µs; "
        f"verify and read: {per_call_micros(lambda: api.decode_page_token(token, query)):.2f} µs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
