"""A child's name as one source recorded it: missing, misheard, traditional, a nickname.

Why: names are the strongest evidence after ID numbers, and the hardest to compare:
the hotline writes what a caller said (a homophone, a nickname, nothing), a clerk from
Hong Kong or Taiwan types traditional characters, a form splits surname and given name
with a space, and a hospital registers a newborn as "<mother's name>之子" before the child
has a name of its own.

How: one categorical draw per record picks the kind (``SourceNoise.name_*``); every
variant is built for all records from integer name codes with polars, and the chosen one
is picked per record. A homophone replaces one character (surname or given) by another
read the same from the same table (a surname with its surname reading: 覃 is qin, not
tan); a name without a homophone in the tables keeps its name (and no noise kind).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from features.synth.arrays import BoolArray, IntArray
from features.synth.sources import names
from features.synth.sources.batch import Batch, Truth, draw_kinds, kind_labels
from features.synth.sources.rates import SourceNoise

NAME_KINDS = (
    "name_missing",
    "name_homophone",
    "name_traditional",
    "name_nickname",
    "name_spaces",
    "name_baby_of",
)
_MISSING, _HOMOPHONE, _TRADITIONAL, _NICKNAME, _SPACES, _BABY_OF = range(1, 7)


def _gather(table: tuple[str, ...], index: IntArray) -> pl.Series:
    return pl.Series(table, dtype=pl.String).gather(pl.Series(index))


def _given(index: IntArray, table: tuple[str, ...] = names.GIVEN_CHARS) -> pl.Series:
    """Given-name characters; "" for index -1 (no second character)."""
    return _gather(("", *table), index + 1)


def name_column(
    rng: np.random.Generator, batch: Batch, truth: Truth, noise: SourceNoise
) -> tuple[pl.Series, pl.Series]:
    """The child's name as recorded in each of ``batch``'s records, and its noise kind."""
    ident = truth.identities
    surname, given = ident.surname[batch.child], ident.given[batch.child]
    rates = [noise.of_source("name_missing", batch.source), noise.name_homophone,
             noise.name_traditional, noise.name_nickname, noise.name_spaces]  # fmt: skip
    kind = draw_kinds(rng, len(surname), rates)
    if batch.source == "health":
        newborn = batch.age_days <= noise.baby_of_days
        kind[newborn & (rng.random(len(surname)) < noise.baby_of)] = _BABY_OF
    homophone, found = _homophones(rng, surname, given)
    kind[(kind == _HOMOPHONE) & ~found] = 0
    variants = pl.DataFrame(
        [
            _text(surname, given),  # code 0: as the child is called
            pl.Series([None] * len(kind), dtype=pl.String),  # _MISSING
            _text(homophone[:, 0], homophone[:, 1:]),  # _HOMOPHONE
            _text(surname, given, traditional=True),  # _TRADITIONAL
            _nickname(rng, given),  # _NICKNAME
            _spaced(rng, surname, given),  # _SPACES
            _baby_of(batch, truth),  # _BABY_OF
        ]
    )
    pick = pl.concat_list(pl.all()).list.get(pl.lit(pl.Series(kind)))
    name = variants.select(pick).to_series()
    return name.alias("name"), kind_labels(kind, NAME_KINDS)


def _text(surname: IntArray, given: np.ndarray, traditional: bool = False) -> pl.Series:
    """Names as text from their codes, in simplified or traditional characters."""
    if traditional:
        surnames = names.traditional(names.SURNAMES)
        chars = names.traditional(names.GIVEN_CHARS)
    else:
        surnames, chars = names.SURNAMES, names.GIVEN_CHARS
    return _gather(surnames, surname) + _given(given[:, 0], chars) + _given(given[:, 1], chars)


def _nickname(rng: np.random.Generator, given: np.ndarray) -> pl.Series:
    """小 + the last character, or the last character doubled (half each)."""
    last = _given(np.where(given[:, 1] >= 0, given[:, 1], given[:, 0]))
    small = pl.Series(rng.random(len(given)) < 0.5)
    return pl.select(pl.when(small).then("小" + last).otherwise(last + last)).to_series()


def _spaced(rng: np.random.Generator, surname: IntArray, given: np.ndarray) -> pl.Series:
    """A space after the surname, or between all characters (half each)."""
    sur = _gather(names.SURNAMES, surname)
    spaced_sur = _gather(tuple(" ".join(x) for x in names.SURNAMES), surname)
    g1, g2 = _given(given[:, 0]), _given(given[:, 1])
    after_surname = pl.Series(rng.random(len(surname)) < 0.5)
    everywhere = (
        spaced_sur
        + " "
        + g1
        + pl.select(pl.when(g2 == "").then(pl.lit("")).otherwise(" " + g2)).to_series()
    )
    return pl.select(
        pl.when(after_surname).then(sur + " " + g1 + g2).otherwise(everywhere)
    ).to_series()


def _baby_of(batch: Batch, truth: Truth) -> pl.Series:
    """ "<guardian's name>之子" (son of) or "之女" (daughter of)."""
    ident = truth.identities
    guardian = ident.families.guardian_name.gather(pl.Series(ident.family[batch.child]))
    return guardian + pl.Series(np.where(ident.male[batch.child], "之子", "之女"))


def _homophones(
    rng: np.random.Generator, surname: IntArray, given: np.ndarray
) -> tuple[np.ndarray, BoolArray]:
    """Each name with one character (chosen among those that have one) replaced by a
    homophone: columns surname, first and second given character; and whether found."""
    parts = np.stack([surname, given[:, 0], given[:, 1]], axis=1)
    available = np.stack(
        [
            names.has_homophone(surname, surnames=True),
            names.has_homophone(given[:, 0], surnames=False),
            names.has_homophone(given[:, 1], surnames=False),
        ],
        axis=1,
    )
    found = available.any(axis=1)
    position = np.argmax(rng.random(parts.shape) * available, axis=1)
    for at in range(3):
        rows = np.flatnonzero(found & (position == at))
        parts[rows, at] = names.pick_homophones(rng, parts[rows, at], surnames=at == 0)
    return parts, np.asarray(found)
