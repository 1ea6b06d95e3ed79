"""Per-service Alembic migrations, run programmatically.

Each service keeps its revisions in ``services/<name>/migrations/versions`` with a
two-line ``env.py`` that calls :func:`run_env`. ``upgrade`` creates the
service's database first when the server allows it.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.engine import make_url

from services.runtime.db import normalize_url

SERVICES_DIR = Path(__file__).resolve().parent.parent


def alembic_config(service: str, url: str, script_location: Path | None = None) -> Config:
    config = Config()
    location = script_location or SERVICES_DIR / service / "migrations"
    config.set_main_option("script_location", str(location))
    # Alembic's config is an INI file: '%' must be escaped.
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    config.attributes["service"] = service
    return config


def ensure_database(url: str) -> None:
    """Create the URL's database if it does not exist (dev and test servers)."""
    target = make_url(normalize_url(url))
    name = target.database
    if not name:
        return
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def upgrade(service: str, url: str, revision: str = "head", script_location: Path | None = None) -> None:
    """Bring the service's schema to ``revision``."""
    ensure_database(url)
    command.upgrade(alembic_config(service, url, script_location), revision)


def downgrade(service: str, url: str, revision: str, script_location: Path | None = None) -> None:
    command.downgrade(alembic_config(service, url, script_location), revision)


def run_env() -> None:
    """The body of every service's migrations/env.py (online mode only)."""
    config = context.config
    service = config.attributes.get("service", "nexafi")
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        # Replicas starting together must not migrate at once: serialize on an advisory lock.
        connection.execute(sa.text("SELECT pg_advisory_lock(hashtext(:s))"), {"s": f"migrate:{service}"})
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=None,
            version_table=f"alembic_version_{service}",
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
