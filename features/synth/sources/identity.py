"""The true identity of every synthetic child and household, before any clerk types it.

Why: linkage has to find one child behind records that disagree, and to keep apart the
children who look alike: siblings who share a surname, a guardian, an address and a
phone, twins who also share a birth date, and the rare siblings given the same name.
The noise of ``noise.py`` is applied to this truth, record by record.

How: a family is a household of the truth (children sharing ``household_id``); a child
whose household is unknown is a family of one. Per family, drawn once: surname, home
district, a region code for ID numbers (the district's for local hukou, a home
county's for nonlocal), a guardian (name, ID number), a mobile phone, an address, and for
migrant families a second district and address. Per child: given name (siblings' differ
and often share a character; see ``SourceNoise``) and, unless the hukou is ``none``, an
ID number (GB 11643) encoding the true birth date and sex, unique over everybody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from features import schema as s
from features.linkage.standardise import make_id_number
from features.synth.arrays import BoolArray, IntArray
from features.synth.sources import names, places
from features.synth.sources.rates import SourceNoise

_EPOCH = date(1970, 1, 1)
_ADULT_AGE_DAYS = (20 * 365, 42 * 365)  # a guardian's age at the eldest child's birth
_SEQUENCES = 500  # sequence numbers per (region, birth date, sex): 3 digits, parity = sex


@dataclass(frozen=True)
class Families:
    """Per family (index = family number): the household's shared identity."""

    district: IntArray  # home district, index into places.DISTRICT_NAMES
    other_district: IntArray  # where a migrant family is also seen
    known: BoolArray  # the truth knows the household (household_id not null)
    guardian_name: pl.Series
    guardian_id: pl.Series
    phone: pl.Series
    address: pl.Series
    other_address: pl.Series


@dataclass(frozen=True)
class Identities:
    """Per child (index = row of the truth's children table), and the families."""

    family: IntArray
    surname: IntArray  # index into names.SURNAMES
    given: np.ndarray  # (n, 2) indices into names.GIVEN_CHARS, -1: no second character
    id_number: pl.Series  # null for hukou `none`
    birth_day: IntArray  # days since 1970-01-01
    male: BoolArray  # the sex the ID number encodes (random for sex `U`)
    families: Families


def family_index(children: pl.DataFrame) -> IntArray:
    """0-based family numbers: a known household, or the child alone."""
    key = pl.coalesce(s.HOUSEHOLD_ID, pl.lit("\x00") + pl.col(s.CHILD_ID))
    ranked = children.select(key.rank("dense").cast(pl.Int64) - 1).to_series()
    return ranked.to_numpy().astype(np.int64)


def _first_of_family(family: IntArray) -> IntArray:
    _, first = np.unique(family, return_index=True)
    return np.asarray(first, dtype=np.int64)


def district_index(district: pl.Series) -> IntArray:
    """Indices into places.DISTRICT_NAMES; a district outside Beijing's 16 is an error."""
    lookup = {name: i for i, name in enumerate(places.DISTRICT_NAMES)}
    unknown = set(district.unique().to_list()) - set(lookup)
    if unknown:
        raise ValueError(f"district {sorted(map(str, unknown))[0]!r}: not one of Beijing's 16")
    return district.replace_strict(lookup, return_dtype=pl.Int64).to_numpy()


def build_identities(
    children: pl.DataFrame, rng: np.random.Generator, noise: SourceNoise
) -> Identities:
    """Identities for the truth's children (columns of contract v1's children table)."""
    family = family_index(children)
    first = _first_of_family(family)
    birth_day = children[s.BIRTH_DATE].cast(pl.Int64).to_numpy()
    sex = children[s.SEX].cast(pl.String).to_numpy()
    male = np.where(sex == "U", rng.random(len(sex)) < 0.5, sex == "M")
    hukou = children[s.HUKOU].cast(pl.String).to_numpy()
    district = district_index(children[s.DISTRICT].cast(pl.String).gather(pl.Series(first)))
    surname = names.draw_surnames(rng, len(first))[family]
    given = given_names(rng, family, birth_day, male, noise)
    guardians = _guardians(rng, noise, family, surname, given)
    region = _regions(rng, hukou[first], district, noise)
    eldest = np.full(len(first), np.iinfo(np.int64).max)
    np.minimum.at(eldest, family, birth_day)
    guardian_born = eldest - rng.integers(*_ADULT_AGE_DAYS, size=len(first))
    has_id = hukou != "none"
    n_ids = int(has_id.sum())
    numbers = id_numbers(
        rng,
        np.concatenate([region[family][has_id], region]),
        np.concatenate([birth_day[has_id], guardian_born]),
        np.concatenate([male[has_id], guardians[0]]),
    )
    known = children[s.HOUSEHOLD_ID].gather(pl.Series(first)).is_not_null().to_numpy()
    return Identities(
        family=family,
        surname=surname,
        given=given,
        id_number=pl.Series([None] * len(family), dtype=pl.String).scatter(
            pl.Series(np.flatnonzero(has_id)), pl.Series(numbers[:n_ids].tolist(), dtype=pl.String)
        ),
        birth_day=birth_day,
        male=male,
        families=_families(rng, district, known, guardians[1], numbers[n_ids:]),
    )


def _regions(
    rng: np.random.Generator, hukou: np.ndarray, district: IntArray, noise: SourceNoise
) -> np.ndarray:
    """Per family, the region code of its ID numbers: the home district's (local hukou,
    and ``unknown_hukou_local`` of ``unknown``), else a county of the home province."""
    unknown_local = rng.random(len(hukou)) < noise.unknown_hukou_local
    local = (hukou == "local") | ((hukou == "unknown") & unknown_local)
    province = rng.choice(len(places.PROVINCE_CODES), size=len(hukou), p=places.PROVINCE_P)
    codes = np.array([places.DISTRICTS[d][0] for d in places.DISTRICT_NAMES])
    return np.where(local, codes[district], np.array(places.PROVINCE_CODES)[province])


def _guardians(
    rng: np.random.Generator,
    noise: SourceNoise,
    family: IntArray,
    surname: IntArray,
    given: np.ndarray,
) -> tuple[BoolArray, pl.Series]:
    """Per family: whether the guardian is a man (the father: the children's surname; else
    the mother, her own surname), and the guardian's name, never a child's name."""
    n = int(family.max()) + 1 if len(family) else 0
    male = rng.random(n) < noise.guardian_same_surname
    guardian_surname = names.draw_surnames(rng, n)
    guardian_surname[family[male[family]]] = surname[male[family]]
    popular = (names.POPULAR_MEN, names.POPULAR_WOMEN)
    adult = names.draw_given(rng, male, noise.adult_single_given, noise.adult_popular, popular)
    for _ in range(20):
        clash = (guardian_surname[family] == surname) & (adult[family] == given).all(axis=1)
        again = np.unique(family[clash])
        if not len(again):
            break
        adult[again] = names.draw_given(
            rng, male[again], noise.adult_single_given, noise.adult_popular, popular
        )
    return male, full_names(guardian_surname, adult)


def _families(
    rng: np.random.Generator,
    district: IntArray,
    known: BoolArray,
    guardian_name: pl.Series,
    guardian_id: np.ndarray,
) -> Families:
    n = len(district)
    n_districts = len(places.DISTRICT_NAMES)
    other = (district + rng.integers(1, n_districts, size=n)) % n_districts
    return Families(
        district=district,
        other_district=other,
        known=known,
        guardian_name=guardian_name,
        guardian_id=pl.Series(guardian_id.tolist(), dtype=pl.String),
        phone=places.phones(rng, n),
        address=places.address(rng, district),
        other_address=places.address(rng, other),
    )


def full_names(surname: IntArray, given: np.ndarray) -> pl.Series:
    """Names as text: surname + one or two given-name characters."""
    chars = pl.Series(("", *names.GIVEN_CHARS))
    return (
        pl.Series(names.SURNAMES).gather(pl.Series(surname))
        + chars.gather(pl.Series(given[:, 0] + 1))
        + chars.gather(pl.Series(given[:, 1] + 1))
    )


def given_names(
    rng: np.random.Generator,
    family: IntArray,
    birth_day: IntArray,
    male: BoolArray,
    noise: SourceNoise,
) -> np.ndarray:
    """(n, 2) given names: siblings' differ, often share a first character; a few pairs
    of siblings born on different days get the same given name."""
    popular = (names.POPULAR_BOYS, names.POPULAR_GIRLS)
    given = names.draw_given(rng, male, noise.child_single_given, noise.child_popular, popular)
    size = np.bincount(family)
    twins = _has_twins(family, birth_day)
    share = np.where(twins, noise.twin_shared_char, noise.sibling_shared_char)
    shared = (size >= 2) & (rng.random(len(size)) < share)
    common = names.NEUTRAL_POOL[rng.integers(0, len(names.NEUTRAL_POOL), size=len(size))]
    sharing = shared[family]
    given[sharing, 0] = common[family[sharing]]
    given[sharing, 1] = names.draw_chars(rng, male[sharing])
    given = _distinct_within_family(rng, family, given, male)
    return _same_name_siblings(rng, family, birth_day, given, noise.same_name_siblings)


def _has_twins(family: IntArray, birth_day: IntArray) -> BoolArray:
    """Per family: two of its children were born on the same day."""
    key = family * 100_000 + (birth_day - birth_day.min())
    keys, counts = np.unique(key, return_counts=True)
    twins = np.zeros(int(family.max()) + 1 if len(family) else 0, dtype=bool)
    twins[keys[counts >= 2] // 100_000] = True
    return twins


def _duplicated(family: IntArray, given: np.ndarray) -> BoolArray:
    """Children whose given name an earlier sibling already has."""
    width = len(names.GIVEN_CHARS) + 1
    key = (family * width + given[:, 0] + 1) * width + given[:, 1] + 1
    _, first = np.unique(key, return_index=True)
    duplicate = np.ones(len(key), dtype=bool)
    duplicate[first] = False
    return duplicate


def _distinct_within_family(
    rng: np.random.Generator, family: IntArray, given: np.ndarray, male: BoolArray
) -> np.ndarray:
    """Redraw the last character of a sibling's name until no two siblings share one."""
    for _ in range(50):
        again = _duplicated(family, given)
        if not again.any():
            break
        last = np.where(given[again, 1] >= 0, 1, 0)
        given[np.flatnonzero(again), last] = names.draw_chars(rng, male[again])
    return given


def _same_name_siblings(
    rng: np.random.Generator,
    family: IntArray,
    birth_day: IntArray,
    given: np.ndarray,
    rate: float,
) -> np.ndarray:
    """In a share of families of 2+, the second child gets the first's given name (when
    they were born on different days: same-name twins would be one child to anybody)."""
    first = _first_of_family(family)
    second = first + 1
    has_second = second < len(family)
    second = second[has_second]
    first = first[has_second]
    eligible = (family[second] == family[first]) & (birth_day[second] != birth_day[first])
    chosen = eligible & (rng.random(len(first)) < rate)
    given[second[chosen]] = given[first[chosen]]
    return given


def id_numbers(
    rng: np.random.Generator, region: np.ndarray, birth_day: IntArray, male: BoolArray
) -> np.ndarray:
    """Distinct GB 11643 numbers (``make_id_number``): the people who share a region, a
    birth date and a sex get consecutive sequence numbers from a random start."""
    key = (region.astype(np.int64) * 100_000 + (birth_day - birth_day.min())) * 2 + male
    _, group, counts = np.unique(key, return_inverse=True, return_counts=True)
    if len(counts) and counts.max() > _SEQUENCES:
        raise ValueError(f"more than {_SEQUENCES} people share a region, birth date and sex")
    order = np.argsort(group, kind="stable")
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.arange(len(key)) - np.repeat(np.cumsum(counts) - counts, counts)
    start = np.floor(rng.random(len(counts)) * (_SEQUENCES - counts + 1)).astype(np.int64)
    sequence = start[group] + rank
    births = [_EPOCH + timedelta(days=int(d)) for d in birth_day]
    sexes = np.where(male, "M", "F")
    return np.array(
        [
            make_id_number(str(r), b, int(q), str(x))
            for r, b, q, x in zip(region, births, sequence, sexes, strict=True)
        ],
        dtype=object,
    )
