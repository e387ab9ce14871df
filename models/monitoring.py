"""Monitoring a batch: its inputs, its features against the training population, and its
scores against the batches before it, each judged by the monitoring policy.

Why: deployed tools failed silently; a batch is checked before anyone reads it, and a
broken check is shown where people look (serving.monitoring). What counts as a problem
is the agency's policy, in TOML (``default_monitoring.toml``, overridden key by key),
recorded with each batch by its SHA-256: thresholds are never buried in code.

How: every check gives ``Check`` rows of one shape (what was checked, of what, the
batch's figure beside the expected one, and the problem, or None), so the store keeps
them in one table and the pages, the API and the metrics read them alike:

- ``inputs``: features.input_checks (volumes, late recording, empty columns, linkage);
- ``drift``: each feature's PSI against the model's training population (models.drift),
  the features that moved most first, and the 1-20 scores' PSI against the training
  population's shares of each score;
- ``flags``: per district, the children reaching the flagging tier against the mean of
  the last batches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from features.input_checks import Finding, InputThresholds
from features.tomlfile import read_over_defaults
from models.drift import Drift, psi

SCORES: Final = 20
NO_REFERENCE: Final = "no_reference"
NOTICE: Final = "moderate"  # a moderate shift: shown, not counted as a problem


def is_problem(problem: str | None) -> bool:
    """Whether a check's ``problem`` broke the policy (a notice does not)."""
    return problem is not None and problem != NOTICE


class MonitoringError(ValueError):
    """A monitoring policy that cannot be used; says which key and why."""


@dataclass(frozen=True)
class DriftThresholds:
    feature_psi: float = 0.25
    notice_psi: float = 0.1
    score_psi: float = 0.25


@dataclass(frozen=True)
class FlagThresholds:
    last_batches: int = 4
    change: float = 1.0
    min_children: int = 10


@dataclass(frozen=True)
class MonitoringPolicy:
    inputs: InputThresholds
    drift: DriftThresholds
    flags: FlagThresholds

    def digest(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def load_monitoring_policy(path: Path | None = None) -> MonitoringPolicy:
    """The shipped monitoring policy with ``path``'s keys over it; errors name the key."""
    raw = read_over_defaults("models", "default_monitoring.toml", path, MonitoringError)
    try:
        policy = MonitoringPolicy(
            InputThresholds(**raw["inputs"]),
            DriftThresholds(**raw["drift"]),
            FlagThresholds(**raw["flags"]),
        )
    except TypeError as exc:
        raise MonitoringError(f"monitoring policy: {exc}") from exc
    for section in (policy.inputs, policy.drift, policy.flags):
        for key, value in asdict(section).items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise MonitoringError(f"monitoring policy: {key}: a number, not below 0")
    return policy


@dataclass(frozen=True)
class Check:
    """One figure of one check: ``kind`` (volume, late, missing, linkage, drift, scores,
    flags), ``subject`` (a source, a feature, a district...), the batch's ``value`` beside
    the ``expected`` one, and ``problem`` (silent, halved, doubled, late, missing,
    linkage, shifted, moderate, rose, fell, no_reference) or None."""

    kind: str
    subject: str
    value: float
    expected: float
    problem: str | None

    @property
    def is_problem(self) -> bool:
        return is_problem(self.problem)


def input_checks(findings: Iterable[Finding]) -> list[Check]:
    return [Check(f.check, f.subject, f.value, f.expected, f.problem) for f in findings]


def drift_checks(found: Sequence[Drift] | None, policy: DriftThresholds) -> list[Check]:
    """Each feature's PSI (the largest first); a model without a reference says so."""
    if found is None:
        return [Check("drift", "model", 0.0, 0.0, NO_REFERENCE)]
    checks = []
    for item in found:
        problem = (
            "shifted"
            if item.psi >= policy.feature_psi
            else NOTICE
            if item.psi >= policy.notice_psi
            else None
        )
        checks.append(Check("drift", item.feature, item.psi, 0.0, problem))
    return checks


def score_check(
    scores: Sequence[int], reference: Sequence[float], policy: DriftThresholds
) -> Check:
    """The PSI of the batch's 1-20 scores against the training population's shares of
    each score (``reference``: models.drift.Reference.scores; empty for a model trained
    before it was kept: no reference)."""
    if not reference:
        return Check("scores", "1-20", 0.0, 0.0, NO_REFERENCE)
    counts = np.bincount(np.asarray(scores, dtype=np.int64), minlength=SCORES + 1)[1:]
    found = psi(reference, counts.astype(np.float64))
    return Check("scores", "1-20", found, 0.0, "shifted" if found >= policy.score_psi else None)


def flag_checks(
    reaching: Mapping[str, int],
    before: Sequence[Mapping[str, int]],
    policy: FlagThresholds,
) -> list[Check]:
    """Per district, the children reaching the flagging tier in this batch against their
    mean over ``before`` (the last batches, newest first); none before: nothing judged."""
    earlier = list(before)[: policy.last_batches]
    if not earlier:
        return []
    checks = []
    for district in sorted(set(reaching) | {d for batch in earlier for d in batch}):
        now = reaching.get(district, 0)
        mean = float(np.mean([batch.get(district, 0) for batch in earlier]))
        if max(now, mean) < policy.min_children:
            continue
        rose = now >= (1 + policy.change) * mean
        fell = now <= mean / (1 + policy.change)
        problem = "rose" if rose else "fell" if fell else None
        checks.append(Check("flags", district, float(now), mean, problem))
    return checks


def summary(checks: Sequence[Check]) -> dict[str, Any]:
    """How many checks each kind ran and how many found a problem."""
    kinds: dict[str, dict[str, int]] = {}
    for check in checks:
        row = kinds.setdefault(check.kind, {"checked": 0, "problems": 0})
        row["checked"] += 1
        row["problems"] += check.is_problem
    return kinds
