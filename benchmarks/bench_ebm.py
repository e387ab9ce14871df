"""The Explainable Boosting Machine on a ~500k-row training block: which settings fit in
at most 5 minutes at the current defaults' quality, beside scorecard, logistic and gbm.

    python -m benchmarks.bench_ebm [--children 60000] [--arms NAME ...] [--again]
        [--list] [--table]

1. Blocks: the default split (models.settings) of ``--children`` synthetic children
   (benchmarks.measure.synthetic_data, seed 11), built once as ``riskflag train`` builds
   them (models.train.build_blocks, the settings' sampling), and cached in .bench/ as the
   design matrices and labels of the training, calibration and test blocks with each
   column's direction (models.monotone.column_directions under ``direction.increasing``),
   so re-runs skip the features. The default split holds ~8.7 training rows per child
   (12 dates, the cohort), so 60,000 children give ~520k training rows (100,000 give
   725k at the settings' negative share 0.83).
2. Arms: each fitted in one fresh process (wall time of ``fit`` alone, and the process's
   peak memory) on the training block, with the directions training uses
   (models.families.make_pipeline): the peers (scorecard, logistic, gbm at their
   defaults) and EBM settings over the families' defaults (``DEFAULTS["ebm"]``). A
   ``sample`` arm keeps every positive and a seeded share of negatives, with sample
   weights 1/share on negatives when ``weighted`` (else none: calibration fixes the
   intercept, and AUC only ranks). Nothing is calibrated: ROC AUC and average precision
   on the test block are rank-only. ``ebm fast ...`` arms change one thing of the fast
   base (2 outer bags, a quarter of negatives), ``ebm fastw ...`` of the same base with
   weights 1/share on the negatives. ``free`` arms drop the direction constraints (and
   with them the EBM's exclusion of interactions touching a constrained column).
3. Table: per arm the training rows used, fit seconds (wall), CPU seconds of the fitting
   process and its joblib workers, for the EBM an estimate of its wall time on 2 idle
   cores (the main process's CPU plus its workers' CPU over min(2, outer bags)), the
   machine's highest 1-minute load average at the fit's start or end (above 2, other
   jobs shared the 2 cores), test ROC AUC and AP,
   the AUC difference to the EBM defaults, terms (EBM: mains + pairs; linear families:
   columns with a non-zero contribution; gbm: trees), main / pair boosting steps per bag
   (EBM), and peak memory (the process's own and its workers', summed: an upper bound).

Results accumulate in .bench/ebm-<children>.jsonl (an arm already there is not re-run
unless ``--again``). Timings are of a 2-core machine that may be shared: compare arms
run in the same session, and read fit seconds as an upper bound. Never passes or fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.measure import BENCH, ROOT, WRAPPER, measure, synthetic_data

SEED = 11
AIM_SECONDS = 300.0

# arm name -> family, params over the family's defaults, negative share kept (1 = every
# row) and the sampling seed, weights 1/share on sampled negatives, direction constraints
FAST: dict[str, Any] = {"outer_bags": 2}  # "ebm fast ...": these, on a quarter of negatives


def _ebm(params: dict[str, Any] | None = None, sample: float = 1.0, **extra: Any) -> dict[str, Any]:
    return {"family": "ebm", "params": params or {}, "sample": sample, **extra}


def _fast(params: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return _ebm(FAST | (params or {}), 0.25, **extra)


ARMS: dict[str, dict[str, Any]] = {
    "scorecard": {"family": "scorecard"},
    "logistic": {"family": "logistic"},
    "gbm": {"family": "gbm"},
    "ebm defaults": _ebm(),
    # every row: outer bags (one process each; n_jobs=2 runs two at a time), rate
    "ebm bags 1": _ebm({"outer_bags": 1}),
    "ebm bags 2": _ebm({"outer_bags": 2}),
    "ebm bags 2 lr 0.1": _ebm({"outer_bags": 2, "learning_rate": 0.1}),
    "ebm bags 2 rounds 300": _ebm({"outer_bags": 2, "max_rounds": 300}),
    # every positive, a share of negatives
    "ebm neg 0.25": _ebm(sample=0.25),
    "ebm bags 2 neg 0.5": _ebm({"outer_bags": 2}, 0.5),
    "ebm bags 2 neg 0.25": _fast(),
    "ebm bags 2 neg 0.25 w": _fast(weighted=True),
    "ebm bags 2 neg 0.25 s2": _fast(sample_seed=12),
    "ebm bags 2 neg 0.1": _ebm({"outer_bags": 2}, 0.1),
    "ebm bags 4 neg 0.25": _ebm({"outer_bags": 4}, 0.25),
    "ebm bags 8 neg 0.25": _ebm({"outer_bags": 8}, 0.25),
    # the fast base (2 bags, a quarter of negatives) with one thing changed
    "ebm fast pairs 0": _fast({"interactions": 0}),
    "ebm fast pairs 3": _fast({"interactions": 3}),
    "ebm fast pairs 10": _fast({"interactions": 10}),
    "ebm fast bins 256": _fast({"max_bins": 256}),
    "ebm fast bins 64": _fast({"max_bins": 64}),
    "ebm fast bins 32/16": _fast({"max_bins": 32, "max_interaction_bins": 16}),
    "ebm fast lr 0.1": _fast({"learning_rate": 0.1}),
    "ebm fast lr 0.02": _fast({"learning_rate": 0.02}),
    "ebm fast smooth 0": _fast({"smoothing_rounds": 0}),
    "ebm fast greedy 0": _fast({"greedy_ratio": 0.0}),
    "ebm fast stop 30": _fast({"early_stopping_rounds": 30}),
    # the same, with weights 1/share on the sampled negatives
    "ebm bags 2 neg 0.25 w s2": _fast(weighted=True, sample_seed=12),
    "ebm bags 2 neg 0.1 w": _ebm({"outer_bags": 2}, 0.1, weighted=True),
    "ebm bags 2 neg 0.5 w": _ebm({"outer_bags": 2}, 0.5, weighted=True),
    "ebm bags 4 neg 0.25 w": _ebm({"outer_bags": 4}, 0.25, weighted=True),
    "ebm fastw pairs 0": _fast({"interactions": 0}, weighted=True),
    "ebm fastw pairs 10": _fast({"interactions": 10}, weighted=True),
    "ebm fastw bins 64": _fast({"max_bins": 64}, weighted=True),
    "ebm fastw lr 0.1": _fast({"learning_rate": 0.1}, weighted=True),
    "ebm fastw smooth 0": _fast({"smoothing_rounds": 0}, weighted=True),
    "ebm fastw greedy 0": _fast({"greedy_ratio": 0.0}, weighted=True),
    # the constraints' price
    "ebm fast free": _fast(constrained=False),
    "ebm fastw free": _fast(constrained=False, weighted=True),
    "gbm free": {"family": "gbm", "constrained": False},
    "logistic free": {"family": "logistic", "constrained": False},
}

BLOCKS = """
import json, time, warnings
from pathlib import Path
import numpy as np
warnings.filterwarnings("ignore")
from features.config import load_feature_config, load_policy
from features.contract import load_case_histories
from models.design import design_columns, design_matrix
from models.monotone import column_directions
from models.settings import load_training_settings
from models.train import planned_blocks
histories = load_case_histories(Path({data!r}))
config, policy, settings = load_feature_config(), load_policy(), load_training_settings()
t0 = time.perf_counter()
blocks = planned_blocks(histories, config, policy, settings)
columns = design_columns(blocks.registry)
directions = column_directions(columns, blocks.registry.specs, settings.increasing)
def matrix(frame):
    return design_matrix(frame, blocks.registry)[0].astype(np.float64, copy=False)
def labels(frame):
    return frame[blocks.label].to_numpy().astype(np.int8)
np.savez({out!r}, names=np.array([c.name for c in columns]), directions=np.array(directions),
    x_train=matrix(blocks.train), y_train=labels(blocks.train),
    x_calibration=matrix(blocks.calibration), y_calibration=labels(blocks.calibration),
    x_test=matrix(blocks.test), y_test=labels(blocks.test),
    negative_rate=np.array(blocks.negative_rate), seed=np.array(settings.seed))
print(json.dumps({{"features_seconds": time.perf_counter() - t0,
    "rows": [blocks.train.height, blocks.calibration.height, blocks.test.height],
    "negative_rate": blocks.negative_rate}}), flush=True)
"""

FIT = """
import json, os, time, warnings
import numpy as np
warnings.filterwarnings("ignore")
from sklearn.metrics import average_precision_score, roc_auc_score
from models.families import as_frame, make_pipeline, raw_terms
arm = json.loads({arm!r})
cached = np.load({blocks!r})
names = [str(n) for n in cached["names"]]
directions = [int(d) for d in cached["directions"]] if arm.get("constrained", True) else None
x, y = cached["x_train"], cached["y_train"]
weights = None
share = arm.get("sample", 1.0)
if share < 1.0:
    draw = np.random.default_rng(arm.get("sample_seed", {seed})).random(y.shape[0])
    keep = (y == 1) | (draw < share)
    x, y = x[keep], y[keep]
    if arm.get("weighted"):
        weights = np.where(y == 1, 1.0, 1.0 / share)
family = arm["family"]
pipeline = make_pipeline(family, names, arm.get("params", {{}}), int(cached["seed"]), directions)
frame = as_frame(np.ascontiguousarray(x), names)
def group():
    # (CPU seconds, summed peak kB of the others) of this process group: this process and
    # joblib's workers (which keep the group if loky's parent dies and they go to init)
    cpu, peak, me = 0, 0, os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{{entry}}/stat").read().rsplit(")", 1)[1].split()
                if int(fields[2]) != os.getpgid(0):
                    continue
                cpu += int(fields[11]) + int(fields[12])
                if int(entry) != me:
                    status = open(f"/proc/{{entry}}/status").read()
                    peak += int(status.split("VmHWM:")[1].split()[0])
            except (OSError, IndexError):
                continue
    return cpu / os.sysconf("SC_CLK_TCK"), peak
load0, cpu0, own0 = os.getloadavg()[0], group()[0], sum(os.times()[:2])
t0 = time.perf_counter()
if weights is None:
    pipeline.fit(frame, y)
else:
    pipeline.fit(frame, y, **{{pipeline.steps[-1][0] + "__sample_weight": weights}})
seconds = time.perf_counter() - t0
cpu, workers_kb = group()
cpu, load1, own = cpu - cpu0, os.getloadavg()[0], sum(os.times()[:2]) - own0
test = as_frame(cached["x_test"], names)
raw = np.asarray(pipeline.decision_function(test), np.float64)
y_test = cached["y_test"]
out = {{"family": family, "rows": int(y.shape[0]), "positives": int(y.sum()),
    "fit": seconds, "cpu": cpu, "cpu_main": own, "load": [load0, load1],
    "workers_peak_mb": workers_kb / 1024,
    "auc": roc_auc_score(y_test, raw), "ap": average_precision_score(y_test, raw)}}
last = pipeline[-1]
if family == "ebm":
    out["terms"] = len(last.term_features_)
    out["pairs"] = [[names[i] for i in t] for t in last.term_features_ if len(t) > 1]
    steps = np.asarray(last.best_iteration_, dtype=float)
    out["steps"] = [float(s.mean()) for s in steps]
    out["params"] = {{k: v for k, v in last.get_params().items()
        if k in ("outer_bags", "interactions", "max_bins", "max_interaction_bins", "learning_rate",
                 "max_rounds", "early_stopping_rounds", "smoothing_rounds", "greedy_ratio",
                 "inner_bags", "n_jobs")}}
elif family in ("scorecard", "logistic"):
    terms, _ = raw_terms(pipeline, family, test.iloc[:20000])
    out["terms"] = int((np.abs(terms).max(axis=0) > 0).sum())
elif family == "gbm":
    out["trees"] = int(last.n_iter_)
print(json.dumps(out, default=str), flush=True)
"""


def blocks_file(children: int) -> Path:
    """The cached design matrices of the default split on ``children`` children."""
    out = BENCH / f"ebm-blocks-{children}.npz"
    if not out.exists():
        data = synthetic_data(children)
        print(f"building the default split's blocks of {data} into {out} ...", flush=True)
        _, peak, printed = measure(BLOCKS.format(data=str(data), out=str(out)))
        info = json.loads(printed.splitlines()[-1])
        (BENCH / f"ebm-blocks-{children}.json").write_text(json.dumps(info))
        print(
            f"   features {info['features_seconds']:.0f} s, peak {peak / 1024:.1f} GB", flush=True
        )
    return out


def run_arm(name: str, blocks: Path) -> dict[str, Any]:
    """One arm fitted and judged in a fresh process; its row of results."""
    spec = ARMS[name]
    script = FIT.format(arm=json.dumps(spec), blocks=str(blocks), seed=SEED)
    # its own session, so that its joblib workers (re-parented to init by loky) are one
    # process group; output to files, which a worker outliving the process cannot hold open
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, script], stdout=out, stderr=err, text=True,
            cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        code = process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # workers left behind, if any
        out.seek(0)
        err.seek(0)
        printed, errors = out.read(), err.read()
    if code != 0:
        raise SystemExit(f"arm {name!r} failed (exit {code}):\n{errors[-3000:]}")
    lines = printed.strip().splitlines()
    _, seconds, peak = lines[-1].split()
    row: dict[str, Any] = json.loads(lines[-2])
    peak_mb = float(peak) + row.get("workers_peak_mb", 0.0)
    return row | {"arm": name, "wall": float(seconds), "peak_mb": peak_mb}


HEADER = (
    f"{'arm':24s} {'rows':>8s} {'fit s':>7s} {'cpu s':>7s} {'2c est':>7s} {'load':>4s} "
    f"{'AUC':>7s} {'AP':>7s} {'dAUC':>7s} {'terms':>5s} "
    f"{'steps main/pair':>15s} {'peak GB':>7s}  settings"
)


def _settings(spec: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in spec.get("params", {}).items()]
    if spec.get("sample", 1.0) < 1.0:
        parts.append(f"neg share {spec['sample']}" + (" weighted" if spec.get("weighted") else ""))
    if "sample_seed" in spec:
        parts.append(f"sample seed {spec['sample_seed']}")
    if not spec.get("constrained", True):
        parts.append("no directions")
    return ", ".join(parts) or "defaults"


def line(row: dict[str, Any], reference: float | None) -> str:
    steps = row.get("steps") or []
    steps_text = "/".join(f"{s:.0f}" for s in steps) if steps else f"{row.get('trees', '')}"
    estimate = f"{'':>7s}"
    if "cpu_main" in row and row["family"] == "ebm":
        bags = row.get("params", {}).get("outer_bags", 1)
        idle = row["cpu_main"] + (row["cpu"] - row["cpu_main"]) / min(2, bags)
        estimate = f"{idle:7.1f}"
    delta = f"{row['auc'] - reference:+7.4f}" if reference is not None else f"{'':7s}"
    return (
        f"{row['arm']:24s} {row['rows']:8,d} {row['fit']:7.1f} "
        f"{row.get('cpu', float('nan')):7.1f} {estimate} "
        f"{max(row.get('load', [float('nan')])):4.1f} {row['auc']:7.4f} "
        f"{row['ap']:7.4f} {delta} {row.get('terms', ''):>5} {steps_text:>15s} "
        f"{row['peak_mb'] / 1024:7.2f}  {_settings(ARMS[row['arm']])}"
    )


def table(rows: dict[str, dict[str, Any]], children: int) -> None:
    info_file = BENCH / f"ebm-blocks-{children}.json"
    if info_file.exists():
        info = json.loads(info_file.read_text())
        train, calibration, test = info["rows"]
        print(
            f"\n== {children:,} children: training {train:,} rows (negative share "
            f"{info['negative_rate']:.3f}), calibration {calibration:,}, test {test:,}"
        )
    reference = rows.get("ebm defaults", {}).get("auc")
    print(HEADER)
    for name in ARMS:
        if name in rows:
            print(line(rows[name], reference))
    for name in ARMS:
        if name in rows and rows[name].get("pairs"):
            pairs = ", ".join(" x ".join(p) for p in rows[name]["pairs"])
            print(f"   {name}: pairs {pairs}")
    fast = [r for r in rows.values() if r["arm"].startswith("ebm") and r["fit"] <= AIM_SECONDS]
    if reference is not None:
        good = [r for r in fast if r["auc"] >= reference]
        print(
            f"EBM arms fitted in <= {AIM_SECONDS:.0f} s: {len(fast)}; of them at least the "
            f"defaults' AUC {reference:.4f}: "
            + (", ".join(r["arm"] for r in sorted(good, key=lambda r: r["fit"])) or "none")
        )
    peers = {n: rows[n]["auc"] for n in ("scorecard", "logistic", "gbm") if n in rows}
    if peers and fast:
        best = max(fast, key=lambda r: r["auc"])
        print(
            f"best EBM arm within the aim: {best['arm']} AUC {best['auc']:.4f}; vs "
            + ", ".join(f"{n} {best['auc'] - a:+.4f}" for n, a in peers.items())
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=60_000)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--again", action="store_true", help="re-run arms already recorded")
    parser.add_argument("--list", action="store_true", help="list the arms and stop")
    parser.add_argument("--table", action="store_true", help="print recorded results only")
    args = parser.parse_args()
    if args.list:
        for name, spec in ARMS.items():
            print(f"{name:24s} {spec['family']:9s} {_settings(spec)}")
        return
    results = BENCH / f"ebm-{args.children}.jsonl"
    rows: dict[str, dict[str, Any]] = {}
    if results.exists():
        for text in results.read_text().splitlines():
            row = json.loads(text)
            rows[row["arm"]] = row
    if not args.table:
        blocks = blocks_file(args.children)
        print(HEADER, flush=True)
        for name in args.arms:
            if name in rows and not args.again:
                continue
            rows[name] = run_arm(name, blocks)
            with results.open("a") as out:
                out.write(json.dumps(rows[name]) + "\n")
            print(line(rows[name], rows.get("ebm defaults", {}).get("auc")), flush=True)
    table(rows, args.children)


if __name__ == "__main__":
    main()
