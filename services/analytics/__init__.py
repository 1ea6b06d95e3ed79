"""NexaFi analytics service: ledger feed consumer, summaries, analyses and reports."""
