"""Every rate of the synthetic source exports: identities and per-record noise, in one place.

Why: linkage is only as good as the noise it was tested against, so the noise must be
stated, plausible and adjustable, and a run must say which rates produced it. The
defaults are plausible for Beijing's divisions (the hotline often has no ID number or
birth date; hospitals register newborns before they have a name or a number; migrant
families are seen in more than one district); docs/synthetic-data.md tables them.

How: one frozen dataclass, ``SourceNoise``; a rate that differs by source is a mapping
from the source folder's name to the rate. The exclusive kinds of one field (the ways a
name, a birth date or an ID number can be wrong) are drawn as one categorical choice per
record, so each kind's rate is the share of records showing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from features.linkage.schema import KNOWN_SOURCES


def _by_source(**rates: float) -> Mapping[str, float]:
    return MappingProxyType(dict(rates))


class SourceNoiseError(ValueError):
    """A rate outside [0, 1], an unknown source, or exclusive kinds summing past 1."""


@dataclass(frozen=True)
class SourceNoise:
    """Rates of the identity model and of the noise on each person record (frozen)."""

    # ---- which records exist ------------------------------------------------------------
    # share of a child's records in a source (with 2 or more events) that exist twice:
    # the events split in time order between the record and its duplicate
    duplicate: Mapping[str, float] = field(
        default_factory=lambda: _by_source(
            welfare=0.03,
            reports=0.15,
            community=0.05,
            social_aid=0.02,
            education=0.02,
            health=0.05,
            philanthropy=0.02,
            police=0.08,
        )
    )
    # ---- identities ---------------------------------------------------------------------
    child_single_given: float = 0.12  # one-character given names (children)
    child_popular: float = 0.15  # children given one of the most popular given names
    adult_single_given: float = 0.35  # one-character given names (guardians)
    adult_popular: float = 0.25  # guardians with one of their generation's popular names
    sibling_shared_char: float = 0.4  # households of 2+ whose children share a character
    twin_shared_char: float = 0.8  # ... where two of them are twins
    same_name_siblings: float = 0.01  # households of 2+ where two get the same given name
    guardian_same_surname: float = 0.75  # the guardian is the father (or his parent)
    unknown_hukou_local: float = 0.5  # hukou `unknown`: the ID number is a local one
    # ---- ID number ----------------------------------------------------------------------
    id_missing: Mapping[str, float] = field(
        default_factory=lambda: _by_source(
            welfare=0.05,
            reports=0.70,
            community=0.10,
            social_aid=0.02,
            education=0.03,
            health=0.10,
            philanthropy=0.05,
            police=0.20,
        )
    )
    id_missing_infant: float = 0.40  # added: under 1 year at the record's first event
    id_missing_nonlocal: float = 0.10  # added: nonlocal hukou
    id_digit: float = 0.02  # one digit mistyped
    id_guardian: float = 0.01  # the guardian's number typed in the child's field
    id_full_width: float = 0.01  # full-width digits (０-９)
    # ---- name ---------------------------------------------------------------------------
    name_missing: Mapping[str, float] = field(
        default_factory=lambda: _by_source(
            welfare=0.01,
            reports=0.30,
            community=0.02,
            social_aid=0.005,
            education=0.005,
            health=0.01,
            philanthropy=0.01,
            police=0.05,
        )
    )
    name_homophone: float = 0.03  # one character replaced by a homophone
    name_traditional: float = 0.01  # traditional characters (OpenCC s2t)
    name_nickname: float = 0.03  # 小 + last character, or the last character doubled
    name_spaces: float = 0.02  # a space after the surname, or between all characters
    baby_of: float = 0.5  # health records of newborns: "<guardian>之子/之女"
    baby_of_days: int = 60  # newborn: this many days old or less at the first event
    # ---- birth date ---------------------------------------------------------------------
    birth_missing: Mapping[str, float] = field(
        default_factory=lambda: _by_source(
            welfare=0.01,
            reports=0.40,
            community=0.03,
            social_aid=0.01,
            education=0.005,
            health=0.005,
            philanthropy=0.02,
            police=0.10,
        )
    )
    birth_swapped: float = 0.015  # day and month swapped (only where the day is <= 12)
    birth_off_by_one: float = 0.01  # one day early or late
    birth_year_month: float = 0.02  # YYYY-MM only
    birth_year: float = 0.01  # YYYY only
    # ---- other fields -------------------------------------------------------------------
    sex_unknown: float = 0.01  # sex `U`
    hukou_unknown: float = 0.05  # hukou `unknown`
    ethnicity_unknown: float = 0.05  # ethnicity `unknown`
    elsewhere: float = 0.2  # nonlocal families: the record made in another district
    family_ref_missing: float = 0.15
    guardian_name_missing: float = 0.05
    guardian_id_missing: float = 0.3
    phone_missing: float = 0.15
    phone_separators: float = 0.03  # "138-1234-5678" or "138 1234 5678"
    address_missing: float = 0.05
    address_short: float = 0.1  # the district's name left out

    def __post_init__(self) -> None:
        check_noise(self)

    def of_source(self, name: str, source: str) -> float:
        """A per-source rate (``duplicate``, ``id_missing``, ...) for ``source``; 0 if unset."""
        rates: Mapping[str, float] = getattr(self, name)
        return float(rates.get(source, 0.0))


def check_noise(noise: SourceNoise) -> None:
    """Raise SourceNoiseError naming the first bad rate."""
    for item in fields(noise):
        value = getattr(noise, item.name)
        if item.name == "baby_of_days":
            if not 0 <= value <= 366:
                raise SourceNoiseError(f"baby_of_days must lie in 0..366, got {value}")
            continue
        rates = value.items() if isinstance(value, Mapping) else [("", value)]
        for source, rate in rates:
            where = f"{item.name}[{source!r}]" if source else item.name
            if source and source not in KNOWN_SOURCES:
                raise SourceNoiseError(f"{where}: unknown source")
            if not 0.0 <= float(rate) <= 1.0:
                raise SourceNoiseError(f"{where} must lie in [0, 1], got {rate}")
    exclusive = {
        "ID number": noise.id_digit + noise.id_guardian + noise.id_full_width,
        "name": noise.name_homophone + noise.name_traditional + noise.name_nickname
        + noise.name_spaces + max(noise.name_missing.values(), default=0.0),
        "birth date": noise.birth_swapped + noise.birth_off_by_one + noise.birth_year_month
        + noise.birth_year + max(noise.birth_missing.values(), default=0.0),
    }  # fmt: skip
    for what, total in exclusive.items():
        if total > 1.0:
            raise SourceNoiseError(f"the {what} noise rates of one source add up to {total} > 1")
