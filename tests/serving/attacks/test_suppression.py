"""D8: no suppressed count can be worked out from everything the API publishes.

The attack is the one that undid the old suppression (Mentougou: capacity 25 less the
published urgent 21 gives high 4), generalised: every published cell, the batch's totals
(/v1/flags), the flagging policy (/v1/model: capacity, the flagging tier) and, beyond
what is published, every row and column total taken as known; then a linear programme
per suppressed count finds the least and the most it can be. The attack here is written
again, apart from serving.disclosure, so that it checks the rule rather than repeats it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog
from sqlalchemy import text

from models.flagging import TIERS
from serving.disclosure import Tables, suppress
from tests.serving.conftest import Api

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attacks")]
SMALL = 10


def _attack(
    truth: dict[Any, int],
    published: dict[Any, int | None],
    groups: list[list[Any]],
    links: list[tuple[Any, Any]],
) -> dict[Any, tuple[float, float]]:
    """The least and the most each suppressed cell can be."""
    hidden = [c for c, v in published.items() if v is None]
    at = {c: i for i, c in enumerate(hidden)}
    eq, eq_to, ub, ub_to = [], [], [], []
    for group in groups:
        row = np.zeros(len(hidden))
        known = 0
        for c in group:
            if c in at:
                row[at[c]] = 1
            else:
                known += published[c] or 0
        if row.any():
            eq.append(row)
            eq_to.append(sum(truth[c] for c in group) - known)
    for a, b in links:
        row, bound = np.zeros(len(hidden)), 0.0
        if a in at:
            row[at[a]] += 1
        else:
            bound -= published[a] or 0
        if b in at:
            row[at[b]] -= 1
        else:
            bound += published[b] or 0
        if row.any():
            ub.append(row)
            ub_to.append(bound)
    out = {}
    for c in hidden:
        goal = np.zeros(len(hidden))
        goal[at[c]] = 1
        ends = []
        for sign in (1, -1):
            r = linprog(
                sign * goal,
                A_eq=np.array(eq) if eq else None,
                b_eq=eq_to or None,
                A_ub=np.array(ub) if ub else None,
                b_ub=ub_to or None,
                bounds=(0, None),
                method="highs",
            )
            ends.append(sign * r.fun if r.status == 0 else float("inf"))
        out[c] = (ends[0], ends[1])
    return out


def _margins(cells: list[Any], axes: tuple[int, ...]) -> list[list[Any]]:
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for c in cells:
        for axis in axes:
            groups.setdefault((c[0], axis, c[axis]), []).append(c)
    return list(groups.values())


def _unprotected(
    truth: dict[Any, int],
    published: dict[Any, int | None],
    groups: list[list[Any]],
    links: list[tuple[Any, Any]],
) -> list[str]:
    found = _attack(truth, published, groups, links)
    everything = _attack(truth, dict.fromkeys(truth), groups, links)
    return [
        f"{c}={truth[c]} narrowed to {lo:g}..{hi:g}"
        for c, (lo, hi) in found.items()
        if truth[c] < SMALL
        and hi - lo < SMALL - 1
        and hi - lo < everything[c][1] - everything[c][0] - 1e-6
    ]


MENTOUGOU = {
    ("flagged", "Mentougou", "high"): 4,
    ("flagged", "Mentougou", "urgent"): 21,
    ("flagged", "Chaoyang", "high"): 12,
    ("flagged", "Chaoyang", "urgent"): 13,
    ("flagged", "Haidian", "high"): 15,
    ("flagged", "Haidian", "urgent"): 10,
}


def test_the_old_suppression_is_undone_by_subtraction_and_the_new_is_not() -> None:
    cells = list(MENTOUGOU)
    groups = _margins(cells, (1, 2))
    primary_only = {c: (None if v < SMALL else v) for c, v in MENTOUGOU.items()}
    assert _unprotected(MENTOUGOU, primary_only, groups, []) == [
        "('flagged', 'Mentougou', 'high')=4 narrowed to 4..4"
    ]
    hidden = suppress(Tables(MENTOUGOU, [frozenset(g) for g in groups]), SMALL)
    published = {c: (None if c in hidden else v) for c, v in MENTOUGOU.items()}
    assert _unprotected(MENTOUGOU, published, groups, []) == []


def test_nothing_the_api_publishes_gives_a_suppressed_count_away(api: Api) -> None:
    analyst, sup = api.headers("analyst"), api.headers("sup")
    tables = api.client.get("/v1/aggregates", headers=analyst).json()
    policy = api.client.get("/v1/model", headers=analyst).json()["flagging_policy"]
    batch = api.client.get("/v1/flags?limit=1", headers=sup).json()["batch"]
    with api.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT district, tier, count(*), sum(CASE WHEN flagged THEN 1 ELSE 0 END) "
                "FROM batch_scores WHERE batch_id = :b GROUP BY district, tier"
            ),
            {"b": batch["id"]},
        ).all()
    found = {(d, t): (int(n), int(f)) for d, t, n, f in rows}
    flaggable = TIERS[TIERS.index(policy["flag_from"]) :]
    truth: dict[Any, int] = {}
    published: dict[Any, int | None] = {}
    for row in tables["by_district_tier"]:
        d, t = row["district"], row["tier"]
        n, f = found.get((d, t), (0, 0))
        truth["children", d, t], published["children", d, t] = n, row["children"]
        if t in flaggable:
            truth["flagged", d, t], published["flagged", d, t] = f, row["flagged"]
        else:
            assert row["flagged"] == 0 == f  # what the policy says, published as such
    assert sum(truth[c] for c in truth if c[0] == "flagged") == batch["flagged"]
    assert sum(truth[c] for c in truth if c[0] == "children") == batch["children"]
    for district in {c[1] for c in truth}:  # the capacity bounds each district's flags
        flags = sum(truth[c] for c in truth if c[:2] == ("flagged", district))
        assert flags <= policy["per_district"]
    assert any(v is None for v in published.values()), "no small cell: the test shows nothing"
    groups = _margins(list(truth), (1, 2))
    links = [(c, ("children", *c[1:])) for c in truth if c[0] == "flagged"]
    assert _unprotected(truth, published, groups, links) == []
    decisions = {(d["action"], d["agrees"]): d["count"] for d in tables["decisions"]}
    assert all(v is None or v >= SMALL for v in decisions.values())
