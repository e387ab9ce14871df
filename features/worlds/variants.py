"""Our synthetic generator with its parameters moved: one world per habit a model could
have been tuned to.

Why: a model family, a constraint or a binning that wins on the one generator we wrote
may win because of that generator's habits (crises of about 16 weeks, a 2% base rate,
mild reporting bias, short recording delays, siblings sharing 75% of their risk). Each
variant below moves one habit far enough to matter, so the model harness
(``make bench-models``) can report which choices hold across them. How: every variant is
a set of ``SynthParams`` overrides; everything else (population, seeds, the oracle) is
the generator's own, so each variant keeps an exact oracle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from features.synth.params import SynthParams


@dataclass(frozen=True)
class Variant:
    """One world of our generator: its name, what it moves, and the overrides."""

    name: str
    moves: str
    overrides: Callable[[SynthParams], dict[str, Any]]

    def params(self) -> SynthParams:
        base = SynthParams()
        return dataclasses.replace(base, **self.overrides(base))


def _scaled_delays(p: SynthParams, factor: float) -> dict[str, Any]:
    """Every source's recording delay stretched by ``factor``, and a fatter late tail."""
    delays = tuple((name, low * factor, high * factor) for name, low, high in p.delays)
    return {"delays": delays, "tail_share": 0.15, "tail_days": (60.0, 720.0)}


VARIANTS: Final[tuple[Variant, ...]] = (
    Variant("synth", "nothing: the generator's defaults", lambda p: {}),
    Variant(
        "persistent",
        "crises last about a year instead of 16 weeks, and start a third as often",
        lambda p: {"crisis_exit_logit": -3.95, "crisis_onset_logit": p.crisis_onset_logit - 1.1},
    ),
    Variant(
        "bursty",
        "crises last about 3 weeks and start four times as often",
        lambda p: {"crisis_exit_logit": -1.0, "crisis_onset_logit": p.crisis_onset_logit + 1.4},
    ),
    Variant(
        "biased",
        "schools, kindergartens and hospitals see half as much in outlying districts and "
        "in nonlocal and unregistered families",
        lambda p: {"bias_outlying": 0.35, "bias_nonlocal": 0.35, "bias_no_hukou": 0.3},
    ),
    Variant(
        "late",
        "every source records three times later, and 15% of events months to years late",
        lambda p: _scaled_delays(p, 3.0),
    ),
    Variant(
        "siblings",
        "siblings share 95% of their risk (the default 75%)",
        lambda p: {"family_risk_share": 0.95},
    ),
    Variant(
        "apart",
        "siblings share 20% of their risk",
        lambda p: {"family_risk_share": 0.2},
    ),
    Variant(
        "rare",
        "the outcome is three times rarer",
        lambda p: {"outcome_per_week": p.outcome_per_week / 3},
    ),
)


def variant(name: str) -> Variant:
    """The variant called ``name``; a clear error naming the known ones otherwise."""
    for candidate in VARIANTS:
        if candidate.name == name:
            return candidate
    known = ", ".join(v.name for v in VARIANTS)
    raise KeyError(f"no synthetic variant {name!r}; known: {known}")
