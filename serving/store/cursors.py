"""Keyset cursors, one format for every paged read (the queue, the review queue).

A cursor is the last row's sort key, a short JSON list in URL-safe base64. It is not
signed: each reader parses its position strictly (``position`` here, the key's types
and ranges there), so a forged cursor can only name a position a client could ask for
anyway, and anything else is refused with the one message ``refused`` raises.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, NoReturn

from serving.errors import InvalidError


def encode(*key: Any) -> str:
    """The cursor for a row whose sort key is ``key`` (JSON-serialisable values)."""
    raw = json.dumps(list(key)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def position(cursor: str, size: int) -> list[Any] | None:
    """The key a cursor holds if it decodes to a JSON list of ``size`` items, else None
    (the reader then checks each item's type and range)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, binascii.Error, RecursionError):
        return None
    return found if isinstance(found, list) and len(found) == size else None


def refused() -> NoReturn:
    """A cursor this service did not issue: InvalidError on the ``cursor`` query field."""
    raise InvalidError(
        "cursor",
        "cursor",
        "cursor: not a cursor this service issued (use next_cursor from the last page)",
        where="query",
    )
