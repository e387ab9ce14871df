"""Overrides for review, and the model with workers: what the analysts need before the
next retraining, and what the CMU study of Allegheny asked (the tool alone screened in
one group 20% more often than another; with workers' judgment, 9%).

- **Overrides** by reason, district, score band (the tier of the score a decision was
  taken on) and model version: decisions, overrides and the override rate; and the
  overrides on the highest scores, where workers and the model disagree most (no child
  id: what the analyst needs is the pattern).
- **The model with workers**: per group of district, area, sex, hukou and ethnicity in
  the latest batch, the share of children the model flagged beside the share whose
  caseworkers took an action (a home visit, a referral, an investigation) on that batch,
  each with its disparity to the group's reference (the largest group).

Counts under ``SMALL_CELL`` are suppressed (None), as the aggregates are. Supervisors see
their districts, analysts and admins the city; every read is audited.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine

from features.deployment import Deployment
from models.flagging import FlaggingPolicy, load_flagging_policy
from serving.access import Caller, admit
from serving.audit import ANONYMOUS, Action, Audit
from serving.errors import ForbiddenError
from serving.explain import tier_for
from serving.service import Service
from serving.store import overrides as stored
from serving.store.aggregates import SMALL_CELL
from serving.store.db import make_engine
from serving.store.queue import latest_batch
from serving.users import authenticate
from serving.vocabulary import DecisionAction, Role

NOTEBOOK: Final = "notebook"  # the audit's client for a report read from a notebook
DISAGREEMENTS: Final = 20  # the overrides on the highest scores listed
ATTRIBUTES: Final = ("district", "area", "sex", "hukou", "ethnicity")
ACTED: Final = frozenset(a.value for a in DecisionAction if a != DecisionAction.NO_ACTION)


@dataclass(frozen=True)
class Tally:
    key: str
    decisions: int | None
    overrides: int | None
    override_rate: float | None


REPORT_ROLES: Final = (Role.ANALYST, Role.SUPERVISOR, Role.ADMIN)


def read_overrides(service: Service, caller: Caller) -> dict[str, Any]:
    """The overrides report over the caller's scope; audited as a read of aggregates."""
    return overrides_report(service.engine, caller, service.flagging, service.deployment)


def overrides_for_notebook(
    url: str,
    token: str,
    flagging: FlaggingPolicy | None = None,
    deployment: Deployment | None = None,
) -> dict[str, Any]:
    """The overrides report for an analyst's notebook: the store at ``url`` read as the
    holder of ``token`` (`riskflag users token NAME`: an analyst's, a supervisor's or an
    admin's), refused and audited as the API refuses, and the read audited with the
    client ``notebook``."""
    engine = make_engine(url)
    try:
        principal = authenticate(engine, token)
        if principal is None:
            Audit(engine, ANONYMOUS, NOTEBOOK).refused(Action.AUTHENTICATE)
            raise ForbiddenError("the token is not valid (unknown, revoked or expired)", "token")
        caller = Caller(principal, Audit(engine, principal, NOTEBOOK))
        admit(caller, Action.READ_AGGREGATES, REPORT_ROLES)
        return overrides_report(
            engine,
            caller,
            flagging or load_flagging_policy(None),
            deployment or Deployment(),
        )
    finally:
        engine.dispose()


def overrides_report(
    engine: Engine, caller: Caller, flagging: FlaggingPolicy, deployment: Deployment
) -> dict[str, Any]:
    """The report itself, over the caller's scope (a supervisor's districts, else the
    city); the read audited in its transaction."""
    districts = (
        None if caller.principal.role != Role.SUPERVISOR else sorted(caller.principal.districts)
    )
    with engine.begin() as connection:
        made = stored.decisions(connection, districts)
        batch = latest_batch(connection)
        children = stored.batch_children(connection, batch, districts) if batch else []
        caller.audit.allowed(connection, Action.READ_AGGREGATES)

    def band(decision: dict[str, Any]) -> str:
        score = decision["score_1_20"]
        return tier_for(score, flagging) if score else "unscored"

    areas = dict(deployment.districts)
    return {
        "suppressed_below": SMALL_CELL,
        "districts": districts,
        "decisions": len(made),
        "overrides": sum(not d["agrees"] for d in made),
        "by_reason": _tallies(d for d in made if not d["agrees"]),
        "by_district": _by(made, lambda d: d["district"]),
        "by_band": _by(made, band),
        "by_model_version": _by(made, lambda d: d["model_version"] or "none"),
        "disagreements": _disagreements(made, band),
        "with_workers": {
            "batch": {"as_of": batch.as_of, "model_version": batch.model_version}
            if batch
            else None,
            "groups": [
                row for attribute in ATTRIBUTES for row in _with_workers(children, attribute, areas)
            ],
        },
    }


def _small(count: int) -> int | None:
    return count if count >= SMALL_CELL else None


def _tallies(overridden: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = Counter(d["reason_code"] or "none" for d in overridden)
    return [{"key": key, "overrides": _small(n)} for key, n in counts.most_common()]


def _by(made: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> list[Tally]:
    totals, overridden = (
        Counter(key(d) for d in made),
        Counter(key(d) for d in made if not d["agrees"]),
    )
    tallies = []
    for name, n in sorted(totals.items()):
        shown, over = _small(n), _small(overridden[name])
        hidden = shown is None or (over is None and overridden[name] > 0)
        rate = None if hidden else overridden[name] / n
        tallies.append(Tally(str(name), shown, over, rate))
    return tallies


def _disagreements(
    made: list[dict[str, Any]], band: Callable[[dict[str, Any]], str]
) -> list[dict[str, Any]]:
    """The overrides on the highest scores (decision id, not child id), highest first."""
    overridden = [d for d in made if not d["agrees"] and d["score_1_20"]]
    overridden.sort(key=lambda d: (-d["score_1_20"], -d["id"]))
    return [
        {
            "decision_id": d["id"],
            "district": d["district"],
            "score_1_20": d["score_1_20"],
            "band": band(d),
            "action": d["action"],
            "reason_code": d["reason_code"],
            "model_version": d["model_version"],
            "created_at": d["created_at"],
        }
        for d in overridden[:DISAGREEMENTS]
    ]


def _with_workers(
    children: list[dict[str, Any]], attribute: str, areas: dict[str, str]
) -> list[dict[str, Any]]:
    """Per group: children, the model's flag rate and the workers' action rate, each with
    its ratio to the largest group's."""
    value = (
        (lambda c: areas.get(c["district"], "?"))
        if attribute == "area"
        else (lambda c: c[attribute])
    )
    counts: dict[str, list[int]] = {}
    for child in children:
        row = counts.setdefault(str(value(child)), [0, 0, 0])
        row[0] += 1
        row[1] += bool(child["flagged"])
        row[2] += child["action"] in ACTED
    if not counts:
        return []
    reference = max(counts, key=lambda g: (counts[g][0], g))
    ref_n, ref_flagged, ref_acted = counts[reference]
    rows = []
    for group, (n, flagged, acted) in sorted(counts.items()):
        flag_rate, act_rate = _rate(flagged, n), _rate(acted, n)
        rows.append({
            "attribute": attribute, "group": group, "reference": reference,
            "children": _small(n), "flag_rate": flag_rate, "action_rate": act_rate,
            "flag_ratio": _ratio(flag_rate, _rate(ref_flagged, ref_n)),
            "action_ratio": _ratio(act_rate, _rate(ref_acted, ref_n)),
        })  # fmt: skip
    return rows


def _rate(count: int, of: int) -> float | None:
    """count / of, unless either would disclose a small cell (a count of 1 to 9)."""
    if of < SMALL_CELL or 0 < count < SMALL_CELL:
        return None
    return count / of


def _ratio(rate: float | None, reference: float | None) -> float | None:
    return rate / reference if rate is not None and reference else None
