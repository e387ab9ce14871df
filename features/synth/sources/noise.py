"""One source's person records: every field of the true identity as a clerk typed it.

Why: the same child is written differently in every system. The hotline rarely has an
ID number, an infant often has none yet, a migrant child's number is left blank or the
guardian's is typed in its place; digits are mistyped or typed full-width; day and month
are swapped, or only the year is known; a migrant family is met in another district at
another address. Linkage is judged by how well it sees through exactly this.

How: per record and field one draw decides the noise (``SourceNoise``), with numpy on
the truth's arrays; text is gathered and concatenated with polars. ``person_records``
returns the persons table of one source with, beside it, each record's noise kinds
(the truth's ``noise`` column), so that tests and linkage diagnostics can tell which
records carry which noise. The name is ``name_noise``'s.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from features.linkage import schema as ls
from features.synth.sources import places
from features.synth.sources.batch import Batch, Truth, draw_kinds, flagged, kind_labels
from features.synth.sources.name_noise import name_column
from features.synth.sources.rates import SourceNoise

Rng = np.random.Generator
NOISE = "noise"
ID_KINDS = ("id_missing", "id_digit", "id_guardian", "id_full_width")
BIRTH_KINDS = (
    "birth_missing",
    "birth_swapped",
    "birth_off_by_one",
    "birth_year_month",
    "birth_year",
)
_FULL_WIDTH = [chr(0xFF10 + d) for d in range(10)]
_DIGITS = [str(d) for d in range(10)]
_YEAR_DAYS = 365


def person_records(
    rng: Rng, batch: Batch, truth: Truth, noise: SourceNoise, record_id: pl.Series
) -> pl.DataFrame:
    """The persons table of ``batch`` (``PERSONS_COLUMNS``, all text) and ``noise``: the
    list of noise kinds of each record."""
    columns: dict[str, pl.Series] = {ls.RECORD_ID: record_id}
    kinds = [flagged(batch.duplicate, "duplicate")]
    for column, (values, kind) in (
        (ls.NAME, name_column(rng, batch, truth, noise)),
        (ls.ID_NUMBER, id_column(rng, batch, truth, noise)),
        (ls.BIRTH_DATE, birth_column(rng, batch, truth, noise)),
    ):
        columns[column] = values
        kinds.append(kind)
    child = batch.child
    for column, codes, unknown, rate in (
        (ls.SEX, truth.sex, "U", noise.sex_unknown),
        (ls.HUKOU, truth.hukou, "unknown", noise.hukou_unknown),
        (ls.ETHNICITY, truth.ethnicity, "unknown", noise.ethnicity_unknown),
    ):
        columns[column], kind = _unknown(rng, codes[child], unknown, rate, f"{column}_unknown")
        kinds.append(kind)
    for part in (_place(rng, batch, truth, noise), _guardian(rng, batch, truth, noise)):
        columns.update(part[0])
        kinds.extend(part[1])
    refs = batch.family_ref
    dropped = refs.is_not_null().to_numpy() & (rng.random(len(child)) < noise.family_ref_missing)
    columns[ls.FAMILY_REF] = refs.set(pl.Series(dropped), None)
    kinds.append(flagged(dropped, "family_ref_missing"))
    frame = pl.DataFrame(columns).select(*(pl.col(c).cast(pl.String) for c in ls.PERSONS_COLUMNS))
    labels = pl.DataFrame({str(i): kind for i, kind in enumerate(kinds)})
    noise_list = labels.select(pl.concat_list(pl.all()).list.drop_nulls().alias(NOISE))
    return frame.with_columns(noise_list.to_series())


def id_column(
    rng: Rng, batch: Batch, truth: Truth, noise: SourceNoise
) -> tuple[pl.Series, pl.Series]:
    """The child's ID number as typed; always null for a child without hukou."""
    ident = truth.identities
    child = batch.child
    true_id = ident.id_number.gather(pl.Series(child))
    has = true_id.is_not_null().to_numpy()
    chance = (
        noise.of_source("id_missing", batch.source)
        + noise.id_missing_infant * (batch.age_days < _YEAR_DAYS)
        + noise.id_missing_nonlocal * (truth.hukou[child] == "nonlocal")
    )
    missing = rng.random(len(child)) < chance
    other = draw_kinds(rng, len(child), [noise.id_digit, noise.id_guardian, noise.id_full_width])
    kind = np.where(~has, 0, np.where(missing, 1, np.where(other > 0, other + 1, 0)))
    guardian = ident.families.guardian_id.gather(pl.Series(ident.family[child]))
    code = pl.Series(kind)
    typed = pl.select(
        pl.when(code == 1).then(None)
        .when(code == 2).then(_mistyped(rng, true_id, kind == 2))
        .when(code == 3).then(guardian)
        .when(code == 4).then(true_id.str.replace_many(_DIGITS, _FULL_WIDTH))
        .otherwise(true_id)
    ).to_series()  # fmt: skip
    return typed, kind_labels(kind, ID_KINDS)


def _mistyped(rng: Rng, numbers: pl.Series, rows: np.ndarray) -> pl.Series:
    """``numbers`` with one character of each chosen row replaced by another digit."""
    index = np.flatnonzero(rows)
    if not len(index):
        return numbers
    chosen = numbers.gather(pl.Series(index)).to_list()
    raw = np.frombuffer("".join(chosen).encode("ascii"), dtype=np.uint8).reshape(-1, 18).copy()
    position = rng.integers(0, 18, size=len(index))
    old = raw[np.arange(len(index)), position].astype(np.int64) - ord("0")
    new = (np.where(old > 9, 0, old) + rng.integers(1, 10, size=len(index))) % 10
    raw[np.arange(len(index)), position] = new + ord("0")
    typed = [row.tobytes().decode("ascii") for row in raw]
    return numbers.scatter(pl.Series(index), pl.Series(typed, dtype=pl.String))


def birth_column(
    rng: Rng, batch: Batch, truth: Truth, noise: SourceNoise
) -> tuple[pl.Series, pl.Series]:
    """The birth date as recorded: ``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY`` or null."""
    day = truth.identities.birth_day[batch.child]
    rates = [noise.of_source("birth_missing", batch.source), noise.birth_swapped,
             noise.birth_off_by_one, noise.birth_year_month, noise.birth_year]  # fmt: skip
    kind = draw_kinds(rng, len(day), rates)
    dates = pl.Series(day).cast(pl.Date)
    swappable = ((dates.dt.day() <= 12) & (dates.dt.day() != dates.dt.month())).to_numpy()
    kind[(kind == 2) & ~swappable] = 0
    shift = np.where(kind == 3, rng.choice(np.array([-1, 1]), size=len(day)), 0)
    shifted = pl.Series(day + shift).cast(pl.Date)
    code = pl.Series(kind)
    text = pl.select(
        pl.when(code == 1).then(None)
        .when(code == 2).then(dates.dt.strftime("%Y-%d-%m"))
        .when(code == 4).then(dates.dt.strftime("%Y-%m"))
        .when(code == 5).then(dates.dt.strftime("%Y"))
        .otherwise(shifted.dt.strftime("%Y-%m-%d"))
    ).to_series()  # fmt: skip
    return text, kind_labels(kind, BIRTH_KINDS)


def _unknown(
    rng: Rng, values: np.ndarray, unknown: str, rate: float, label: str
) -> tuple[pl.Series, pl.Series]:
    """``values`` with a share ``rate`` recorded as ``unknown``."""
    hit = (rng.random(len(values)) < rate) & (values != unknown)
    return pl.Series(np.where(hit, unknown, values), dtype=pl.String), flagged(hit, label)


def _place(
    rng: Rng, batch: Batch, truth: Truth, noise: SourceNoise
) -> tuple[dict[str, pl.Series], list[pl.Series]]:
    """District and address: a migrant family is sometimes met in another district."""
    families = truth.identities.families
    family = pl.Series(truth.identities.family[batch.child])
    n = len(family)
    elsewhere = (truth.hukou[batch.child] == "nonlocal") & (rng.random(n) < noise.elsewhere)
    district = np.where(
        elsewhere, families.other_district[family.to_numpy()], families.district[family.to_numpy()]
    )
    home, other = families.address.gather(family), families.other_address.gather(family)
    missing = rng.random(n) < noise.address_missing
    short = ~missing & (rng.random(n) < noise.address_short)
    address = pl.select(
        pl.when(pl.Series(missing)).then(None)
        .when(pl.Series(elsewhere)).then(other)
        .otherwise(home)
    ).to_series()  # fmt: skip
    address = pl.select(
        pl.when(pl.Series(short)).then(address.str.replace(r"^[^区]*区", "")).otherwise(address)
    ).to_series()
    names = pl.Series(places.DISTRICT_NAMES).gather(pl.Series(district))
    columns = {ls.DISTRICT: names, ls.ADDRESS: address}
    kinds = [
        flagged(elsewhere, "elsewhere"),
        flagged(missing, "address_missing"),
        flagged(short, "address_short"),
    ]
    return columns, kinds


def _guardian(
    rng: Rng, batch: Batch, truth: Truth, noise: SourceNoise
) -> tuple[dict[str, pl.Series], list[pl.Series]]:
    """The guardian's name, ID number and phone, each sometimes left blank."""
    families = truth.identities.families
    family = pl.Series(truth.identities.family[batch.child])
    n = len(family)
    columns: dict[str, pl.Series] = {}
    kinds: list[pl.Series] = []
    for column, values, rate, label in (
        (ls.GUARDIAN_NAME, families.guardian_name, noise.guardian_name_missing,
         "guardian_name_missing"),
        (ls.GUARDIAN_ID_NUMBER, families.guardian_id, noise.guardian_id_missing,
         "guardian_id_missing"),
        (ls.GUARDIAN_PHONE, families.phone, noise.phone_missing, "phone_missing"),
    ):  # fmt: skip
        missing = rng.random(n) < rate
        columns[column] = values.gather(family).set(pl.Series(missing), None)
        kinds.append(flagged(missing, label))
    phone = columns[ls.GUARDIAN_PHONE]
    separated = phone.is_not_null().to_numpy() & (rng.random(n) < noise.phone_separators)
    separator = pl.Series(np.where(rng.random(n) < 0.5, "-", " "))
    spelled = (
        phone.str.slice(0, 3)
        + separator
        + phone.str.slice(3, 4)
        + separator
        + phone.str.slice(7, 4)
    )
    columns[ls.GUARDIAN_PHONE] = pl.select(
        pl.when(pl.Series(separated)).then(spelled).otherwise(phone)
    ).to_series()
    kinds.append(flagged(separated, "phone_separators"))
    return columns, kinds
