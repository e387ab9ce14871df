"""Who is at home when: spells in care as a week matrix, and household events to children.

Why: much of what the sources see happens to a household (a parent leaves, the police
come, the child director visits) and is recorded for each child living there, and a
child in care after a removal is out of that household's reach. How: the spells in care
become a (W, n) week matrix; a household event at time t is copied to every child of
the household who is alive, under 18 and not in care at t (children of a household
are contiguous, so a household's children are a range of indices).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synth.arrays import WEEK, IntArray
from features.synth.latent import away_weeks
from features.worlds.strain.params import INACTIVE
from features.worlds.strain.weeks import Latent


@dataclass(frozen=True)
class Homes:
    """Households' children as ranges, and the week matrix of spells in care."""

    first: IntArray  # (n_h,) first child of each household
    size: IntArray  # (n_h,) number of children
    care: np.ndarray  # (W, n) bool: in care in that week
    birth_s: IntArray
    adult_s: IntArray

    def at_home(self, child: IntArray, time: IntArray) -> np.ndarray:
        """Alive, under 18 and not in care at ``time``."""
        week = np.clip(time // WEEK, 0, self.care.shape[0] - 1)
        alive = (self.birth_s[child] <= time) & (time < self.adult_s[child])
        return np.asarray(alive & ~self.care[week, child], dtype=np.bool_)

    def members(self, household: IntArray, time: IntArray) -> tuple[IntArray, IntArray]:
        """(event row, child) for each child at home at each household event's time."""
        count = self.size[household]
        row = np.repeat(np.arange(len(household)), count)
        offset = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
        child = self.first[household][row] + offset
        keep = self.at_home(child, time[row])
        return row[keep], child[keep]


def homes(latent: Latent, n_households: int) -> Homes:
    """The homes of a simulated world (spells in care from its removals)."""
    n_weeks, n = latent.band.shape
    size = np.bincount(latent.unit, minlength=n_households).astype(np.int64)
    care = np.zeros((n_weeks + 1, n), dtype=np.int32)
    first, stop = away_weeks(latent.away_start, latent.away_end, n_weeks)
    np.add.at(care, (first, latent.away_child), 1)
    np.add.at(care, (stop, latent.away_child), -1)
    return Homes(
        first=np.cumsum(size) - size,
        size=size,
        care=np.cumsum(care[:-1], axis=0) > 0,
        birth_s=latent.birth_s,
        adult_s=latent.adult_s,
    )


def active_households(latent: Latent, n_households: int) -> np.ndarray:
    """(W, n_h) bool: some child of the household is alive and under 18 in the week."""
    active = (latent.band != INACTIVE).astype(np.int32)
    size = np.bincount(latent.unit, minlength=n_households)
    starts = np.cumsum(size) - size
    return np.asarray(np.add.reduceat(active, starts, axis=1) > 0, dtype=np.bool_)
