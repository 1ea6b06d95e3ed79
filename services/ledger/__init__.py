"""NexaFi's Ledger service: an immutable, hash-chained double-entry ledger."""
