"""Per-service Alembic migrations on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg2

from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime import migrations

PROBE_MIGRATIONS = Path(__file__).resolve().parents[2] / "support" / "probe_migrations"


def tables(server: EmbeddedPostgres, database: str) -> set[str]:
    with psycopg2.connect(server.dsn(database)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in cursor.fetchall()}


def test_upgrade_creates_the_database_and_schema_and_is_repeatable(pg: EmbeddedPostgres):
    url = pg.url("migration_probe")
    migrations.upgrade("probe", url, script_location=PROBE_MIGRATIONS)
    assert {"probe_items", "alembic_version_probe"} <= tables(pg, "migration_probe")
    migrations.upgrade("probe", url, script_location=PROBE_MIGRATIONS)  # a no-op the second time
    with psycopg2.connect(pg.dsn("migration_probe")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT version_num FROM alembic_version_probe")
        assert cursor.fetchall() == [("0001",)]


def test_downgrade_removes_the_schema(pg: EmbeddedPostgres):
    url = pg.url("migration_probe_down")
    migrations.upgrade("probe", url, script_location=PROBE_MIGRATIONS)
    migrations.downgrade("probe", url, "base", script_location=PROBE_MIGRATIONS)
    assert "probe_items" not in tables(pg, "migration_probe_down")
