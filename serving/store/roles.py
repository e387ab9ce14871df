"""The least-privilege PostgreSQL role the service connects as.

Triggers refuse to edit or erase the append-only tables, but a table's owner can drop
its triggers. So in production the store is owned by one role (which runs `riskflag db
upgrade` and `riskflag db load`), and the service connects as another that holds only
what its requests need: on the append-only tables SELECT and INSERT, nothing else; no
right on any table to TRUNCATE, ALTER, DROP or create triggers. `riskflag db grant ROLE`
(run as the owner, after each upgrade) gives exactly ``SERVICE_RIGHTS``; docs/security.md
shows how to create the role.
"""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from serving.store.db import StoreError

APPEND_ONLY: Final = (
    "audit",
    "decisions",
    "batches",
    "batch_scores",
    "loads",
    "pair_decisions",
    "link_requests",
    "child_changes",
    "assignments",
    "corrections",
    "separations",
    "batch_checks",
    "batch_outcomes",
    "statistics",
)

# every table of the schema, with what the service may do to it (a table missing here is
# a test failure, so a new table gets its rights decided, not inherited)
SERVICE_RIGHTS: Final[dict[str, tuple[str, ...]]] = {
    **dict.fromkeys(APPEND_ONLY, ("SELECT", "INSERT")),
    "alembic_version": ("SELECT",),
    "children": ("SELECT",),
    "events": ("SELECT",),
    "links": ("SELECT",),
    "identities": ("SELECT",),
    "review_pairs": ("SELECT",),
    "users": ("SELECT", "INSERT", "UPDATE"),
    "user_districts": ("SELECT", "INSERT"),
    "tokens": ("SELECT", "INSERT", "UPDATE"),
    "sessions": ("SELECT", "INSERT", "UPDATE"),
    "throttle": ("SELECT", "INSERT", "UPDATE", "DELETE"),
}
_ROLE: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def grant_service_role(engine: Engine, role: str) -> list[str]:
    """Give ``role`` exactly SERVICE_RIGHTS (revoking anything else it held on the
    schema's tables); returns the statements run."""
    if engine.dialect.name != "postgresql":
        raise StoreError("roles are PostgreSQL's: a SQLite store is guarded by its file")
    if not _ROLE.fullmatch(role):
        raise StoreError(f"role {role!r}: lower-case letters, digits and '_' (at most 63)")
    tables = ", ".join(SERVICE_RIGHTS)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"REVOKE ALL ON {tables} FROM {role}",
        *(
            f"GRANT {', '.join(rights)} ON {table} TO {role}"
            for table, rights in SERVICE_RIGHTS.items()
        ),
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or type(exc).__name__
        raise StoreError(f"cannot grant the service's rights to {role}: {reason}") from None
    return statements
