"""Finding users for staff (SearchUsers): by id, or by words in the username, e-mail and names.

Kept in its own module, apart from the account use cases (``accounts.py``): it is a staff read
over everyone's accounts with its own query. Who may search is who may list users (admin,
support, compliance); the servicer checks it before anything is read.

Matching: a whole ``usr_`` id is an exact lookup. Otherwise every word must occur somewhere in
the username, the e-mail, the first name or the last name, case-insensitively; ``%``, ``_`` and
``\\`` in a word are matched literally (escaped), never as patterns. The scan is a sequential
ILIKE over users joined with profiles: fine for a back office at this size; at millions of users
it wants a trigram index (pg_trgm) on those four columns, which the query shape already suits.

Order and paging: newest first (ids are time-ordered), a keyset on the id bound to the query's
digest, so a token of one query cannot page another.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from services.runtime import api
from services.runtime.errors import InvalidArgument
from services.user.domain.models import User
from services.user.repository import UserRepository, _to_record, _user_query
from services.user.store import UserStore
from services.user.tables import profile_column, profiles, users

MIN_QUERY = 2
MAX_QUERY = 100
MAX_WORDS = 5
_USER_ID = re.compile(r"usr_[0-9A-Za-z]+")


def words_of(query: str) -> list[str]:
    """The query's words, checked (INVALID_ARGUMENT on ``query`` otherwise)."""
    text = query.strip()
    if not text:
        raise InvalidArgument("query is required", field="query", description="must not be blank")
    if len(text) < MIN_QUERY or len(text) > MAX_QUERY:
        raise InvalidArgument(
            f"query must be {MIN_QUERY} to {MAX_QUERY} characters",
            field="query",
            description=f"must be {MIN_QUERY} to {MAX_QUERY} characters",
        )
    found = text.split()
    if len(found) > MAX_WORDS:
        raise InvalidArgument(
            f"query has more than {MAX_WORDS} words",
            field="query",
            description=f"must have at most {MAX_WORDS} words",
        )
    return found


def _escaped(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _matching(repo: UserRepository, words: list[str], before: str | None, limit: int) -> list[User]:
    query = _user_query().order_by(users.c.id.desc()).limit(limit)
    if len(words) == 1 and _USER_ID.fullmatch(words[0]):
        query = query.where(users.c.id == words[0])
    else:
        columns = (
            users.c.username,
            users.c.email,
            profiles.c[profile_column("first_name")],
            profiles.c[profile_column("last_name")],
        )
        for word in words:
            pattern = _escaped(word)
            query = query.where(sa.or_(*(column.ilike(pattern, escape="\\") for column in columns)))
    if before:
        query = query.where(users.c.id < before)
    return [_to_record(row).user for row in repo.session.execute(query)]


def search_users(store: UserStore, *, query: str, page_size: int, page_token: str) -> tuple[list[User], str]:
    words = words_of(query)
    size = api.page_size(page_size)
    page = api.paginate(
        lambda before, limit: store.query(lambda repo: _matching(repo, words, before, limit)),
        page_token=page_token,
        query=api.query_key("user-search", [w.lower() for w in words]),
        size=size,
        position=lambda user: user.id,
        parse=api.as_str,
    )
    return page.items, page.next_page_token
