"""The shared runtime every NexaFi service uses: settings, server bootstrap, auth,
errors, database sessions, migrations, embedded PostgreSQL, ids, money, telemetry."""
