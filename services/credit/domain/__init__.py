"""The credit service's business rules as plain Python: no gRPC, no SQL."""
