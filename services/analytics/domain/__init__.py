"""Analytics business rules: flows from ledger entries, categories, periods, trends."""
