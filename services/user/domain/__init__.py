"""Business rules of the user service as plain Python: no gRPC, no SQL."""
