"""Run a Python snippet in a fresh process and measure it: wall time and peak memory.

Peak memory is the process's own high-water mark (VmHWM): ru_maxrss would include what
the parent process held when it forked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WRAPPER = """
import sys, time
_measure_started = time.perf_counter()  # a name the measured snippet will not reuse
exec(compile(sys.argv[1], "<bench>", "exec"))
elapsed = time.perf_counter() - _measure_started
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(f"__MEASURE__ {elapsed:.3f} {int(status) / 1024:.0f}")
"""


def measure(script: str) -> tuple[float, float, str]:
    """(seconds, peak MB, what the snippet printed); a failing snippet stops the benchmark."""
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{result.stderr[-3000:]}")
    lines = result.stdout.strip().splitlines()
    _, seconds, peak = lines[-1].split()
    return float(seconds), float(peak), "\n".join(lines[:-1])


BENCH = ROOT / ".bench"
SYNTH = """
from pathlib import Path
from features.synth import SynthConfig, generate
if __name__ == "__main__":
    generate(SynthConfig(children={n}, seed=11), Path({out!r}))
"""


def synthetic_data(children: int) -> Path:
    """Synthetic children (seed 11) cached in .bench/, generated in a fresh process once."""
    BENCH.mkdir(exist_ok=True)
    data = BENCH / f"synth-{children}"
    if not (data / "events.parquet").exists():
        print(f"generating {children:,} synthetic children into {data} ...", flush=True)
        measure(SYNTH.format(n=children, out=str(data)))
    return data


def _tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc (kB)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    total = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0])
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure_tree(script: str, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(seconds, peak MB of the whole process tree, what the snippet printed): for work
    spread over processes (Spark's JVM and Python workers), peak resident memory summed
    over the tree, sampled every 0.2 s (shared pages count once per process: an upper
    bound). A failing snippet stops the benchmark."""
    import os
    import threading
    import time

    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(process.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{err[-3000:]}")
    return seconds, peak / 1024, out.strip()
