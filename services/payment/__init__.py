"""NexaFi payment service: payments, payment methods, connectors, fraud checks, reconciliation."""
