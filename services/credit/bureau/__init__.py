"""Credit-bureau connectors: the interface (base) and the sandbox bureau."""
