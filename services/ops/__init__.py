"""Operator commands that work across services (``python -m services.ops``)."""
