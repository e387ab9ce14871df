"""Who a child is (``identities``: identity data) and who else is in their household.

Identity data leaves the store by these two functions only, and serving.identity is
their one caller: it decides who may read them, audits the read and says the child's
age. Nothing here is a feature, a score's input, an export or a log line.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection, RowMapping

from serving.store.children import ChildRef
from serving.store.tables import CHILDREN, IDENTITIES


@dataclass(frozen=True)
class Identity:
    """A child's identity as linkage resolved it; ``birth_date`` is ``YYYY-MM-DD`` whose
    precision (``day``, ``month``, ``year``) says how much of it a record gave (a partial
    date is completed to the middle of its month or year)."""

    child_id: str
    name: str | None
    id_number: str | None
    birth_date: str | None
    birth_precision: str | None
    sex: str | None


@dataclass(frozen=True)
class Sibling:
    """Another child of the same household: their district decides who may see them."""

    child_id: str
    district: str
    identity: Identity | None


def _identity(child_id: str, row: RowMapping) -> Identity | None:
    if all(row[name] is None for name in ("name", "id_number", "birth_date")):
        return None  # an outer join that found no identity
    return Identity(
        child_id,
        row["name"],
        row["id_number"],
        row["birth_date"],
        row["birth_precision"],
        row["sex"],
    )


def identity(connection: Connection, child_id: str) -> Identity | None:
    """The child's identity, or None (a store loaded from folders riskflag did not link)."""
    query = select(IDENTITIES).where(IDENTITIES.c.child_id == child_id)
    row = connection.execute(query).mappings().first()
    return None if row is None else _identity(child_id, row)


def siblings(connection: Connection, child: ChildRef) -> list[Sibling]:
    """The other children of the child's household (none merged into another child), with
    their identities, in one query; none when the child has no household."""
    if child.household_id is None:
        return []
    rows = connection.execute(
        select(
            CHILDREN.c.child_id,
            CHILDREN.c.district,
            IDENTITIES.c.name,
            IDENTITIES.c.id_number,
            IDENTITIES.c.birth_date,
            IDENTITIES.c.birth_precision,
            IDENTITIES.c.sex,
        )
        .select_from(CHILDREN.outerjoin(IDENTITIES, IDENTITIES.c.child_id == CHILDREN.c.child_id))
        .where(
            CHILDREN.c.household_id == child.household_id,
            CHILDREN.c.child_id != child.child_id,
            CHILDREN.c.merged_into.is_(None),
        )
        .order_by(IDENTITIES.c.birth_date, CHILDREN.c.child_id)
    ).mappings()
    return [
        Sibling(row["child_id"], row["district"], _identity(row["child_id"], row)) for row in rows
    ]
