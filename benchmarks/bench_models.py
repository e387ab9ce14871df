"""Every model family on the same synthetic split, beside gbm and the generator's oracle.

    python -m benchmarks.bench_models [--children 200000] [--full 1000000] [--full-model scorecard]

1. Families: synthetic children (cached in .bench/), the default split (12 monthly
   training dates, 3 calibration, 3 test); features built once, then each family fitted,
   calibrated and judged out of time on the same rows, in one fresh process. The table
   shows ROC AUC, average precision, precision at 5%, expected calibration error and the
   lift ratio (AUC-0.5)/(oracle AUC-0.5), with fit times; gbm is the black-box peer that
   prices interpretability, the oracle (true risk, known only on synthetic data) the
   ceiling, and the baseline (prior reports) the floor.
2. End to end: ``riskflag train`` on ``--full`` children, exactly as a user runs it
   (validate, features, split, fit, calibrate, evaluate, audit, log and register into a
   throwaway MLflow store), wall time and peak memory.

Prints tables and the issue's aims beside the figures; never passes or fails.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.measure import BENCH, ROOT, WRAPPER, synthetic_data

FAMILIES = """
import json, time, warnings
from pathlib import Path
warnings.filterwarnings("ignore")
from features.config import load_feature_config, load_policy
from features.contract import load_case_histories
from models.flagging import load_flagging_policy, load_gate_policy
from models.settings import load_training_settings, plan_split
from models.train import build_blocks, train
histories = load_case_histories(Path({data!r}))
config, policy, settings = load_feature_config(), load_policy(), load_training_settings()
split = plan_split(settings, histories.exported_at, config.label.horizon_days)
t0 = time.perf_counter()
blocks = build_blocks(histories, config, policy, split, settings.max_train_rows, settings.seed)
print(json.dumps({{"features_seconds": time.perf_counter() - t0,
                  "rows": [blocks.train.height, blocks.calibration.height, blocks.test.height]}}))
for family in {families!r}:
    t0 = time.perf_counter()
    result = train(histories, family, config, policy, load_flagging_policy(),
                   load_gate_policy(), settings, blocks=blocks)
    e = result.evaluation
    print(json.dumps({{"family": family, "roc_auc": e.roc_auc, "ap": e.average_precision,
        "p5": e.headline()["precision_at_5pct"], "ece": e.ece, "oracle": e.oracle_auc,
        "lift": e.lift_ratio, "fit": result.timings["fit_and_calibrate"],
        "total": time.perf_counter() - t0, "fitted_rows": result.counts["train_rows_fitted"]}}),
        flush=True)
"""


def _row(r: dict[str, object]) -> str:
    return (
        f"{r['family']:10s} {r['roc_auc']:8.4f} {r['ap']:7.4f} {r['p5']:7.4f} "
        f"{r['ece']:7.4f} {r['lift'] or 0:6.3f} {r['fit']:7.1f} {r['total']:8.1f} "
        f"{r['fitted_rows']:10,}"
    )


def families(children: int, names: list[str]) -> None:
    """One fresh process builds the split's features once and fits every family; rows are
    printed as each family finishes."""
    data = synthetic_data(children)
    print(f"\n== families on {children:,} synthetic children (one process) ...", flush=True)
    script = FAMILIES.format(data=str(data), families=names)
    process = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, script], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert process.stdout is not None
    rows: list[dict[str, object]] = []
    seconds = peak = 0.0
    for line in process.stdout:
        if line.startswith("__MEASURE__"):
            seconds, peak = (float(v) for v in line.split()[1:])
        elif line.startswith("{"):
            item = json.loads(line)
            if "features_seconds" in item:
                print(
                    f"features for the split: {item['features_seconds']:.1f} s; rows "
                    f"train (fitted)/calibration/test = "
                    f"{'/'.join(f'{r:,}' for r in item['rows'])}"
                )
                header = (
                    f"{'family':10s} {'ROC AUC':>8s} {'AP':>7s} {'P@5%':>7s} {'ECE':>7s} "
                    f"{'lift':>6s} {'fit s':>7s} {'train s':>8s} {'fit rows':>10s}"
                )
                print(header, flush=True)
            else:
                rows.append(item)
                print(_row(item), flush=True)
    if process.wait() != 0 or not rows:
        raise SystemExit("the families process failed (see its error output above)")
    print(f"{'oracle':10s} {rows[0]['oracle']:8.4f}  (the generator's true rate)")
    print(f"whole process {seconds:.0f} s, peak {peak / 1024:.1f} GB")
    by = {r["family"]: r for r in rows}
    interpretable = [r for r in rows if r["family"] not in ("gbm", "baseline")]
    if interpretable and "gbm" in by:
        best = max(interpretable, key=lambda r: float(r["roc_auc"]))
        gap = float(by["gbm"]["roc_auc"]) - float(best["roc_auc"])
        print(
            f"aim: best interpretable ({best['family']}) within 0.005 AUC of gbm: "
            f"gap {gap:+.4f}; lift {best['lift']:.3f} (aim >= 0.90); "
            f"ECE {best['ece']:.4f} (aim <= 0.01)"
        )


def end_to_end(children: int, family: str) -> None:
    data = synthetic_data(children)
    store = BENCH / "mlflow-bench"
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    print(f"\n== riskflag train --model {family} on {children:,} children ...", flush=True)
    command = [
        str(Path(sys.executable).parent / "riskflag"),
        "train",
        "--data",
        str(data),
        "--model",
        family,
        "--tracking-uri",
        f"sqlite:///{store / 'mlflow.db'}",
    ]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=store, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"riskflag train failed:\n{result.stderr[-3000:]}")
    # the largest child waited for so far: the train process (synth ran through measure())
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    metrics = summary["metrics"]
    print(
        f"wall {seconds:.0f} s (aim: 10 minutes), peak {peak_kb / 1024 / 1024:.1f} GB; "
        f"test ROC AUC {metrics['roc_auc']:.4f}, ECE {metrics['ece']:.4f}, "
        f"lift {metrics.get('lift_ratio', float('nan')):.3f}"
    )
    steps = [line for line in result.stderr.splitlines() if line.startswith("[")]
    print("\n".join(f"   {line}" for line in steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=200_000)
    parser.add_argument("--full", type=int, default=1_000_000, help="0 skips the end-to-end run")
    parser.add_argument("--full-model", default="scorecard")
    parser.add_argument(
        "--families", nargs="+", default=["baseline", "scorecard", "logistic", "ebm", "gbm"]
    )
    args = parser.parse_args()
    families(args.children, args.families)
    if args.full:
        end_to_end(args.full, args.full_model)


if __name__ == "__main__":
    main()
