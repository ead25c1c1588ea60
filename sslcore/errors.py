"""The exceptions sslcore raises on bad input, so callers (CLI, dashboard) can show them cleanly."""

from __future__ import annotations

__all__ = ["DataError", "SslcoreError"]


class SslcoreError(Exception):
    """Base class of every error sslcore raises on purpose; its message is meant for a user."""


class DataError(SslcoreError, ValueError):
    """A dataset, file or table is missing, unreadable or not in the expected format."""
