"""The service's one clock: now in UTC, naive, as the store keeps every time the service
writes (the agency's own event times are local and come from its exports)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now in UTC, without a time zone (the store's convention for written times)."""
    return datetime.now(UTC).replace(tzinfo=None)
