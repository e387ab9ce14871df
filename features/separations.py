"""Household control: a household member whose records stop counting for a child.

Why: association features (siblings' reports and findings, on only by policy) score a
child by what is recorded about others in the household. When a member no longer lives
with the child, or has no contact with them, counting the member's records scores the
child for a relationship that is not there. A caseworker says so, with a reason, and the
store keeps it, audited (serving.store.separations). From the date the marking states
(``since``: the day the member left or contact ended, never after the day it was made),
the member's records no longer count for that child: neither in the household totals
the association features are read from nor among the records behind the factor. The
member's own features, and every other child's, are unchanged. A later marking of the
pair with kind ``resumed`` ends the separation from its own date.

How: on each as-of date, the pair's marking with the latest ``since`` on or before the
date rules (``apart``). Where it separates them, the member's own sums of the household
sources are taken from the child's household totals (``separate``). That is exactly the
totals of the household without the member, for that child, on those dates, which is
what the tests hold it to. The batch (features.build) and a request (features.household)
both use these functions, so they cannot differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import polars as pl

from features.compute import household_totals
from features.events import Events
from features.kernel import Bool, Float, Grid, Int
from features.plan import Plan

if TYPE_CHECKING:
    from features.contract import CaseHistories


class SeparationKind(StrEnum):
    """What a marking says of a household member and a child."""

    NOT_LIVING_WITH = "not_living_with"
    NO_CONTACT = "no_contact"
    RESUMED = "resumed"  # ends an earlier marking of the pair, from its date


KINDS: Final = tuple(kind.value for kind in SeparationKind)
SEPARATING: Final = (SeparationKind.NOT_LIVING_WITH.value, SeparationKind.NO_CONTACT.value)
# what the feature pipeline reads of a marking: no reasons or names (they are the store's)
SCHEMA: Final = pl.Schema(
    {
        "id": pl.Int64,
        "child_id": pl.String,
        "member_id": pl.String,
        "kind": pl.String,
        "since": pl.Date,
    }
)


class SeparationError(ValueError):
    """A markings file that cannot be used; says which row and why."""


def digest(separations: pl.DataFrame) -> str:
    """The SHA-256 of the markings a table or a model saw (order-free)."""
    rows = sorted(
        f"{r['id']}|{r['child_id']}|{r['member_id']}|{r['kind']}|{r['since']}"
        for r in separations.select(*SCHEMA.names()).iter_rows(named=True)
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def provenance(separations: pl.DataFrame) -> dict[str, Any]:
    """What a table or model records of the markings it was built with."""
    return {"count": separations.height, "sha256": digest(separations)}


def read_file(path: Path) -> pl.DataFrame:
    """A markings file (CSV, as ``riskflag db separations --out`` writes it), checked:
    its columns, kinds and dates."""
    try:
        frame = pl.read_csv(path, schema=SCHEMA)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SeparationError(f"{path}: not a household markings file ({exc})") from None
    needed = pl.any_horizontal(pl.col("child_id", "member_id", "since").is_null())
    bad = frame.filter(~pl.col("kind").is_in(KINDS) | needed)
    if bad.height:
        raise SeparationError(
            f"{path}: row id {bad['id'][0]}: needs child_id, member_id, since and a kind of "
            f"{', '.join(KINDS)}"
        )
    return frame


def separated(histories: CaseHistories, separations: pl.DataFrame) -> CaseHistories:
    """``histories`` with household members marked apart from children."""
    return replace(histories, separations=separations)


@dataclass(frozen=True)
class Apart:
    """Separated (child, member) pairs as units, and the grid dates each applies on."""

    child: Int
    member: Int
    applies: Bool  # (pairs, grid size)

    @classmethod
    def none(cls, size: int) -> Apart:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, size), bool))

    def within(self, first: int, last: int) -> Apart:
        """The pairs whose child is among units [first, last), counted from ``first``."""
        keep = (self.child >= first) & (self.child < last)
        return Apart(self.child[keep] - first, self.member[keep], self.applies[keep])

    def on(self, index: int) -> frozenset[tuple[int, int]]:
        """The (child, member) pairs separated on grid index ``index``."""
        on = self.applies[:, index]
        return frozenset(zip(self.child[on].tolist(), self.member[on].tolist(), strict=True))


def apart(
    separations: pl.DataFrame | None, unit_of: Mapping[str, int], households: Int, grid: Grid
) -> Apart:
    """The markings among these units as ``Apart``: pairs whose child and member are both
    present and share a household (a member since moved elsewhere is counted for the
    child no more anyway); on each date, the pair's marking with the latest ``since`` on
    or before it rules (the store refuses a marking dated before the pair's latest)."""
    if separations is None or separations.is_empty():
        return Apart.none(grid.size)
    dates = np.array(grid.dates, dtype="datetime64[D]")
    pairs: dict[tuple[int, int], Bool] = {}
    for row in separations.sort("since", "id").iter_rows(named=True):
        child, member = unit_of.get(row["child_id"]), unit_of.get(row["member_id"])
        if child is None or member is None or child == member:
            continue
        if households[child] != households[member]:
            continue
        state = pairs.setdefault((child, member), np.zeros(grid.size, bool))
        state[dates >= np.datetime64(row["since"], "D")] = row["kind"] in SEPARATING
    if not pairs:
        return Apart.none(grid.size)
    keys = sorted(pairs)
    return Apart(
        np.array([c for c, _ in keys], np.int64),
        np.array([m for _, m in keys], np.int64),
        np.stack([pairs[key] for key in keys]),
    )


def own_totals(plan: Plan, events: Events, members: Int, grid: Grid) -> Float:
    """Each of ``members``' (units, sorted) own sums of the household sources,
    (columns, grid size, members)."""
    index = np.flatnonzero(np.isin(events.unit, members))
    chosen = events.take(index)
    return household_totals(
        plan, chosen.with_units(np.searchsorted(members, chosen.unit)), members.size, grid
    )


def separate(totals: Float, pairs: Apart, members: Int, own: Float) -> Float:
    """``totals`` (columns, grid size, units: ``pairs.child``'s) less each separated
    member's ``own`` sums (``own_totals`` of ``members``) on the dates the pair is apart."""
    if pairs.child.size == 0:
        return totals
    out = totals.copy()
    for child, member, applies in zip(pairs.child, pairs.member, pairs.applies, strict=True):
        at = int(np.searchsorted(members, member))
        out[:, applies, child] -= own[:, applies, at]
    return out
