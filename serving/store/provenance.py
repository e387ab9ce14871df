"""Where each stored event came from: the partner's system, the partner's own record id,
and how linkage joined that record to the child (``links``).

A caseworker weighing a record behind a score needs to know which office wrote it and
how sure the service is that it is this child's: a record joined by the same ID number
is not one the model joined at the edge of its threshold. The event carries the first
two (``events.source``, ``events.source_record_id``, from the linked load); the link
carries the rest, keyed by the same pair. One outer join answers both, so a history or
a score's evidence costs one query however many records it holds; an event of a folder
riskflag did not link, or whose record has no link, has every field None.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, and_, select
from sqlalchemy.engine import Connection

from serving.store.tables import EVENTS, LINKS

# the names the link's columns take beside an event's (its own ``source`` is the system)
LINK_HOW: Final = "link_how"
LINK_PROBABILITY: Final = "link_probability"
CHUNK: Final = 5_000  # ids per statement: within SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class Provenance:
    """A record's system and id at the partner, and how linkage joined it (``id_number``,
    ``match``, ``review``, ``single``) with the strongest link's probability."""

    source: str | None = None
    source_record_id: str | None = None
    link_how: str | None = None
    link_probability: float | None = None


UNKNOWN: Final = Provenance()


def sourced_events() -> Select[Any]:
    """Every column of ``events`` with its record's link (``link_how``,
    ``link_probability``; None where there is none): the one join of events to links."""
    return select(
        EVENTS,
        LINKS.c.how.label(LINK_HOW),
        LINKS.c.match_probability.label(LINK_PROBABILITY),
    ).select_from(
        EVENTS.outerjoin(
            LINKS,
            and_(
                LINKS.c.source == EVENTS.c.source,
                LINKS.c.record_id == EVENTS.c.source_record_id,
            ),
        )
    )


def provenance_of(row: Any) -> Provenance:
    """The provenance fields of a row of ``sourced_events``."""
    probability = row[LINK_PROBABILITY]
    return Provenance(
        row["source"],
        row["source_record_id"],
        row[LINK_HOW],
        None if probability is None else float(probability),
    )


def provenance(connection: Connection, event_ids: Iterable[str]) -> dict[str, Provenance]:
    """Each stored event's provenance, by event id (ids the store does not hold are left
    out): one statement for up to ``CHUNK`` ids, as a score's evidence has."""
    wanted = list(dict.fromkeys(event_ids))
    found: dict[str, Provenance] = {}
    for start in range(0, len(wanted), CHUNK):
        query = sourced_events().where(EVENTS.c.event_id.in_(wanted[start : start + CHUNK]))
        for row in connection.execute(query).mappings():
            found[row["event_id"]] = provenance_of(row)
    return found
