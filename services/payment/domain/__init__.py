"""Pure payment rules: no gRPC, no SQL, no I/O; unit-tested without a database."""
