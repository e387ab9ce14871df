"""The linkage policy: thresholds, hard non-match rules, training and household settings.

What decides whether two records are one child is policy, not code: a deployment lays
its TOML over ``features/default_linkage.toml`` key by key, and the text and digest of
what was used go into the output's ``linkage.json``, so every linked folder says how it
was linked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from features.tomlfile import read_over_defaults


class LinkagePolicyError(ValueError):
    """A linkage policy file that cannot be read or breaks a rule; names the key."""


@dataclass(frozen=True)
class LinkagePolicy:
    """The policy of one linkage run (see default_linkage.toml for each key's meaning)."""

    link_threshold: float = 0.99
    review_threshold: float = 0.80
    distinct_id_numbers: bool = True
    names_must_agree: bool = True
    birth_dates_must_agree: bool = True
    birth_days: int = 3
    own_evidence: bool = True
    sole_candidate: bool = True
    max_age_years: int = 25
    u_max_pairs: int = 2_000_000
    seed: int = 20261204
    id_recall: float = 0.8
    em_max_iterations: int = 25
    max_household_children: int = 12

    def as_json(self) -> dict[str, Any]:
        """The policy as recorded in linkage.json."""
        return asdict(self)

    @property
    def digest(self) -> str:
        """SHA-256 of the policy's values, in a canonical JSON form."""
        text = json.dumps(self.as_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def load_linkage_policy(path: Path | None = None) -> LinkagePolicy:
    """Read a linkage policy: the defaults with ``path``'s keys over them.

    Raises
    ------
    LinkagePolicyError
        The file cannot be read, names an unknown key, or a value breaks its rule.
    """
    raw = read_over_defaults("features", "default_linkage.toml", path, LinkagePolicyError)
    where = path or "default_linkage.toml"
    thresholds, rules = raw["thresholds"], raw["rules"]
    training, households = raw["training"], raw["households"]
    policy = LinkagePolicy(
        link_threshold=_probability(where, "thresholds.link", thresholds["link"]),
        review_threshold=_probability(where, "thresholds.review", thresholds["review"]),
        distinct_id_numbers=_flag(where, "rules.distinct_id_numbers", rules),
        names_must_agree=_flag(where, "rules.names_must_agree", rules),
        birth_dates_must_agree=_flag(where, "rules.birth_dates_must_agree", rules),
        birth_days=_count(where, "rules.birth_days", rules["birth_days"], 0),
        own_evidence=_flag(where, "rules.own_evidence", rules),
        sole_candidate=_flag(where, "rules.sole_candidate", rules),
        max_age_years=_count(where, "rules.max_age_years", rules["max_age_years"], 1),
        u_max_pairs=_count(where, "training.u_max_pairs", training["u_max_pairs"], 1000),
        seed=_count(where, "training.seed", training["seed"], 0),
        id_recall=_probability(where, "training.id_recall", training["id_recall"]),
        em_max_iterations=_count(
            where, "training.em_max_iterations", training["em_max_iterations"], 1
        ),
        max_household_children=_count(
            where, "households.max_children", households["max_children"], 2
        ),
    )
    if policy.review_threshold > policy.link_threshold:
        raise LinkagePolicyError(
            f"{where}: thresholds.review ({policy.review_threshold}) is above "
            f"thresholds.link ({policy.link_threshold}): the review band lies below the link"
        )
    return policy


def _probability(where: object, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise LinkagePolicyError(f"{where}: {key} = {value!r}: expected a number in (0, 1]")
    return float(value)


def _count(where: object, key: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise LinkagePolicyError(f"{where}: {key} = {value!r}: expected a whole number >= {least}")
    return value


def _flag(where: object, key: str, table: dict[str, Any]) -> bool:
    value = table[key.rsplit(".", 1)[1]]
    if not isinstance(value, bool):
        raise LinkagePolicyError(f"{where}: {key} = {value!r}: expected true or false")
    return value
