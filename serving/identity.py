"""Who a child is, for the child's own caseworkers and supervisors: name, ID number, sex,
age and household, read on the child page and nowhere else.

A caseworker acts on a child, not on an id: before a home visit they must know whom
they are visiting and who lives with them. Identity data is also what would harm a
child most if it leaked, so it goes no further than need: only the district roles, only
for a child of their districts (``reach_child``), and a sibling's name only where the
caller could open that sibling's own page; a sibling elsewhere is shown as one, without
a name. Each read is audited (``Action.READ_IDENTITY``: the child and every sibling
named) in the same transaction as the read. The API never carries identity.

The age is said as the records allow: a birth date a record gave in full gives one age;
one given as a month or a year gives the range of ages it allows, on today's date in the
deployment's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from serving.access import Caller, admit, reach_child
from serving.audit import Action
from serving.service import Service
from serving.store import identity as stored
from serving.store.identity import Identity
from serving.vocabulary import DISTRICT_ROLES


@dataclass(frozen=True)
class Age:
    """The ages a birth date allows today: one (``youngest == oldest``) or a range."""

    youngest: int
    oldest: int

    @property
    def exact(self) -> bool:
        return self.youngest == self.oldest


@dataclass(frozen=True)
class Person:
    """A child as the page names them: ``child_id`` None for a sibling the caller may not
    reach, who is then shown without a name, an age or a sex."""

    child_id: str | None
    name: str | None = None
    sex: str | None = None
    age: Age | None = None
    born: str | None = None  # the birth date as known: YYYY-MM-DD, YYYY-MM or YYYY


@dataclass(frozen=True)
class Who:
    """The "who this child is" block: the child (with the ID number) and the siblings."""

    child: Person
    id_number: str | None
    siblings: tuple[Person, ...]


def years_between(born: date, day: date) -> int:
    """Whole years from ``born`` to ``day`` (a birthday counts on the day)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def age_on(birth_date: str | None, precision: str | None, today: date) -> Age | None:
    """The ages ``birth_date`` allows on ``today``: a month allows its first to its last
    day, a year its 1 January to its 31 December; None when the date is unknown."""
    if not birth_date:
        return None
    known = date.fromisoformat(birth_date)
    if precision == "year":
        earliest, latest = date(known.year, 1, 1), date(known.year, 12, 31)
    elif precision == "month":
        following = date(known.year + known.month // 12, known.month % 12 + 1, 1)
        earliest, latest = known.replace(day=1), date.fromordinal(following.toordinal() - 1)
    else:
        earliest = latest = known
    oldest, youngest = years_between(earliest, today), years_between(latest, today)
    return Age(max(youngest, 0), max(oldest, 0))


def _born(found: Identity) -> str | None:
    if not found.birth_date:
        return None
    width = {"year": 4, "month": 7}.get(found.birth_precision or "day", 10)
    return found.birth_date[:width]


def person(found: Identity | None, child_id: str, today: date) -> Person:
    """A reachable child as the page names them (only the id when no identity is known)."""
    if found is None:
        return Person(child_id)
    return Person(
        child_id,
        found.name,
        found.sex,
        age_on(found.birth_date, found.birth_precision, today),
        _born(found),
    )


def read_identity(service: Service, caller: Caller, child_id: str) -> Who:
    """Who the child is and who shares their household, for a caseworker or supervisor
    of the child's district (ForbiddenError for another role, NotFoundError for a child
    elsewhere, each refusal audited); the read audited, child and named siblings alike."""
    admit(caller, Action.READ_IDENTITY, DISTRICT_ROLES)
    child = reach_child(caller, child_id, Action.READ_IDENTITY)
    today = datetime.now(service.deployment.zone).date()
    districts = caller.principal.districts
    with service.engine.begin() as connection:
        found = stored.identity(connection, child_id)
        household = stored.siblings(connection, child)
        caller.audit.allowed(connection, Action.READ_IDENTITY, child_id, child.district)
        for sibling in household:
            if sibling.district in districts:
                caller.audit.allowed(
                    connection, Action.READ_IDENTITY, sibling.child_id, sibling.district
                )
    return Who(
        person(found, child_id, today),
        found.id_number if found else None,
        tuple(
            person(s.identity, s.child_id, today) if s.district in districts else Person(None)
            for s in household
        ),
    )


def read_child_identity(service: Service, caller: Caller, child_id: str) -> Person:
    """The child alone as the page names them (no sibling, no ID number): what a
    document for the child's own family may carry; the read audited."""
    admit(caller, Action.READ_IDENTITY, DISTRICT_ROLES)
    child = reach_child(caller, child_id, Action.READ_IDENTITY)
    today = datetime.now(service.deployment.zone).date()
    with service.engine.begin() as connection:
        found = stored.identity(connection, child_id)
        caller.audit.allowed(connection, Action.READ_IDENTITY, child_id, child.district)
    return person(found, child_id, today)
