"""The ledger's business rules as plain Python: no gRPC, no SQL."""
