"""The credit service's migrations up and down on a real PostgreSQL."""

from __future__ import annotations

import psycopg2

from services.runtime import migrations
from services.runtime.embedded_pg import EmbeddedPostgres


def _tables(pg: EmbeddedPostgres, database: str) -> set[str]:
    with psycopg2.connect(pg.dsn(database)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in cursor.fetchall()}


def test_the_repayment_intents_migration_upgrades_and_downgrades(pg: EmbeddedPostgres) -> None:
    database = "credit_migration_probe"
    url = pg.url(database)
    migrations.upgrade("credit", url)
    assert {"loan_applications", "repayment_intents"} <= _tables(pg, database)
    migrations.downgrade("credit", url, "0001")
    after = _tables(pg, database)
    assert "repayment_intents" not in after and "loan_applications" in after
    migrations.upgrade("credit", url)
    assert "repayment_intents" in _tables(pg, database)
