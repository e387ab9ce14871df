"""Benchmark `riskflag synth`: time, memory and throughput, and how learnable the data is.

    python benchmarks/bench_synth.py [--children 100000 1000000] [--workers 2] [--peer-workers 1]

Each run happens in a fresh process (so peak RSS is that run's own), writing into a
temporary folder that is removed afterwards. Columns: children, events, seconds, peak RSS
of the main process and of the largest worker, events/s, the realised base rate over the
oracle's 24 dates, and two AUCs against the realised labels: the number of report.concern
recorded in the 365 days before D (a simple signal) and the oracle itself (the ceiling).
The peer, measured in the same run, is the generator with --peer-workers worker
processes at the smallest size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HEADER = (
    f"{'children':>10} {'workers':>7} {'events':>11} {'seconds':>8} {'rss main':>9} "
    f"{'rss worker':>10} {'events/s':>10} {'base rate':>9} {'AUC reports':>11} {'AUC oracle':>10}"
)


def run_one(children: int, workers: int, seed: int) -> dict[str, Any]:
    """Generate once in this process and measure it (called in a child process)."""
    from features.synth import SynthConfig, generate
    from features.synth.checks import auc, labelled_oracle

    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        out = Path(tmp) / "data"
        summary = generate(SynthConfig(children=children, seed=seed, workers=workers), out)
        main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        rows = labelled_oracle(out)
    label = rows["label"].to_numpy()
    return {
        "children": children,
        "workers": workers,
        "events": summary.events,
        "seconds": summary.seconds,
        "rss_main_mb": main_mb,
        "rss_worker_mb": worker_mb if workers > 1 else float("nan"),
        "base_rate": summary.base_rate,
        "auc_reports": auc(rows["reports"].to_numpy(), label),
        "auc_oracle": auc(rows["probability"].to_numpy(), label),
    }


def measure(children: int, workers: int, seed: int) -> dict[str, Any]:
    """Run ``run_one`` in a fresh interpreter and read its JSON line."""
    command = [sys.executable, __file__, "--one", str(children), "--workers", str(workers)]
    done = subprocess.run(
        [*command, "--seed", str(seed)], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def row(r: dict[str, Any]) -> str:
    return (
        f"{r['children']:>10,} {r['workers']:>7} {r['events']:>11,} {r['seconds']:>8.1f} "
        f"{r['rss_main_mb']:>7.0f}MB {r['rss_worker_mb']:>8.0f}MB "
        f"{r['events'] / r['seconds']:>10,.0f} {r['base_rate']:>9.2%} "
        f"{r['auc_reports']:>11.3f} {r['auc_oracle']:>10.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--peer-workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.workers, args.seed)))
        return
    print(HEADER)
    smallest = min(args.children)
    if args.peer_workers != args.workers:
        print(row(measure(smallest, args.peer_workers, args.seed)), "  (peer)")
    for children in sorted(args.children):
        print(row(measure(children, args.workers, args.seed)), flush=True)


if __name__ == "__main__":
    main()
