"""De-identified counts for analysts: children and flags per district and tier in the
latest batch, decisions per action and agreement; small cells suppressed, with the
complementary cells that would give them away (serving.disclosure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from models.flagging import TIERS, FlaggingPolicy
from serving.disclosure import Tables, suppress
from serving.store.queue import latest_batch
from serving.store.tables import DECISIONS, SCORES
from serving.vocabulary import DecisionAction, codes

SMALL_CELL: Final = 10  # aggregates below this count are suppressed for analysts


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
    actions = sorted({*codes(DecisionAction), *(action for action, _ in found)})
    counts = {(a, agrees): found.get((a, agrees), 0) for a in actions for agrees in (False, True)}
    margins = [frozenset(k for k in counts if k[0] == a) for a in actions] + [
        frozenset(k for k in counts if k[1] == agrees) for agrees in (False, True)
    ]
    return Tables(counts, [m for m in margins if m])
