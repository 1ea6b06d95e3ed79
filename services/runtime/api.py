"""What every servicer needs at its edge: field checks, page tokens, proto conversions.

One implementation for all services, so requests are validated, paginated and
converted the same way everywhere.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, SupportsInt, TypeVar, cast

from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.common.v1 import common_pb2

from services.runtime.errors import FieldViolation, InvalidArgument
from services.runtime.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_ID_LENGTH = 64
MAX_REQUEST_ID_LENGTH = 128
MAX_METADATA_ENTRIES = 32
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512


class FieldChecks:
    """Collects field violations, so a request reports all its problems at once.

    Each check returns its value, so a request is read and checked in one pass;
    ``done`` raises INVALID_ARGUMENT with every violation as BadRequest details.
    Services subclass it for checks of their own.
    """

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.violations.append(FieldViolation(field, description))

    def text(self, value: str, field: str, *, max_length: int, required: bool = False) -> str:
        if required and not value:
            self.add(field, "is required")
        elif len(value) > max_length:
            self.add(field, f"must be at most {max_length} characters")
        elif "\x00" in value:
            self.add(field, "must not contain NUL characters")
        return value

    def identifier(self, value: str, field: str) -> str:
        return self.text(value, field, max_length=MAX_ID_LENGTH, required=True)

    def request_id(self, value: str, field: str = "request_id", *, required: bool = True) -> str:
        return self.text(value, field, max_length=MAX_REQUEST_ID_LENGTH, required=required)

    def enum(self, value: int, allowed: Any, field: str) -> int:
        """``value`` must be a member of ``allowed`` (an IntEnum, or any iterable of ints)."""
        if value not in {int(member) for member in allowed}:
            self.add(field, "must be a known, specified value")
        return value

    def currency(self, code: str, field: str) -> str:
        if code not in CURRENCY_EXPONENTS:
            self.add(field, "must be a supported upper-case ISO 4217 code")
        return code

    def money(self, money: common_pb2.Money, field: str, *, allow_zero: bool = False) -> tuple[int, str]:
        """A positive amount (or zero when allowed) in a supported currency."""
        self.currency(money.currency, f"{field}.currency")
        low = 0 if allow_zero else 1
        if not low <= money.amount_minor <= MAX_AMOUNT_MINOR:
            self.add(
                f"{field}.amount_minor",
                f"must be an integer number of minor units from {low} to {MAX_AMOUNT_MINOR}",
            )
        return money.amount_minor, money.currency

    def metadata(self, values: Mapping[str, str], field: str = "metadata") -> dict[str, str]:
        if len(values) > MAX_METADATA_ENTRIES:
            self.add(field, f"must have at most {MAX_METADATA_ENTRIES} entries")
        for key, value in values.items():
            if (
                not key
                or len(key) > MAX_METADATA_KEY
                or len(value) > MAX_METADATA_VALUE
                or "\x00" in key + value
            ):
                self.add(
                    f"{field}[{key[:MAX_METADATA_KEY]}]",
                    f"keys must be 1 to {MAX_METADATA_KEY} and values at most {MAX_METADATA_VALUE} "
                    "characters, without NUL",
                )
        return dict(values)

    def done(self, message: str = "invalid request") -> None:
        if self.violations:
            raise InvalidArgument(message, violations=self.violations)


# -- paging -------------------------------------------------------------------------------------


def page_size(value: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """The page size to use: 0 means the default; larger values are capped at ``maximum``."""
    if value < 0:
        raise InvalidArgument(
            "page_size must not be negative",
            field="page_size",
            description=f"must be between 1 and {maximum}, or 0 for the default",
        )
    return min(value or default, maximum)


def query_key(*parts: object) -> str:
    """A short digest of a list query's filters, bound into its page tokens."""
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()[:16]


# Page tokens are signed (HMAC-SHA256, truncated to 128 bits) with the key of the service that
# issued them, so a forged or altered token is INVALID_ARGUMENT before its content is read.
# The server interceptor makes its service's key current for each RPC; outside an RPC (a
# script, a unit test) a key made for this process signs and verifies.
_page_key: contextvars.ContextVar[bytes] = contextvars.ContextVar("page_token_key")
_PROCESS_PAGE_KEY = secrets.token_bytes(32)
_MAC_BYTES = 16
_FOREIGN = "must be a next_page_token returned by this method"


def set_page_token_key(key: bytes) -> None:
    """Sign and verify page tokens with ``key`` in the current context (one RPC)."""
    _page_key.set(key)


def _mac(payload: bytes) -> bytes:
    return hmac.new(_page_key.get(_PROCESS_PAGE_KEY), payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_page_token(position: Any, query: str) -> str:
    """A signed, opaque token for the page after ``position`` of the query ``query``."""
    payload = json.dumps({"p": position, "q": query}, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(payload))}"


def decode_page_token(token: str, query: str) -> Any:
    """The position in ``token``, None for the first page.

    INVALID_ARGUMENT (field ``page_token``) when the token was not issued by this service
    (its signature does not verify: forged, altered, or garbage) or belongs to another query.
    """
    if not token:
        return None
    body, _, signature = token.rpartition(".")
    try:
        payload, mac = _unb64(body), _unb64(signature)
    except (binascii.Error, ValueError):
        raise InvalidArgument("malformed page_token", field="page_token", description=_FOREIGN) from None
    if not body or not hmac.compare_digest(mac, _mac(payload)):
        raise InvalidArgument(
            "page_token was not issued by this service",
            field="page_token",
            description=_FOREIGN,
            reason="PAGE_TOKEN_INVALID",
        )
    try:
        document = json.loads(payload)
        position, issued_for = document["p"], document["q"]
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument("malformed page_token", field="page_token", description=_FOREIGN) from None
    if issued_for != query:
        raise InvalidArgument(
            "page_token belongs to another query",
            field="page_token",
            description="must come from a request with the same filters",
        )
    return position


T = TypeVar("T")
P = TypeVar("P")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the token of the next one ("" on the last page)."""

    items: list[T]
    next_page_token: str


def page_start(page_token: str, query: str, parse: Callable[[Any], P]) -> P | None:
    """Where the page of ``page_token`` starts (None: the first page), read by ``parse``; a token
    whose position ``parse`` refuses (ValueError, TypeError, ...) is INVALID_ARGUMENT."""
    raw = decode_page_token(page_token, query)
    if raw is None:
        return None
    try:
        return parse(raw)
    except (ValueError, TypeError, IndexError, KeyError):
        raise InvalidArgument("malformed page_token", field="page_token", description=_FOREIGN) from None


def next_page_token(found: Sequence[T], size: int, query: str, position: Callable[[T], Any]) -> str:
    """The token of the page after the first ``size`` of ``found`` (fetched as size + 1 items),
    "" when there is none."""
    return encode_page_token(position(found[size - 1]), query) if len(found) > size else ""


def paginate(
    fetch: Callable[[P | None, int], Sequence[T]],
    *,
    page_token: str,
    query: str,
    size: int,
    position: Callable[[T], Any],
    parse: Callable[[Any], P],
) -> Page[T]:
    """The one "fetch size + 1, build the next token" of every list RPC.

    ``fetch(after, limit)`` returns up to ``limit`` items following ``after`` (None: from the
    start); ``position(item)`` is what the next page starts after, and ``parse`` reads it back
    from a token (raising ValueError or TypeError when it is not one a page could start after).
    """
    found = list(fetch(page_start(page_token, query, parse), size + 1))
    return Page(found[:size], next_page_token(found, size, query, position))


class _Timed(Protocol):
    @property
    def create_time(self) -> datetime: ...


Timed = TypeVar("Timed", bound=_Timed)
K = TypeVar("K")


def time_position(item: Timed, key: Callable[[Timed], Any]) -> list[Any]:
    """The page position of an item of a list ordered by (create_time, key)."""
    return [item.create_time.isoformat(), key(item)]


def parse_time_position(raw: Any, parse_key: Callable[[Any], K]) -> tuple[datetime, K]:
    """A (create_time, key) position read back from a token; ValueError when it is not one."""
    moment, key = raw
    if not isinstance(moment, str):
        raise ValueError("not a time")
    return datetime.fromisoformat(moment), parse_key(key)


def paginate_by_time(
    fetch: Callable[[tuple[datetime, K] | None, int], Sequence[Timed]],
    *,
    page_token: str,
    query: str,
    size: int,
    key: Callable[[Timed], K],
    parse_key: Callable[[Any], K],
) -> Page[Timed]:
    """``paginate`` over a list ordered by (create_time, key): ``fetch(after, limit)`` returns the
    items after the (time, key) ``after`` (None from the start); ``parse_key`` reads a key back from
    a token (``as_str`` for ids, ``as_int`` for sequences)."""
    return paginate(
        fetch,
        page_token=page_token,
        query=query,
        size=size,
        position=lambda item: time_position(item, key),
        parse=lambda raw: parse_time_position(raw, parse_key),
    )


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


Item = TypeVar("Item", bound=_Identified)


def paginate_by_id(
    fetch: Callable[[str, int], Sequence[Item]], *, page_token: str, query: str, size: int
) -> Page[Item]:
    """``paginate`` over a list ordered by id: ``fetch(after, limit)`` returns the items after the
    id ``after`` ("" from the start); a page starts after the previous page's last id."""
    return paginate(
        lambda after, limit: fetch(after or "", limit),
        page_token=page_token,
        query=query,
        size=size,
        position=lambda item: item.id,
        parse=as_str,
    )


def paginate_list(items: Sequence[T], *, page_token: str, query: str, size: int) -> Page[T]:
    """``paginate`` over a list already in memory (a report, a registry): tokens carry the offset."""
    offset = page_start(page_token, query, as_int) or 0
    page = list(items[offset : offset + size])
    token = encode_page_token(offset + size, query) if offset + size < len(items) else ""
    return Page(page, token)


def as_str(position: Any) -> str:
    """A page position that is a non-empty string (an id)."""
    if not isinstance(position, str) or not position:
        raise InvalidArgument("malformed page_token", field="page_token", description=_FOREIGN)
    return position


def as_int(position: Any) -> int:
    """A page position that is a non-negative integer (an offset, a sequence)."""
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise InvalidArgument("malformed page_token", field="page_token", description=_FOREIGN)
    return position


# -- conversions --------------------------------------------------------------------------------


def to_timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC) if moment.tzinfo else moment)
    return stamp


def from_timestamp(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def to_money(amount_minor: int, currency: str) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount_minor, currency=currency)


ProtoEnum = TypeVar("ProtoEnum", bound=int)


def to_enum(enum: type[ProtoEnum], value: SupportsInt) -> ProtoEnum:
    """``value`` (a domain IntEnum or a stored number) as a value of the generated proto enum ``enum``.

    The generated stubs type a proto enum as a class whose values are its instances, while at run time
    the values are plain ints and the enum object is not callable: this is the one typed crossing from
    a domain number. Like proto3's open enums, a number the enum does not name is passed through.
    """
    return cast(ProtoEnum, int(value))


def time_range(message: Any, field: str = "time_range") -> tuple[datetime | None, datetime | None]:
    """The (start, end) of a request's ``nexafi.common.v1.TimeRange``; open ends are None."""
    bounds = getattr(message, field)
    start = from_timestamp(bounds.start_time) if bounds.HasField("start_time") else None
    end = from_timestamp(bounds.end_time) if bounds.HasField("end_time") else None
    if start is not None and end is not None and start >= end:
        raise InvalidArgument(
            f"{field} is empty", field=f"{field}.end_time", description="must be after start_time"
        )
    return start, end
