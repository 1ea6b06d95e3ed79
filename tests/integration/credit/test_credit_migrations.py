"""The credit service's migrations up and down on a real PostgreSQL."""

from __future__ import annotations

import psycopg2

from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime import migrations


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


def test_old_idempotency_keys_become_finished_keys_of_the_contract(pg: EmbeddedPostgres) -> None:
    database = "credit_keys_migration_probe"
    url = pg.url(database)
    migrations.upgrade("credit", url, "0006")
    with psycopg2.connect(pg.dsn(database)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO idempotency_keys (scope, key, operation, fingerprint, response) "
            "VALUES ('usr_a', 'k1', 'DisburseLoan', 'old', 'answer')"
        )
    migrations.upgrade("credit", url)
    with psycopg2.connect(pg.dsn(database)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT operation, fingerprint, state, response, expire_time > now() FROM idempotency_keys"
        )
        [(operation, fingerprint, state, response, live)] = cursor.fetchall()
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'repayment_intents'"
        )
        columns = {row[0] for row in cursor.fetchall()}
    carried = (operation, fingerprint, state, bytes(response), live)
    assert carried == ("DisburseLoan", "old", "done", b"answer", True)
    assert not {"operation", "fingerprint"} & columns
    migrations.downgrade("credit", url, "0006")
    migrations.upgrade("credit", url)
