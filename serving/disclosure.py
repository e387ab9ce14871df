"""Small-cell suppression that subtraction cannot undo.

Suppressing only the cells under the threshold protects nothing when totals are known:
a district's flags are its capacity (or the batch's flagged total less the other
districts'), so a district with one suppressed tier gives that tier away by subtraction
(capacity 25, urgent 21 published: high is 4). The rule here is the statistical
agencies' one, cell suppression with an audit by linear programming:

1. Primary suppression: every cell under ``threshold`` is hidden.
2. The attacker's view: every margin of every table is taken as known (row, column
   and grand totals, whether the API publishes them or they follow from policy), every
   published cell is known, and the links between tables hold (a tier's flagged children
   are at most its children; no cell is negative).
3. The audit: for each hidden small cell, two linear programmes find the least and the
   most it can be under that view. It is protected when that range spans at least
   ``threshold`` values (no narrower than "under the threshold", which suppression says
   anyway), or is as wide as it would be with every cell hidden (what the margins alone
   give away cannot be protected by hiding cells).
4. Complementary suppression: while a small cell is not protected, the smallest
   published cell that shares a margin with it (or, failing that, with any hidden cell
   of its margins) is hidden too, and the audit runs again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
from scipy.optimize import linprog

Cell: TypeAlias = tuple[Any, ...]  # a cell's coordinates, e.g. (kind, district, tier)


@dataclass(frozen=True)
class Tables:
    """Counts by cell, the groups of cells whose sums are known (margins), and pairs
    (a, b) with a <= b (a subset count and its whole)."""

    counts: Mapping[Cell, int]
    margins: Sequence[frozenset[Cell]]
    at_most: Sequence[tuple[Cell, Cell]] = field(default_factory=tuple)


def bounds(tables: Tables, hidden: set[Cell], cell: Cell) -> tuple[float, float]:
    """The least and the most ``cell`` can be, given every count outside ``hidden``,
    every margin's sum and the links: what an attacker can work out."""
    unknown = sorted(hidden, key=repr)
    index = {c: i for i, c in enumerate(unknown)}

    def row(plus: Sequence[Cell], minus: Sequence[Cell] = ()) -> np.ndarray:
        out = np.zeros(len(unknown))
        for c in plus:
            out[index[c]] += 1.0
        for c in minus:
            out[index[c]] -= 1.0
        return out

    equal, equal_to = [], []
    for group in tables.margins:
        inside = [c for c in group if c in index]
        if inside:  # the hidden cells of a margin sum to what its published ones leave
            equal.append(row(inside))
            equal_to.append(float(sum(tables.counts[c] for c in inside)))
    under, under_to = [], []
    for a, b in tables.at_most:  # a - b <= 0, the published side moved right
        if a in index or b in index:
            known = (tables.counts[b] if b not in index else 0) - (
                tables.counts[a] if a not in index else 0
            )
            under.append(row([a] if a in index else [], [b] if b in index else []))
            under_to.append(float(known))
    objective = row([cell])
    ends = []
    for sign in (1.0, -1.0):  # minimise, then maximise
        result = linprog(
            sign * objective,
            A_eq=np.array(equal) if equal else None,
            b_eq=np.array(equal_to) if equal else None,
            A_ub=np.array(under) if under else None,
            b_ub=np.array(under_to) if under else None,
            bounds=(0, None),
            method="highs",
        )
        ends.append(sign * result.fun if result.status == 0 else float("inf"))
    return ends[0], ends[1]


def _protected(tables: Tables, hidden: set[Cell], cell: Cell, threshold: int) -> bool:
    low, high = bounds(tables, hidden, cell)
    if high - low >= threshold - 1:
        return True
    widest_low, widest_high = bounds(tables, set(tables.counts), cell)
    return high - low >= widest_high - widest_low - 1e-6


def _complement(tables: Tables, hidden: set[Cell], cell: Cell) -> Cell | None:
    """The smallest published cell sharing a margin with ``cell``, else with a hidden
    cell of its margins, else anywhere; None when every cell is hidden."""
    near = [group for group in tables.margins if cell in group]
    hidden_near = {c for group in near for c in group if c in hidden}
    second = [group for group in tables.margins if group & hidden_near]
    for groups in (near, second, [frozenset(tables.counts)]):
        candidates = {c for group in groups for c in group if c not in hidden}
        if candidates:
            return min(candidates, key=lambda c: (tables.counts[c], repr(c)))
    return None


def suppress(tables: Tables, threshold: int) -> set[Cell]:
    """The cells to hide: every count under ``threshold`` and the fewest, smallest others
    needed so that no hidden small count can be worked out (see the module's text)."""
    hidden = {c for c, n in tables.counts.items() if n < threshold}
    small = sorted(hidden, key=repr)
    changed = True
    while changed:
        changed = False
        for cell in small:
            while not _protected(tables, hidden, cell, threshold):
                extra = _complement(tables, hidden, cell)
                if extra is None:
                    break
                hidden.add(extra)
                changed = True
    return hidden
