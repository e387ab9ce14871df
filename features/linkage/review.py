"""The review queue: pairs a person should decide, each with what a person needs to decide.

A pair is open when the model scored it at or above the review threshold, it ended in two
children, the hard rules allow them to be one (the review band, and links refused for
want of the child's own evidence or because a cluster was ambiguous), and no person has
decided it yet. Each open pair carries:

- ``record_l`` and ``record_r``: the two records' compared values as the partners typed
  them (JSON; identity data, for the records officers who decide, never for a log);
- ``fields``: per comparison, the level the pair reached and its weight, log2 of the
  level's Bayes factor m/u in the trained model (JSON): positive moved the pair towards
  one child, negative towards two, 0 where the field is missing or the level was never
  estimated.
"""

from __future__ import annotations

import json
import math
from typing import Any

import polars as pl

from features import schema as s
from features.linkage import records as r
from features.linkage import schema as ls
from features.linkage.cluster import LEFT, RIGHT
from features.linkage.model import COMPARISONS
from features.linkage.policy import LinkagePolicy
from features.linkage.rules import Profile, may_join

# what the records officer sees of each record, in this order
SHOWN = (
    ls.NAME,
    ls.ID_NUMBER,
    ls.BIRTH_DATE,
    ls.SEX,
    ls.DISTRICT,
    ls.ADDRESS,
    ls.GUARDIAN_NAME,
    ls.GUARDIAN_PHONE,
)
FIELDS = "fields"


def review_pairs(
    pairs: pl.DataFrame,
    linked: pl.DataFrame,
    profiles: dict[int, Profile],
    policy: LinkagePolicy,
    decisions: pl.DataFrame | None,
    model: dict[str, Any],
) -> pl.DataFrame:
    """The open pairs, most probable first: ``source``, ``record_id``, ``child_id`` and
    ``district`` of each side (``_l``, ``_r``), ``match_probability``, ``record_l``,
    ``record_r`` and ``fields`` (see the module docstring). ``linked`` is in uid order."""
    band = _undecided_band(pairs, linked, profiles, policy, decisions)
    side = linked.select(
        r.UID,
        ls.SOURCE,
        ls.RECORD_ID,
        s.CHILD_ID,
        s.DISTRICT,
        pl.struct(*SHOWN).struct.json_encode().alias("record"),
    )
    named = band.join(side.rename(lambda c: f"{c}_l"), on=LEFT).join(
        side.rename(lambda c: f"{c}_r"), on=RIGHT
    )
    levels = level_weights(model)
    fields = [
        json.dumps(_fields(row, levels), ensure_ascii=False)
        for row in named.select(f"gamma_{c}" for c in COMPARISONS).iter_rows()
    ]
    return (
        named.with_columns(pl.Series(FIELDS, fields, dtype=pl.String))
        .select(
            *(f"{c}_{side}" for side in "lr" for c in (ls.SOURCE, ls.RECORD_ID, s.CHILD_ID)),
            *(f"{s.DISTRICT}_{side}" for side in "lr"),
            ls.MATCH_PROBABILITY,
            "record_l",
            "record_r",
            FIELDS,
        )
        .sort(
            ls.MATCH_PROBABILITY,
            *(f"{ls.RECORD_ID}_{side}" for side in "lr"),
            descending=[True, False, False],
        )
    )


def _undecided_band(
    pairs: pl.DataFrame,
    linked: pl.DataFrame,
    profiles: dict[int, Profile],
    policy: LinkagePolicy,
    decisions: pl.DataFrame | None,
) -> pl.DataFrame:
    """The pairs that ended in two children the hard rules allow to be one, undecided."""
    child = linked[s.CHILD_ID].to_list()
    open_pairs = [
        child[a] != child[b] and may_join(profiles[a], profiles[b], policy)
        for a, b in pairs.select(LEFT, RIGHT).iter_rows()
    ]
    band = pairs.filter(pl.Series(open_pairs, dtype=pl.Boolean))
    if decisions is not None:
        band = band.join(decisions.select(LEFT, RIGHT), on=[LEFT, RIGHT], how="anti")
    return band


def level_weights(model: dict[str, Any]) -> dict[str, dict[int, tuple[str, float]]]:
    """Per comparison, gamma level -> (its label, its weight in bits) from Splink's JSON.

    Splink numbers a comparison's non-null levels from the last (0) upwards, and its null
    level -1; a level whose m or u was never estimated weighs 0."""
    out: dict[str, dict[int, tuple[str, float]]] = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        counted = [level for level in levels if not level.get("is_null_level")]
        table = {-1: ("missing", 0.0)}
        for index, level in enumerate(counted):
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else 0.0
            table[len(counted) - 1 - index] = (str(level.get("label_for_charts")), weight)
        out[comparison["output_column_name"]] = table
    return out


def _fields(
    gammas: tuple[int, ...], levels: dict[str, dict[int, tuple[str, float]]]
) -> list[dict[str, Any]]:
    out = []
    for name, gamma in zip(COMPARISONS, gammas, strict=True):
        label, weight = levels[name].get(int(gamma), ("missing", 0.0))
        out.append({"comparison": name, "level": label, "weight": round(weight, 2)})
    return out
