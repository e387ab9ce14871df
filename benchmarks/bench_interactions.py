"""Do age-band interactions buy an additive family anything? Out of time, per world.

    python -m benchmarks.bench_interactions [--children 40000] [--worlds strain synth ...]

Why: an additive model gives a report the same points at 2 and at 16; where danger from
the same record depends on age (``strain``'s hazard is U-shaped in age and acts through
the household's strain, which the records signal), only an interaction can see it. The
issue asks for such features "where an additive model cannot see them": this measures
whether there is anything to see before a feature kind is built for it.

How: on each world (benchmarks.bench_models.world_data) the default split's design
matrices (models.experiments.Matrices) are built once; each family (scorecard, logistic)
is fitted on them as they are, then with one extra column per (count, age band): the
count where the child's age is in the band, else 0, held to the count's direction. The
test block's ROC AUC of the raw score is compared (calibration does not change a rank).
Prints; never passes or fails.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.metrics import roc_auc_score

from benchmarks.bench_models import world_data

COUNTS = (
    "report_concern__count_90d",
    "report_concern__count_365d",
    "welfare_finding__substantiated__count_365d",
    "police_domestic_violence_call__count_365d",
    "health_injury__suspicious__count_365d",
    "report_concern__days_since_last",
)
BANDS = ((0, 2), (3, 5), (6, 11), (12, 17))


def with_age_bands(matrix: np.ndarray, names: list[str]) -> np.ndarray:
    """``matrix`` with each count of COUNTS repeated once per age band (0 outside it)."""
    age = matrix[:, names.index("age_years")]
    extra = [
        matrix[:, names.index(count)] * ((age >= low) & (age <= high))
        for count in COUNTS
        for low, high in BANDS
    ]
    return np.hstack([matrix, np.column_stack(extra)])


def one_world(world: str, children: int) -> None:
    """Both families with and without the age-band columns on ``world``."""
    from features.config import load_feature_config, load_policy
    from features.contract import load_case_histories
    from models.experiments import Matrices
    from models.families import as_frame, make_pipeline
    from models.monotone import column_directions
    from models.settings import load_training_settings
    from models.train import planned_blocks

    histories = load_case_histories(world_data(world, children))
    config, policy, settings = load_feature_config(), load_policy(), load_training_settings()
    blocks = planned_blocks(histories, config, policy, settings)
    m = Matrices.of(blocks)
    names = [c.name for c in m.columns]
    directions = column_directions(m.columns, blocks.registry.specs, settings.increasing)
    wide = names + [f"{c}__age_{lo}_{hi}" for c in COUNTS for lo, hi in BANDS]
    wide_directions = directions + [directions[names.index(c)] for c in COUNTS for _ in BANDS]
    y = blocks.test[blocks.label].to_numpy()
    for family in ("scorecard", "logistic"):
        for label, columns, signs, widen in (
            ("as they are", names, directions, False),
            ("+ age bands x counts", wide, wide_directions, True),
        ):
            train = with_age_bands(m.train, names) if widen else m.train
            test = with_age_bands(m.test, names) if widen else m.test
            started = time.perf_counter()
            params = dict(settings.model.get(family, {}))
            model = make_pipeline(family, columns, params, settings.seed, signs)
            model.fit(as_frame(train, columns), m.y_train)
            auc = roc_auc_score(y, model.decision_function(as_frame(test, columns)))
            seconds = time.perf_counter() - started
            print(f"{world:10} {family:10} {label:22} AUC {auc:.4f}  fit {seconds:4.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=40_000)
    parser.add_argument("--worlds", nargs="+", default=["strain", "synth"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    for world in args.worlds:
        one_world(world, args.children)


if __name__ == "__main__":
    main()
