"""A summary of the score for the child's family: what the score used, grouped by source
and date, what it means as a rate among past children, that the model decides nothing
alone (the caseworker's recorded decision does), and how to ask for a record to be
corrected.

Why: families and their lawyers found no way to see what a tool held on them, and PIPL
Art. 24 gives a person the right to an explanation of an automated decision that
significantly affects them and to refuse a decision made by automated means alone.

What it carries: the child's own name and records and nothing of anyone else: a factor
that counts a household member's records is said as such, its records neither listed
nor counted. Producing it is a caseworker's act, audited (``Action.FAMILY_SUMMARY``)
beside the reads it makes (the score, the identity, the history)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from serving import cases
from serving.access import Caller, admit, reach_child
from serving.audit import Action
from serving.clock import utc_now
from serving.i18n import Language
from serving.identity import Person, read_child_identity
from serving.risk import Risk, stored_risk
from serving.service import Service
from serving.vocabulary import DISTRICT_ROLES


@dataclass(frozen=True)
class UsedFactor:
    """A factor of the score in words, and how many of the child's own records it used."""

    fact: str
    raises: bool
    records: int
    household: bool  # it counts household members' records (not listed)


@dataclass(frozen=True)
class FamilySummary:
    child: Person
    risk: Risk
    factors: tuple[UsedFactor, ...]
    used: dict[str, list[dict[str, Any]]]  # the child's records behind the factors, by source
    decision: dict[str, Any] | None  # the latest recorded decision, if any
    produced_by: str
    produced_at: datetime


def family_summary(
    service: Service, caller: Caller, child_id: str, language: Language, named: bool = True
) -> FamilySummary:
    """The summary of a reachable child's score for their family, with the child's name
    when ``named`` (the page; the API carries no identity); audited."""
    admit(caller, Action.FAMILY_SUMMARY, DISTRICT_ROLES)
    reach_child(caller, child_id, Action.FAMILY_SUMMARY)  # a refusal is audited as this
    risk = stored_risk(service, caller, child_id, None, language, None)
    child = read_child_identity(service, caller, child_id) if named else Person(child_id)
    _, grouped = cases.read_history(service, caller, child_id)
    decisions = cases.read_decisions(service, caller, child_id)
    own = {e["event_id"]: (source, e) for source, rows in grouped.items() for e in rows}
    behind = {i for f in risk.view.factors for i in f.event_ids if i in own}
    used: dict[str, list[dict[str, Any]]] = {}
    for event_id in sorted(behind, key=lambda i: (own[i][0], own[i][1]["occurred_at"], i)):
        source, event = own[event_id]
        used.setdefault(source, []).append(event)
    factors = tuple(
        UsedFactor(
            fact=f.fact,
            raises=f.log_odds > 0,
            records=sum(i in own for i in f.event_ids),
            household=any(i not in own for i in f.event_ids),
        )
        for f in risk.view.factors
    )
    with service.engine.begin() as connection:
        caller.audit.allowed(connection, Action.FAMILY_SUMMARY, child_id, risk.view.district)
    return FamilySummary(
        child, risk, factors, used, decisions[0] if decisions else None,
        caller.principal.name, utc_now(),
    )  # fmt: skip
