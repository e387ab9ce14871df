"""A child's risk, as the API and the pages show it: a stored child's or a posted case
history's score, explained, and whether it is flagged.

A score is a calibrated rate of a recorded outcome, never a probability of harm. Flags
are rationed per batch (the flagging policy's capacity), so a single score is judged
against the latest batch of the same model and date (``flag_of``). Both functions read
and audit as one request does, and raise domain errors (serving.errors) for the API and
the pages to translate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl
from sqlalchemy.engine import Connection

from features import schema as s
from features.contract import ContractError, check_tables
from features.household import Household
from models.flagging import TIERS
from serving.access import Caller, reach_child
from serving.audit import Action
from serving.errors import (
    ConflictError,
    ContractViolationError,
    ForbiddenError,
    InvalidError,
    NotScorableError,
    Problem,
)
from serving.explain import RiskView, explain_child
from serving.i18n import Language
from serving.service import Service
from serving.store import children as stored
from serving.store.provenance import Provenance, provenance
from serving.store.queue import batch_score, capacity_left, latest_batch
from serving.whatif import WhatIf, what_if


@dataclass(frozen=True)
class Risk:
    """A score explained, the model version behind it, and its flag with the reason;
    ``sources``: where each record behind a factor came from, by event id (a stored
    child's; none for a posted case history, whose records no linkage joined)."""

    view: RiskView
    version: str
    horizon_days: int
    flagged: bool
    basis: str
    sources: Mapping[str, Provenance] = field(default_factory=dict)
    what_if: WhatIf | None = None  # asked for: what would change the score (serving.whatif)


def stored_risk(
    service: Service,
    caller: Caller,
    child_id: str,
    as_of: date | None,
    language: Language,
    top: int | None,
    asks_what_if: bool = False,
) -> Risk:
    """A stored child's score on ``as_of`` (default: the latest batch's date): reached
    (NotFoundError outside the caller's districts), scored, flagged and audited, with
    where each record behind a factor came from (one query for all of them) and, when
    ``asks_what_if``, the scores without each factor's records and each raising record."""
    child = reach_child(caller, child_id, Action.READ_RISK)
    with service.engine.connect() as connection:
        until = stored.exported_at(connection)
        batch = latest_batch(connection)
    if until is None:
        raise ConflictError("the store holds no loaded export", code="no_data")
    day = as_of or (batch.as_of if batch else until.date())
    if day > until.date():
        raise InvalidError(
            "as_of",
            "within_export",
            f"query.as_of: {day} is after the latest export ({until.date()})",
            where="query",
        )
    served = service.served()
    household = stored.household(service.engine, child, service.deployment)
    try:
        view = explain_child(
            served.model, household, child.child_id, day, service.flagging, language, top
        )
    except NotScorableError:  # outside the population: read all the same
        with service.engine.begin() as connection:
            caller.audit.allowed(connection, Action.READ_RISK, child_id, child.district)
        raise
    with service.engine.begin() as connection:
        flagged, basis = flag_of(connection, service, served.version, view, stored=True)
        sources = provenance(connection, (e for f in view.factors for e in f.event_ids))
        caller.audit.allowed(connection, Action.READ_RISK, child_id, child.district)
    found = what_if(served.model, household, view, service.flagging) if asks_what_if else None
    return Risk(view, served.version, served.model.horizon_days, flagged, basis, sources, found)


@dataclass(frozen=True)
class Posted:
    """A case history sent to be scored: one child and its events, as contract tables
    (every column text, as an export's), on an as-of date."""

    child_id: str
    district: str
    as_of: date
    children: pl.DataFrame
    events: pl.DataFrame


def posted_risk(
    service: Service, caller: Caller, posted: Posted, language: Language, top: int
) -> Risk:
    """A posted case history's score: only for a district of the caller's (refused and
    audited otherwise), within the service's bounds, checked by the data contract,
    scored, judged against its district's capacity and audited. Nothing is stored but
    the audit record; its records carry no provenance (never looked up by their ids in
    the store: a posted id may be another child's record)."""
    if posted.district not in caller.principal.districts:
        same = _stored_as(service, posted.child_id, posted.district)
        caller.audit.refused(Action.SCORE_REQUEST, child_id=same, district=posted.district)
        raise ForbiddenError(
            f"child.district {posted.district!r} is not among yours", reason="district"
        )
    _within_bounds(service, posted)
    with service.budget.take(posted.events.height):
        household = _checked(service, posted)
        served = service.served()
        view = explain_child(
            served.model, household, posted.child_id, posted.as_of, service.flagging, language, top
        )
    same = _stored_as(service, view.child_id, view.district)
    with service.engine.begin() as connection:
        flagged, basis = flag_of(connection, service, served.version, view, stored=False)
        caller.audit.allowed(connection, Action.SCORE_REQUEST, same, view.district)
    return Risk(view, served.version, served.model.horizon_days, flagged, basis)


def _within_bounds(service: Service, posted: Posted) -> None:
    most = service.settings.max_events_per_request
    if posted.events.height > most:
        raise InvalidError("events", "max_items", f"body.events: at most {most:,} events", "body")
    today = datetime.now(service.deployment.zone).date()
    if posted.as_of > today:
        message = f"body.as_of: {posted.as_of} is in the future"
        raise InvalidError("as_of", "not_future", message, "body")


def _checked(service: Service, posted: Posted) -> Household:
    """The posted tables as case histories, by the data contract's own rules (a request
    is held to exactly what an agency export is); every problem named by its field."""
    try:
        checked = check_tables(posted.children, posted.events, service.deployment, source="request")
    except ContractError as exc:
        problems = _contract_problems(exc)
        raise ContractViolationError(
            "the case history breaks the data contract: "
            + "; ".join(f"{p.field or ''} {p.rule}".strip() for p in problems[:5]),
            problems,
        ) from exc
    children, events = checked.children.collect(), checked.events.collect()
    return Household(children, events, service.deployment)


def _contract_problems(exc: ContractError) -> list[Problem]:
    report = exc.report
    problems = [Problem(None, "unreadable", line) for line in report.problems]
    for result in report.violations:
        rows: list[int | None] = [sample.row for sample in result.samples] or [None]
        for row in rows:
            where = f"body.{'child' if result.file == s.CHILDREN else result.file}"
            if row is not None and result.file != s.CHILDREN:
                where += f"[{row - 1}]"
            field = f"{where}.{result.column}"
            problems.append(Problem(field, result.rule, result.description, result.count))
    return problems


def _stored_as(service: Service, child_id: str, district: str) -> str | None:
    """The id an audit record of a posted history names: the stored child's only when the
    store holds that id in the posted district (the same child, as far as anyone can tell);
    otherwise none, so that a posted id is never audited against another district's child."""
    with service.engine.connect() as connection:
        found = stored.find_child(connection, child_id)
    return child_id if found is not None and found.district == district else None


def flag_of(
    connection: Connection, service: Service, version: str, view: RiskView, stored: bool
) -> tuple[bool, str]:
    """Whether this score is flagged, and why. A stored child (``stored``) keeps the flag
    its batch gave it; a posted case history is judged only against its district's
    capacity, never by a stored record of the same id (which may be another district's
    child, and is not what was scored)."""
    policy = service.flagging
    if TIERS.index(view.tier) < TIERS.index(policy.flag_from):
        return False, f"tier {view.tier} is below the flagging tier ({policy.flag_from})"
    batch = latest_batch(connection)
    if batch is None or batch.model_version != version or batch.as_of != view.as_of:
        return True, (
            f"tier {view.tier} reaches the flagging tier; no batch of this model on this date "
            "to apply the capacity to"
        )
    kept = batch_score(connection, batch.id, view.child_id) if stored else None
    if kept is not None:
        return bool(kept["flagged"]), f"as flagged in batch {batch.id}"
    left, lowest = capacity_left(connection, batch.id, view.district, policy)
    group = view.district if policy.by_district else "the batch"
    if left > 0 or lowest is None:
        return True, f"{group} has flags to spare in batch {batch.id}"
    within = view.probability >= lowest
    return within, f"{'within' if within else 'beyond'} {group}'s capacity in batch {batch.id}"
