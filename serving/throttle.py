"""Failed credentials, throttled per client and per name typed from a client.

A lockout per account tells an attacker which names exist (a real name turns "locked",
an unknown one never does) and lets anyone lock any named caseworker out. Instead:

- every failed sign-in or token presentation counts against its client address, and a
  failed sign-in also against the name typed from that client;
- past a limit within the window, that client (or that name from that client) is refused
  with 429 and Retry-After until the window ends, whatever it sends, even the right
  password; another client is not affected, so nobody can lock a caseworker out;
- an unknown name counts exactly as a known one, so nothing tells them apart;
- the store keeps the SHA-256 of each key, never a name typed (it may be a password).

Counts live in the store (table ``throttle``), so every worker of the service shares them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from serving.hashing import digest
from serving.store.tables import THROTTLE


@dataclass(frozen=True)
class Limits:
    """At most ``per_client`` failures from one client, and ``per_name`` for one name from
    one client, within ``window``."""

    per_client: int
    per_name: int
    window: timedelta


def _keys(kind: str, client: str | None, name: str | None) -> dict[str, str]:
    """The keys a failure counts against, each with the limit that applies to it."""
    address = client or "(no address)"
    keys = {digest(kind, "client", address): "per_client"}
    if name is not None:
        keys[digest(kind, "name", name, address)] = "per_name"
    return keys


def retry_after(
    connection: Connection,
    kind: str,
    client: str | None,
    name: str | None,
    limits: Limits,
    now: datetime,
) -> int | None:
    """Seconds until ``client`` (typing ``name``) may try again, or None if it may now."""
    keys = _keys(kind, client, name)
    rows = connection.execute(
        select(THROTTLE.c.key, THROTTLE.c.window_start, THROTTLE.c.failures).where(
            THROTTLE.c.key.in_(list(keys))
        )
    ).all()
    waits = [
        (row.window_start + limits.window - now).total_seconds()
        for row in rows
        if row.window_start + limits.window > now and row.failures >= getattr(limits, keys[row.key])
    ]
    return max(1, math.ceil(max(waits))) if waits else None


def count_failure(
    connection: Connection,
    kind: str,
    client: str | None,
    name: str | None,
    limits: Limits,
    now: datetime,
) -> None:
    """Count one failure against each key (a window that ended starts again at one)."""
    ended = now - limits.window
    connection.execute(delete(THROTTLE).where(THROTTLE.c.window_start <= ended))
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for key in _keys(kind, client, name):
        statement = dialect.insert(THROTTLE).values(key=key, window_start=now, failures=1)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[THROTTLE.c.key],
                set_={
                    "failures": case(
                        (THROTTLE.c.window_start <= ended, 1), else_=THROTTLE.c.failures + 1
                    ),
                    "window_start": case(
                        (THROTTLE.c.window_start <= ended, now), else_=THROTTLE.c.window_start
                    ),
                },
            )
        )


def forgive(connection: Connection, kind: str, client: str | None, name: str) -> None:
    """A success clears the name's count from that client (not the client's own)."""
    key = digest(kind, "name", name, client or "(no address)")
    connection.execute(delete(THROTTLE).where(THROTTLE.c.key == key))
