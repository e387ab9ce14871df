"""The API under load: scores with explanations, beside `mlflow models serve` and a bare
FastAPI endpoint.

    BENCH_SECONDS=10 python -m benchmarks.bench_serving [--children 20000] [--clients 1 8 32]

1. Setup, fresh in .bench/serving/: synthetic children (cached in .bench/), then exactly
   what a user runs: ``riskflag train --model scorecard`` into a throwaway MLflow store,
   ``promote`` (the fairness disparities justified as "benchmark"), ``db load``, a
   caseworker of every district, and ``score --store`` (the batch queue).
2. Targets, one at a time, each one uvicorn worker on 127.0.0.1 started as a subprocess
   and stopped at the end: ``riskflag serve`` with the champion, for POST /v1/score (one
   child's history from the data folder: the queue's child with the median number of
   events, timestamps as local-time strings, as of the export date) and GET
   /v1/children/{id}/risk (rotating over the queue's children), both with explanations
   (the default ten factors and the records behind each); ``mlflow models serve`` of the
   same version, POST /invocations with that child's feature row (predictions only: the
   caller builds the features); and benchmarks/bare_app.py, a pydantic body and no work.
   One request of each kind must answer 200 before it is measured.
3. Load: wrk on loopback, closed loop (a client sends its next request when the answer
   arrives), ``-c`` clients, ``-t`` min(clients, 2), ``--timeout 30s`` (a slow answer is
   measured, not counted as an error), ``BENCH_SECONDS`` per point after a short warm-up.
   A Lua ``done`` prints the requests, errors and latency percentiles as JSON.

req/s counts answers below 400; errors are wrk's (connect, read, write, timeout) plus
answers of 400 and above. The machine's cores (2 here) are shared by wrk and the server,
so every figure is lower than a server alone would reach. Prints a table and writes it to
docs/bench-serving-<date>.txt; never passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from string import Template

import polars as pl

from benchmarks.measure import BENCH, ROOT, measure, synthetic_data

BIN = Path(sys.executable).parent
WORK = BENCH / "serving"
HOST = "127.0.0.1"
WRK_TIMEOUT = "30s"
WARM_UP_SECONDS = 3
READY_SECONDS = 180.0
AIM_CLIENTS = 8
AIM_SHARE = 0.5
AIM_P99_MS = 25.0

SCORE = "riskflag POST /v1/score"
RISK = "riskflag GET /v1/children/{id}/risk"
MLFLOW = "mlflow models serve POST /invocations"
BARE = "bare FastAPI POST /bare"

DONE_LUA = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '__WRK__ {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""

POST_LUA = Template(
    r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
$auth
local file = assert(io.open("$body", "rb"))
wrk.body = file:read("*a")
file:close()
"""
    + DONE_LUA
)

RISK_LUA = Template(
    r"""
$auth
local ids = {}
for line in io.lines("$ids") do
  ids[#ids + 1] = line
end
local threads = 0
function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end
local sent = 0
function request()
  -- each thread walks the list from its own starting point
  local start = (thread_number or 0) * math.floor(#ids / 2)
  local id = ids[(start + sent) % #ids + 1]
  sent = sent + 1
  return wrk.format(nil, "/v1/children/" .. id .. "/risk")
end
"""
    + DONE_LUA
)

FEATURE_ROW = """
import json
from datetime import date
from pathlib import Path
import polars as pl
from features.build import build_features
from features.contract import load_case_histories
from models.registry import load_version, use_tracking
from models.tracking import signature_frame
use_tracking({tracking!r})
model = load_version({version!r})
histories = load_case_histories(Path({data!r}))
table = build_features(histories, model.config, model.policy, [date.fromisoformat({as_of!r})])
rows = table.frame.filter(pl.col("child_id") == {child!r}).collect()
if rows.height == 0:
    raise SystemExit("child {child} has no feature row on {as_of}")
frame = signature_frame(model, rows.head(1))
split = json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
print(json.dumps(dict(dataframe_split=split)))
"""


# ---- setup ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    data: Path
    tracking_uri: str
    store_url: str
    version: str
    token: str
    as_of: str
    queue: list[str]
    batch: str


def _riskflag(env: dict[str, str], *args: str) -> str:
    """Run a riskflag command in WORK; its stdout, or stop the benchmark with its error."""
    result = subprocess.run(
        [str(BIN / "riskflag"), *args],
        capture_output=True,
        text=True,
        cwd=WORK,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"riskflag {' '.join(args[:2])} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def _step(message: str) -> float:
    print(f"== {message} ...", flush=True)
    return time.perf_counter()


def _done(started: float) -> None:
    print(f"   {time.perf_counter() - started:.0f} s", flush=True)


def _queue(store_url: str) -> list[str]:
    """The latest batch's children, in a fixed shuffled order (seed 11)."""
    from sqlalchemy import func, select

    from serving.store import make_engine
    from serving.store.tables import Batch, BatchScore

    engine = make_engine(store_url)
    latest = select(func.max(Batch.id)).scalar_subquery()
    with engine.connect() as connection:
        ids = connection.execute(
            select(BatchScore.child_id).where(BatchScore.batch_id == latest)
        ).scalars()
        frame = pl.DataFrame({"child_id": list(ids)})
    engine.dispose()
    return frame["child_id"].shuffle(seed=11).to_list()


def setup(children: int) -> Setup:
    from features.deployment import Deployment

    data = synthetic_data(children)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    tracking_uri = f"sqlite:///{WORK / 'mlflow.db'}"
    store_url = f"sqlite:///{WORK / 'store.db'}"
    env = {**os.environ, "RISKFLAG_DATABASE_URL": store_url}
    exported = json.loads((data / "export.json").read_text(encoding="utf-8"))["exported_at"]
    as_of = date.fromisoformat(exported[:10]).isoformat()

    started = _step(f"riskflag train --model scorecard on {children:,} children")
    out = _riskflag(
        env, "train", "--data", str(data), "--model", "scorecard", "--tracking-uri", tracking_uri
    )
    version = str(json.loads(out.strip().splitlines()[-1])["version"])
    _done(started)
    started = _step(f"riskflag promote {version}, riskflag db load, a caseworker of every district")
    _riskflag(
        env,
        "promote",
        version,
        "--tracking-uri",
        tracking_uri,
        "--by",
        "bench",
        "--justify-disparity",
        "benchmark",
    )
    _riskflag(env, "db", "load", str(data))
    districts = [arg for name in Deployment().districts for arg in ("--district", name)]
    token = _riskflag(env, "users", "add", "bench", "--role", "caseworker", *districts)
    _done(started)
    started = _step("riskflag score --store (the batch queue)")
    batch = _riskflag(env, "score", "--store", "--tracking-uri", tracking_uri).strip()
    _done(started)
    return Setup(
        data=data,
        tracking_uri=tracking_uri,
        store_url=store_url,
        version=version,
        token=token.strip().splitlines()[-1],
        as_of=as_of,
        queue=_queue(store_url),
        batch=batch.splitlines()[-1],
    )


def score_body(data: Path, as_of: str, queue: list[str]) -> tuple[dict[str, object], int]:
    """A ScoreRequest for the queue's child with the median number of events (its own
    events; the store's GET path also reads its siblings), and that number."""
    from features import schema as s

    events = pl.read_parquet(data / "events.parquet")
    counts = (
        events.filter(pl.col(s.CHILD_ID).is_in(queue))
        .group_by(s.CHILD_ID)
        .len()
        .sort("len", s.CHILD_ID)
    )
    child_id = counts[s.CHILD_ID][counts.height // 2]
    child = pl.read_parquet(data / "children.parquet").filter(pl.col(s.CHILD_ID) == child_id)
    mine = events.filter(pl.col(s.CHILD_ID) == child_id).sort(s.OCCURRED_AT, s.EVENT_ID)

    def text(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S"),
            pl.col(pl.Date).dt.strftime("%Y-%m-%d"),
        )

    body = {
        "as_of": as_of,
        "child": text(child.select(s.CHILDREN_COLUMNS)).row(0, named=True),
        "events": text(mine.select(s.EVENTS_COLUMNS)).to_dicts(),
    }
    return body, mine.height


# ---- servers and requests -------------------------------------------------------------


class NotReadyError(Exception):
    """A server that did not start or answer; the message says why."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _call(url: str, body: bytes | None = None, token: str | None = None) -> tuple[int, str]:
    """(status, text) of one request; status 0 when nothing answered."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=body, headers=headers, method="GET" if body is None else "POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except OSError as exc:
        return 0, str(exc)


def _tail(log: Path, lines: int = 1) -> str:
    text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return " | ".join(line.strip() for line in text[-lines:]) or "(no output)"


@contextmanager
def serving(name: str, command: list[str], env: dict[str, str], ready: str) -> Iterator[Path]:
    """Start a server in its own process group, wait until ``ready`` answers 200, stop it
    (the whole group: mlflow starts uvicorn as a child) at the end; yields its log."""
    log = WORK / f"{name}.log"
    started = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while True:
            if process.poll() is not None:
                raise NotReadyError(f"exited with code {process.returncode}: {_tail(log, 3)}")
            status, _ = _call(ready)
            if status == 200:
                break
            if time.perf_counter() - started > READY_SECONDS:
                raise NotReadyError(f"{ready} not 200 after {READY_SECONDS:.0f} s: {_tail(log)}")
            time.sleep(0.5)
        print(f"   {name} ready in {time.perf_counter() - started:.1f} s", flush=True)
        yield log
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


# ---- load -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    target: str
    clients: int
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    note: str = ""  # why there are no numbers

    def row(self) -> str:
        if self.note:
            return f"{self.target:38s} {self.clients:>7d}  not measured: {self.note}"
        return (
            f"{self.target:38s} {self.clients:>7d} {self.rps:>9,.1f} {self.p50_ms:>8.1f} "
            f"{self.p99_ms:>8.1f} {self.errors:>7,d}"
        )


HEADER = f"{'target':38s} {'clients':>7s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s}"


def wrk(url: str, script: Path, clients: int, seconds: int) -> dict[str, int] | str:
    """wrk's figures (the Lua done() line) or why there are none."""
    command = [
        "wrk",
        "-t",
        str(min(clients, 2)),
        "-c",
        str(clients),
        "-d",
        f"{seconds}s",
        "--latency",
        "--timeout",
        WRK_TIMEOUT,
        "-s",
        str(script),
        url,
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=seconds + 120
        )
    except subprocess.TimeoutExpired:
        return "wrk did not finish"
    found = [line for line in result.stdout.splitlines() if line.startswith("__WRK__ ")]
    if result.returncode != 0 or not found:
        return f"wrk failed ({result.returncode}): {(result.stderr or result.stdout).strip()[-300:]}"
    stats: dict[str, int] = json.loads(found[-1].removeprefix("__WRK__ "))
    return stats


def load(
    target: str, url: str, script: Path, clients: list[int], seconds: int
) -> Iterator[Point]:
    """A short warm-up (not reported), then one point per number of clients."""
    wrk(url, script, 2, min(WARM_UP_SECONDS, seconds))
    for n in clients:
        stats = wrk(url, script, n, seconds)
        if isinstance(stats, str):
            point = Point(target, n, note=stats)
        else:
            answered = stats["requests"] - stats["status"]
            errors = sum(stats[k] for k in ("connect", "read", "write", "status", "timeout"))
            point = Point(
                target,
                n,
                rps=answered / (stats["duration_us"] / 1e6),
                p50_ms=stats["p50_us"] / 1000,
                p99_ms=stats["p99_us"] / 1000,
                errors=errors,
            )
        print(f"   {point.row()}", flush=True)
        yield point


def verify(what: str, url: str, body: bytes | None, token: str | None, expect: str) -> str | None:
    """None when one request answers 200 with ``expect`` in its JSON; otherwise why not
    (printed as an error)."""
    status, text = _call(url, body, token)
    problem = None
    if status != 200:
        problem = f"{what} answered {status or 'nothing'}: {text.strip()[:300]}"
    else:
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {}
        if not isinstance(answer, dict) or expect not in answer:
            problem = f"{what} answered 200 without {expect!r}: {text.strip()[:300]}"
    if problem:
        print(f"error: {problem}", flush=True)
    else:
        print(f"   {what}: 200 ({len(text):,} bytes)", flush=True)
    return problem


