"""Helpers shared by the repository's modules."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
