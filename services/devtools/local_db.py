"""The database URL of a service for operator commands run beside ``make run``.

With ``<SERVICE>_DATABASE_URL`` or ``DATABASE_URL`` set, that URL (the server's
database for the service). Otherwise the embedded PostgreSQL in the dev data
folder: reused when ``make run`` has it up, else started for the command and
stopped after it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from services.runtime.db import normalize_url

ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    return Path(os.environ.get("NEXAFI_DATA_DIR") or ROOT / ".data")


def service_database_url(base_url: str, service: str) -> str:
    """``base_url`` pointed at the service's own database ``nexafi_<service>``."""
    return (
        make_url(normalize_url(base_url))
        .set(database=f"nexafi_{service}")
        .render_as_string(hide_password=False)
    )


@contextmanager
def database_url(service: str) -> Iterator[str]:
    explicit = os.environ.get(f"{service.upper()}_DATABASE_URL", "").strip()
    if explicit:
        yield explicit
        return
    base = os.environ.get("DATABASE_URL", "").strip()
    if base:
        yield service_database_url(base, service)
        return
    # Imported here: pgserver is a development dependency, absent from the image, where every
    # service and `services.user.cli` get a *_DATABASE_URL.
    from services.devtools.embedded_pg import EmbeddedPostgres

    server = EmbeddedPostgres(data_dir() / "pg").start()
    try:
        yield service_database_url(server.url(), service)
    finally:
        server.stop()  # only stops a server this command started
