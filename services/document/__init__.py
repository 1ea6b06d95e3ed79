"""The document service: users' documents in S3-compatible storage, metadata in PostgreSQL."""
