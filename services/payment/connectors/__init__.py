"""Gateway connectors: the interface every PSP integration implements, and the sandbox PSP."""
