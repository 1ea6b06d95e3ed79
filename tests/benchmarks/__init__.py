"""Benchmarks that print figures (``make bench``); not collected by pytest."""
