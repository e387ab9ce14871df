"""What the service reads and writes in the store for casework: children's histories,
batch scores (the queue), decisions and de-identified aggregates. The API and the pages
call these; authorization and audit are the caller's (serving.api), in the same
transaction as the read or write they guard.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

import polars as pl
from sqlalchemy import Engine, Table, and_, case, func, insert, or_, select
from sqlalchemy.engine import Connection

from features.build import build_features
from features.contract import CaseHistories
from features.deployment import Deployment
from features.table import shard_plan
from models.flagging import TIERS, FlaggingPolicy, flag
from serving.champion import Served
from serving.disclosure import Tables, suppress
from serving.explain import store_histories
from serving.limits import IDENTIFIER
from serving.store.load import read_frames
from serving.store.tables import Batch, BatchScore, Child, Decision, Event, Load

BATCHES: Table = Batch.__table__  # type: ignore[assignment]
SCORES: Table = BatchScore.__table__  # type: ignore[assignment]
DECISIONS: Table = Decision.__table__  # type: ignore[assignment]
CHILDREN: Table = Child.__table__  # type: ignore[assignment]
EVENTS: Table = Event.__table__  # type: ignore[assignment]
LOADS: Table = Load.__table__  # type: ignore[assignment]

# the codes a decision may hold; their words are the pages' (message catalogue)
ACTIONS: Final = ("home_visit", "referral_to_services", "investigation_requested", "no_action")
OVERRIDE_REASONS: Final = (
    "knowledge_not_in_records",
    "records_outdated",
    "records_wrong",
    "already_served",
    "situation_changed",
    "other",
)
MAX_NOTE: Final = 4000
SMALL_CELL: Final = 10  # aggregates below this count are suppressed for analysts
REASONS_KEPT: Final = 3


class CaseworkError(ValueError):
    """A request the store cannot satisfy as asked; the message names the field."""


@dataclass(frozen=True)
class ChildRef:
    child_id: str
    district: str
    household_id: str | None


def find_child(connection: Connection, child_id: str) -> ChildRef | None:
    row = connection.execute(
        select(CHILDREN.c.child_id, CHILDREN.c.district, CHILDREN.c.household_id).where(
            CHILDREN.c.child_id == child_id
        )
    ).first()
    return ChildRef(row[0], row[1], row[2]) if row else None


def exported_at(connection: Connection) -> datetime | None:
    value = connection.execute(select(func.max(LOADS.c.exported_at))).scalar()
    return value if isinstance(value, datetime) else None


def household_histories(
    engine: Engine, child: ChildRef, deployment: Deployment, until: datetime
) -> CaseHistories:
    """The child's case history and its siblings' (association features read them)."""
    members = [child.child_id]
    if child.household_id:
        with engine.connect() as connection:
            members = list(
                connection.execute(
                    select(CHILDREN.c.child_id).where(CHILDREN.c.household_id == child.household_id)
                ).scalars()
            )
    children, events = read_frames(engine, members)
    return store_histories(children, events, until, deployment)


def history(connection: Connection, child_id: str) -> dict[str, list[dict[str, Any]]]:
    """A child's events grouped by source (the part of the event type before the dot),
    oldest first."""
    rows = connection.execute(
        select(EVENTS).where(EVENTS.c.child_id == child_id).order_by(EVENTS.c.occurred_at)
    ).mappings()
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        source = str(row["event_type"]).split(".", 1)[0]
        grouped.setdefault(source, []).append(dict(row))
    return grouped


# ---- batches: the queue ---------------------------------------------------------------


@dataclass(frozen=True)
class BatchSummary:
    id: int
    as_of: date
    model_version: str
    children: int
    flagged: int
    created_at: datetime
    created_by: str


def score_store(
    engine: Engine,
    served: Served,
    policy: FlaggingPolicy,
    deployment: Deployment,
    as_of: date,
    created_by: str,
) -> BatchSummary:
    """Score every child in the store on ``as_of`` into a new batch, in one transaction
    (a failed batch leaves no half queue)."""
    with engine.connect() as connection:
        until = exported_at(connection)
    if until is None:
        raise CaseworkError("the store holds no loaded export: run `riskflag db load DIR` first")
    if as_of > until.date():
        raise CaseworkError(f"as_of {as_of} is after the latest export ({until.date()})")
    children, events = read_frames(engine)
    histories = store_histories(children, events, until, deployment)
    model = served.model
    parts = []
    for shard in shard_plan(histories):
        table = build_features(histories, model.config, model.policy, [as_of], shard)
        frame = table.frame.collect()
        if frame.height:
            part = model.score(frame, policy, top=REASONS_KEPT)  # rows in frame's order
            parts.append(part.with_columns(_reason_values(frame, part)))
    if not parts:
        raise CaseworkError(f"no child in the store is in the model's population on {as_of}")
    scored = pl.concat(parts)
    scored = flag(  # flags over the whole batch, not per shard
        scored.drop("tier", "flagged"), policy
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    flagged = int(scored["flagged"].sum())
    with engine.begin() as connection:
        batch_id = connection.execute(
            insert(BATCHES)
            .values(
                as_of=as_of,
                model_version=served.version,
                model_sha256=served.sha256,
                model_family=model.family,
                created_at=now,
                created_by=created_by,
                children=scored.height,
                flagged=flagged,
            )
            .returning(BATCHES.c.id)
        ).scalar_one()
        rows = [
            {
                "batch_id": batch_id,
                "child_id": row["child_id"],
                "district": row["district"],
                "probability": float(row["probability"]),
                "score_1_20": int(row["score_1_20"]),
                "tier": str(row["tier"]),
                "flagged": bool(row["flagged"]),
                "reasons": json.dumps(
                    [
                        {
                            "factor": row[f"factor_{i}"],
                            "log_odds": row[f"factor_{i}_log_odds"],
                            "points": row[f"factor_{i}_points"],
                            "value": row[f"factor_{i}_value"],
                        }
                        for i in range(1, REASONS_KEPT + 1)
                        if row.get(f"factor_{i}") is not None
                    ]
                ),
            }
            for row in scored.iter_rows(named=True)
        ]
        for start in range(0, len(rows), 2000):
            connection.execute(insert(SCORES), rows[start : start + 2000])
    return BatchSummary(batch_id, as_of, served.version, scored.height, flagged, now, created_by)


def _reason_values(frame: pl.DataFrame, scored: pl.DataFrame) -> list[pl.Series]:
    """Each reason's feature value (for its plain words; None for an interaction)."""
    columns = []
    for i in range(1, REASONS_KEPT + 1):
        if f"factor_{i}" not in scored.columns:
            continue
        names = scored[f"factor_{i}"].to_list()
        values = [
            frame[name][row] if name in frame.columns else None for row, name in enumerate(names)
        ]
        plain = [
            v if isinstance(v, bool | int | float | str) or v is None else str(v) for v in values
        ]
        columns.append(pl.Series(f"factor_{i}_value", plain, dtype=pl.Object))
    return columns


def latest_batch(connection: Connection) -> BatchSummary | None:
    row = connection.execute(select(BATCHES).order_by(BATCHES.c.id.desc()).limit(1)).mappings()
    found = row.first()
    if found is None:
        return None
    return BatchSummary(
        found["id"],
        found["as_of"],
        found["model_version"],
        found["children"],
        found["flagged"],
        found["created_at"],
        found["created_by"],
    )


def batch_score(connection: Connection, batch_id: int, child_id: str) -> dict[str, Any] | None:
    row = connection.execute(
        select(SCORES).where(SCORES.c.batch_id == batch_id, SCORES.c.child_id == child_id)
    ).mappings()
    found = row.first()
    return dict(found) if found else None


def first_flagged(connection: Connection, child_ids: Sequence[str]) -> dict[str, datetime]:
    """When each child was first flagged, by the creation of the earliest batch flagging it
    (days since flagged, on the queue)."""
    if not child_ids:
        return {}
    rows = connection.execute(
        select(SCORES.c.child_id, func.min(BATCHES.c.created_at))
        .join(BATCHES, BATCHES.c.id == SCORES.c.batch_id)
        .where(SCORES.c.child_id.in_(list(child_ids)), SCORES.c.flagged.is_(True))
        .group_by(SCORES.c.child_id)
    ).all()
    return {str(child): at for child, at in rows}


def capacity_left(
    connection: Connection, batch_id: int, district: str, policy: FlaggingPolicy
) -> tuple[int, float | None]:
    """How many more flags the batch's capacity allows in the district's group (the
    district, or the whole batch for a top-percent policy), and the lowest rate flagged
    in that group (where the capacity ran out, if it did)."""
    scope = [SCORES.c.batch_id == batch_id]
    if policy.capacity == "per_district":
        scope.append(SCORES.c.district == district)
    row = connection.execute(
        select(
            func.count(),
            func.sum(case((SCORES.c.flagged.is_(True), 1), else_=0)),
            func.min(case((SCORES.c.flagged.is_(True), SCORES.c.probability), else_=None)),
        ).where(*scope)
    ).one()
    children, flagged, lowest = int(row[0]), int(row[1] or 0), row[2]
    if policy.capacity == "per_district":
        allowed = policy.per_district
    else:
        allowed = int(children * policy.top_percent / 100)
    return max(0, allowed - flagged), (float(lowest) if lowest is not None else None)


def _cursor_encode(score: int, probability: float, child_id: str) -> str:
    raw = json.dumps([score, probability, child_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_decode(cursor: str) -> tuple[int, float, str]:
    """The position a cursor holds, parsed strictly: a 1-20 score, a rate in [0, 1] and a
    child id, exactly as _cursor_encode writes them. Anything else was not issued here."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, binascii.Error, RecursionError):
        position = None
    if isinstance(position, list) and len(position) == 3:
        score, probability, child_id = position
        if (
            type(score) is int  # bool is an int subclass: excluded
            and 1 <= score <= 20
            and type(probability) in (int, float)
            and 0.0 <= probability <= 1.0  # NaN fails too
            and IDENTIFIER.matches(child_id)
        ):
            return score, float(probability), child_id
    raise CaseworkError(
        "cursor: not a cursor this service issued (use next_cursor from the last page)"
    )


def queue(
    connection: Connection,
    batch: BatchSummary,
    districts: Sequence[str],
    tier: str | None,
    undecided: bool,
    flagged_only: bool,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a batch's children in ``districts``, highest score first (then highest
    rate, then child id), with the latest decision recorded since the batch."""
    latest_decision = (
        select(
            DECISIONS.c.child_id,
            func.max(DECISIONS.c.created_at).label("decided_at"),
        )
        .where(DECISIONS.c.created_at >= batch.created_at)
        .group_by(DECISIONS.c.child_id)
        .subquery()
    )
    query = (
        select(SCORES, latest_decision.c.decided_at)
        .join(latest_decision, latest_decision.c.child_id == SCORES.c.child_id, isouter=True)
        .where(SCORES.c.batch_id == batch.id, SCORES.c.district.in_(list(districts)))
        .order_by(SCORES.c.score_1_20.desc(), SCORES.c.probability.desc(), SCORES.c.child_id)
        .limit(limit + 1)
    )
    if flagged_only:
        query = query.where(SCORES.c.flagged.is_(True))
    if tier is not None:
        query = query.where(SCORES.c.tier == tier)
    if undecided:
        query = query.where(latest_decision.c.decided_at.is_(None))
    if cursor:
        score, probability, child_id = _cursor_decode(cursor)
        query = query.where(
            or_(
                SCORES.c.score_1_20 < score,
                and_(SCORES.c.score_1_20 == score, SCORES.c.probability < probability),
                and_(
                    SCORES.c.score_1_20 == score,
                    SCORES.c.probability == probability,
                    SCORES.c.child_id > child_id,
                ),
            )
        )
    rows = [dict(row) for row in connection.execute(query).mappings()]
    page, more = rows[:limit], len(rows) > limit
    following = None
    if more and page:
        last = page[-1]
        following = _cursor_encode(last["score_1_20"], last["probability"], last["child_id"])
    for row in page:
        row["reasons"] = json.loads(row["reasons"])
    return page, following


# ---- decisions ------------------------------------------------------------------------


def record_decision(
    connection: Connection,
    child: ChildRef,
    user_name: str,
    role: str,
    action: str,
    agrees: bool,
    reason_code: str | None,
    note: str,
) -> dict[str, Any]:
    """Store a decision (in the caller's transaction) with the score it was taken on."""
    if action not in ACTIONS:
        raise CaseworkError(f"action: one of {', '.join(ACTIONS)}")
    if reason_code is not None and reason_code not in OVERRIDE_REASONS:
        raise CaseworkError(f"reason_code: one of {', '.join(OVERRIDE_REASONS)}")
    if not agrees and reason_code is None:
        raise CaseworkError("reason_code: required when the decision overrides the flag")
    if len(note) > MAX_NOTE:
        raise CaseworkError(f"note: at most {MAX_NOTE} characters")
    batch = latest_batch(connection)
    scored = batch_score(connection, batch.id, child.child_id) if batch else None
    values = {
        "child_id": child.child_id,
        "district": child.district,
        "user_name": user_name,
        "role": role,
        "action": action,
        "agrees": agrees,
        "reason_code": reason_code,
        "note": note,
        "batch_id": batch.id if scored and batch else None,
        "score_1_20": scored["score_1_20"] if scored else None,
        "model_version": batch.model_version if scored and batch else None,
        "created_at": datetime.now(UTC).replace(tzinfo=None),
    }
    decision_id = connection.execute(
        insert(DECISIONS).values(**values).returning(DECISIONS.c.id)
    ).scalar_one()
    return {"id": decision_id, **values}


def decisions(
    connection: Connection,
    child_id: str | None = None,
    districts: Sequence[str] | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Decisions, newest first: one child's, or all of some districts'."""
    query = select(DECISIONS).order_by(DECISIONS.c.id.desc()).limit(limit)
    if child_id is not None:
        query = query.where(DECISIONS.c.child_id == child_id)
    if districts is not None:
        query = query.where(DECISIONS.c.district.in_(list(districts)))
    return [dict(row) for row in connection.execute(query).mappings()]


# ---- de-identified aggregates for analysts ---------------------------------------------


def aggregates(connection: Connection, policy: FlaggingPolicy) -> dict[str, Any]:
    """Counts per district and tier in the latest batch, and decisions per action and
    agreement; no child identifier. Every count below SMALL_CELL is suppressed (null), and
    so are the fewest others needed so that no suppressed count can be worked out from the
    published ones, the totals and the policy (serving.disclosure)."""
    batch = latest_batch(connection)
    if batch is None:
        return {"batch": None, "by_district_tier": [], "decisions": []}
    tiers = connection.execute(
        select(
            SCORES.c.district,
            SCORES.c.tier,
            func.count().label("children"),
            func.sum(case((SCORES.c.flagged.is_(True), 1), else_=0)).label("flagged"),
        )
        .where(SCORES.c.batch_id == batch.id)
        .group_by(SCORES.c.district, SCORES.c.tier)
    ).all()
    made = connection.execute(
        select(DECISIONS.c.action, DECISIONS.c.agrees, func.count())
        .where(DECISIONS.c.batch_id == batch.id)
        .group_by(DECISIONS.c.action, DECISIONS.c.agrees)
    ).all()
    grid = _tier_grid(tiers, policy)
    tiers_hidden = suppress(grid, SMALL_CELL)
    acts = _decision_grid(made)
    acts_hidden = suppress(acts, SMALL_CELL)

    def cell(grid: Tables, hidden: set[Any], key: Any) -> int | None:
        return None if key in hidden else int(grid.counts[key])

    districts = sorted({key[1] for key in grid.counts})
    return {
        "batch": {"id": batch.id, "as_of": batch.as_of, "model_version": batch.model_version},
        "suppressed_below": SMALL_CELL,
        "by_district_tier": [
            {
                "district": district,
                "tier": tier,
                "children": cell(grid, tiers_hidden, ("children", district, tier)),
                "flagged": cell(grid, tiers_hidden, ("flagged", district, tier))
                if ("flagged", district, tier) in grid.counts
                else 0,  # below the policy's flagging tier: never flagged
            }
            for district in districts
            for tier in TIERS
        ],
        "decisions": [
            {"action": action, "agrees": agrees, "count": cell(acts, acts_hidden, (action, agrees))}
            for action, agrees in sorted(acts.counts)
        ],
    }


def _tier_grid(rows: Sequence[Any], policy: FlaggingPolicy) -> Tables:
    """Children and flags per district and tier, every tier of every district of the batch
    (an absent group is a count of 0, not a missing one); flags only from the policy's
    flagging tier (below it they are 0 by policy, and known to be)."""
    found = {(district, tier): (int(n), int(f or 0)) for district, tier, n, f in rows}
    districts = sorted({district for district, _ in found})
    flaggable = TIERS[TIERS.index(policy.flag_from) :]
    counts: dict[Any, int] = {}
    for district in districts:
        for tier in TIERS:
            n, f = found.get((district, tier), (0, 0))
            counts["children", district, tier] = n
            if tier in flaggable:
                counts["flagged", district, tier] = f
    margins = [
        frozenset(key for key in counts if key[0] == kind and key[index] == value)
        for kind in ("children", "flagged")
        for index, values in ((1, districts), (2, TIERS))
        for value in values
    ]
    links = [(key, ("children", *key[1:])) for key in counts if key[0] == "flagged"]
    return Tables(counts, [m for m in margins if m], links)


def _decision_grid(rows: Sequence[Any]) -> Tables:
    """Decisions per action and agreement, every pair of the actions recorded."""
    found = {(str(action), bool(agrees)): int(n) for action, agrees, n in rows}
    actions = sorted({*ACTIONS, *(action for action, _ in found)})
    counts = {(a, agrees): found.get((a, agrees), 0) for a in actions for agrees in (False, True)}
    margins = [frozenset(k for k in counts if k[0] == a) for a in actions] + [
        frozenset(k for k in counts if k[1] == agrees) for agrees in (False, True)
    ]
    return Tables(counts, [m for m in margins if m])
