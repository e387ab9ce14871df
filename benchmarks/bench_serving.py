"""The API under load: scores with explanations, beside `mlflow models serve` and a bare
FastAPI endpoint.

    BENCH_SECONDS=10 python -m benchmarks.bench_serving [--children 20000] [--clients 1 8 32]
        [--workers 1 2]

1. Setup, fresh in .bench/serving/: synthetic children (cached in .bench/), then exactly
   what a user runs: ``riskflag train --model scorecard`` into a throwaway MLflow store,
   ``promote`` (the fairness disparities justified as "benchmark"), ``db load``, a
   caseworker of every district, and ``queue build`` (the batch queue).
2. Targets, one at a time, each on 127.0.0.1 started as a subprocess and stopped at the
   end, once per number of uvicorn workers (``--workers``, default 1 then 2: the three
   with one worker each, then the three with two): ``riskflag serve --workers N`` with the
   champion, for POST /v1/score (one child's history from the data folder: the queue's
   child with the median number of events, timestamps as local-time strings, as of the
   export date) and GET /v1/children/{id}/risk (rotating over the queue's children), both
   with explanations (the default ten factors and the records behind each); ``mlflow
   models serve -w N`` of the same version, POST /invocations with that child's feature
   row (predictions only: the caller builds the features); and benchmarks/bare_app.py, a
   pydantic body and no work, served as ``riskflag serve`` serves (``uvicorn.run`` for one
   worker; for more, serving.cli.serve.run_workers: uvicorn's own ``--workers`` leaves
   Nagle's algorithm on, about 40 ms more per kept-alive request, uvicorn issue #3149;
   ``mlflow models serve -w 2`` has it, measured as it is and said under the table).
   One request of each kind must answer 200 before it is measured.
3. Load: wrk on loopback, closed loop (a client sends its next request when the answer
   arrives), ``-c`` clients, ``-t`` min(clients, 2), ``--timeout 30s`` (a slow answer is
   measured, not counted as an error), ``BENCH_SECONDS`` per point after a short warm-up.
   A Lua ``done`` prints the requests, errors and latency percentiles as JSON. Each point
   starts on an idle server (wrk leaves a request per client in flight, which the server
   still computes) and, waiting up to a minute, an otherwise idle machine.

req/s counts answers below 400; errors are wrk's (connect, read, write, timeout) plus
answers of 400 and above, broken down under the table with what riskflag's logs say it
refused or failed. The machine's cores (2 here) are shared by wrk and the server, so
every figure is lower than a server alone would reach; CPU used by any other process
than wrk and the server's (all its workers) during a point is measured (/proc), and a
point beside more than 0.1 core of it is marked ``*``. Prints a table (a row per target,
workers and clients) and writes it to docs/bench-serving-<date>.txt; never passes or
fails. Under it, the aims, judged on the one-worker rows: POST /v1/score and GET risk at
8 clients at >= 50% of the bare endpoint's req/s with p99 <= 25 ms, and p50 <= 5 ms at
1 client; the same figures for each other number of workers (against the bare endpoint
with as many), not judged.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
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
SETTLE_SECONDS = 180.0
OTHERS_WAIT_SECONDS = 60.0
STARTS = random.Random(11)  # where each wrk run starts in the queue: RISK_LUA's init
OTHERS_MARK = 0.1  # of a core: more than that marks a point as disturbed
AIM_CLIENTS = 8
AIM_SHARE = 0.5
AIM_P99_MS = 25.0
ALONE_CLIENTS = 1
AIM_P50_MS = 5.0

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
function init(args)
  -- each run starts at its own place: the number after -- (args also hold the URL)
  for _, arg in pairs(args) do
    sent = tonumber(arg) or sent
  end
end
function request()
  -- and each thread half the list further on
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

# the bare endpoint, served as `riskflag serve` serves: uvicorn.run for one worker, and for
# more serving.cli.serve.run_workers (uvicorn's own --workers leaves Nagle's algorithm on)
BARE_SERVE = """
import sys
import uvicorn
app, host, port, workers = "benchmarks.bare_app:app", sys.argv[1], sys.argv[2], sys.argv[3]
options = dict(host=host, port=int(port), access_log=False, log_level="warning")
if workers == "1":
    uvicorn.run(app, **options)
else:
    from serving.cli.serve import run_workers
    run_workers(app, int(workers), **options)
"""
# said under the table when mlflow ran with more than one worker
MLFLOW_NAGLE = (
    "mlflow models serve -w N (N > 1) runs `uvicorn --workers N`, whose connections keep "
    "Nagle's algorithm on (uvicorn issue #3149): about 40 ms more per request on a kept-alive "
    "connection, measured as it is; riskflag serve and the bare endpoint set TCP_NODELAY"
)


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


def _env(**settings: str) -> dict[str, str]:
    """The environment for a command: this one without RISKFLAG_* and MLFLOW_* settings
    (the caller's own would change what is measured), plus ``settings``."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("RISKFLAG_", "MLFLOW_"))
    }
    return {**inherited, **settings}


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
    env = _env(RISKFLAG_DATABASE_URL=store_url)
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
    _riskflag(env, "db", "migrate")
    _riskflag(env, "db", "load", str(data))
    districts = [arg for name in Deployment().districts for arg in ("--district", name)]
    token = _riskflag(env, "users", "add", "bench", "--role", "caseworker", *districts)
    _done(started)
    started = _step("riskflag queue build (the batch queue)")
    batch = _riskflag(env, "queue", "build", "--tracking-uri", tracking_uri).strip()
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


@dataclass(frozen=True)
class ScoreBody:
    body: dict[str, object]
    child_id: str
    events: int


def score_body(data: Path, as_of: str, queue: list[str]) -> ScoreBody:
    """A ScoreRequest for the queue's child with the median number of events (its own
    events; the store's GET path also reads its siblings)."""
    from features import schema as s

    events = pl.read_parquet(data / "events.parquet")
    counts = (
        events.filter(pl.col(s.CHILD_ID).is_in(queue))
        .group_by(s.CHILD_ID)
        .len()
        .sort("len", s.CHILD_ID)
    )
    child_id = str(counts[s.CHILD_ID][counts.height // 2])
    child = pl.read_parquet(data / "children.parquet").filter(pl.col(s.CHILD_ID) == child_id)
    mine = events.filter(pl.col(s.CHILD_ID) == child_id).sort(s.OCCURRED_AT, s.EVENT_ID)

    def text(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S"),
            pl.col(pl.Date).dt.strftime("%Y-%m-%d"),
        )

    body: dict[str, object] = {
        "as_of": as_of,
        "child": text(child.select(s.CHILDREN_COLUMNS)).row(0, named=True),
        "events": text(mine.select(s.EVENTS_COLUMNS)).to_dicts(),
    }
    return ScoreBody(body, child_id, mine.height)


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


def _tail(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return lines[-1].strip() if lines else "(no output)"


@contextmanager
def serving(name: str, command: list[str], env: dict[str, str], ready: str) -> Iterator[int]:
    """Start a server in its own process group, wait until ``ready`` answers 200, stop it
    (the whole group: mlflow starts uvicorn as a child) at the end; yields the group."""
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
                raise NotReadyError(f"exited with code {process.returncode}: {_tail(log)}")
            status, _ = _call(ready)
            if status == 200:
                break
            if time.perf_counter() - started > READY_SECONDS:
                raise NotReadyError(f"{ready} not 200 after {READY_SECONDS:.0f} s: {_tail(log)}")
            time.sleep(0.5)
        print(f"   {name} ready in {time.perf_counter() - started:.1f} s", flush=True)
        yield process.pid
    finally:
        _stop(process)


def _cpu_seconds(group: int) -> float:
    """CPU time used so far by the processes of a process group (from /proc)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group:  # pgrp; utime and stime follow at 11 and 12
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(group: int) -> None:
    """Wait until the server is idle (under 5% of a core for a second): wrk stops with a
    request in flight per client, and a route keeps computing it after wrk has gone. Then
    wait up to OTHERS_WAIT_SECONDS more for the rest of the machine to be idle too (under
    15% of a core): the machine may be shared."""
    started = time.perf_counter()
    server, machine = _cpu_seconds(group), _machine_busy_seconds()
    server_busy = others_busy = 0.0
    while time.perf_counter() - started < SETTLE_SECONDS:
        time.sleep(1.0)
        server_was, machine_was = server, machine
        server, machine = _cpu_seconds(group), _machine_busy_seconds()
        if server - server_was >= 0.05:
            server_busy = time.perf_counter() - started
        elif machine - machine_was >= 0.15 and others_busy < OTHERS_WAIT_SECONDS:
            others_busy += 1.0
        else:
            break
    if server_busy > 2.5:
        print(f"   (the server was busy {server_busy:.0f} s with what wrk left)", flush=True)
    if others_busy > 1.5:
        print(f"   (waited {others_busy:.0f} s for other processes to finish)", flush=True)


def _machine_busy_seconds() -> float:
    """CPU time the machine has spent busy so far, all cores (from /proc/stat)."""
    # cpu  user nice system idle iowait irq softirq steal ...: all but idle and iowait
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _ours_seconds(group: int) -> float:
    """CPU time of the server's processes, of this process and of its waited-for children
    (wrk, once it has ended)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    mine = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
    return _cpu_seconds(group) + mine


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
    workers: int
    clients: int
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    others: float = 0.0  # cores used by processes other than the server and wrk
    kinds: str = ""  # the errors by kind, as wrk counts them
    note: str = ""  # why there are no numbers

    def row(self) -> str:
        where = f"{self.target:38s} {self.workers:>7d} {self.clients:>7d}"
        if self.note:
            return f"{where}  not measured: {self.note}"
        mark = " *" if self.others > OTHERS_MARK else ""
        return (
            f"{where} {self.rps:>9,.1f} {self.p50_ms:>8.1f} {self.p99_ms:>8.1f} "
            f"{self.errors:>7,d}{mark}"
        )


HEADER = (
    f"{'target':38s} {'workers':>7s} {'clients':>7s} {'req/s':>9s} {'p50 ms':>8s} "
    f"{'p99 ms':>8s} {'errors':>7s}"
)


ERROR_KINDS = {
    "connect": "connect",
    "read": "read (connection closed or reset)",
    "write": "write",
    "status": "answered HTTP >= 400",
    "timeout": f"timed out ({WRK_TIMEOUT})",
}


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
        "--",
        str(STARTS.randrange(1 << 30)),
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=seconds + 120
        )
    except subprocess.TimeoutExpired:
        return "wrk did not finish"
    found = [line for line in result.stdout.splitlines() if line.startswith("__WRK__ ")]
    if result.returncode != 0 or not found:
        return (
            f"wrk failed ({result.returncode}): {(result.stderr or result.stdout).strip()[-300:]}"
        )
    stats: dict[str, int] = json.loads(found[-1].removeprefix("__WRK__ "))
    return stats


def load(
    target: str, workers: int, url: str, script: Path, clients: list[int], seconds: int, group: int
) -> Iterator[Point]:
    """A short warm-up (not reported), then one point per number of clients, each started
    on an idle server."""
    settle(group)
    wrk(url, script, 2, min(WARM_UP_SECONDS, seconds))
    for n in clients:
        settle(group)
        busy, ours = _machine_busy_seconds(), _ours_seconds(group)
        stats = wrk(url, script, n, seconds)
        others = (_machine_busy_seconds() - busy) - (_ours_seconds(group) - ours)
        if isinstance(stats, str):
            point = Point(target, workers, n, note=stats)
        elif stats["requests"] == 0:
            point = Point(target, workers, n, note=f"no answer within the {seconds} s point")
        else:
            answered = stats["requests"] - stats["status"]
            errors = sum(stats[k] for k in ERROR_KINDS)
            point = Point(
                target,
                workers,
                n,
                rps=answered / (stats["duration_us"] / 1e6),
                p50_ms=stats["p50_us"] / 1000,
                p99_ms=stats["p99_us"] / 1000,
                errors=errors,
                others=max(others, 0.0) / (stats["duration_us"] / 1e6),
                kinds=", ".join(f"{stats[k]} {ERROR_KINDS[k]}" for k in ERROR_KINDS if stats[k]),
            )
        print(f"   {point.row()}", flush=True)
        yield point


@dataclass(frozen=True)
class Route:
    """A kind of request measured: its rows' target, one request that must answer 200
    with ``expect`` in its JSON before it is measured, and wrk's script."""

    target: str
    what: str  # the request, as the messages say it
    path: str  # of the request verified (and wrk's URL; a script may change the path)
    body: bytes | None
    token: str | None
    expect: str
    script: Path


def route(
    request: Route, base: str, workers: int, clients: list[int], seconds: int, group: int
) -> list[Point]:
    """Verify one request, then measure; a route that does not answer 200 is not measured."""
    what, url = request.what, base + request.path
    status, text = _call(url, request.body, request.token)
    problem = None
    if status != 200:
        problem = f"{what} answered {status or 'nothing'}"
    else:
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or request.expect not in answer:
            problem = f"{what} answered 200 without {request.expect!r}"
    if problem:
        print(f"error: {problem}: {text.strip()[:500]}", flush=True)
        return _unmeasured((request.target,), workers, clients, f"{problem} (see the error above)")
    print(f"   {what} answers 200 ({len(text):,} bytes); measuring", flush=True)
    return list(load(request.target, workers, url, request.script, clients, seconds, group))


def _script(name: str, template: Template, **values: object) -> Path:
    path = WORK / name
    path.write_text(template.substitute(**values), encoding="utf-8")
    return path


def _unmeasured(
    targets: tuple[str, ...], workers: int, clients: list[int], why: str
) -> list[Point]:
    return [Point(t, workers, n, note=why[:300]) for t in targets for n in clients]


# ---- the targets ----------------------------------------------------------------------

MODEL_NAME = "riskflag-urgent"  # models.registry.MODEL_NAME (importing it loads mlflow)


@dataclass(frozen=True)
class Server:
    """A target, started once per number of workers: ``command`` and ``title`` name
    ``{port}`` and ``{workers}``; ``ready`` is a path that answers 200 once it serves."""

    name: str  # in the note of a server that did not start
    log: str  # its log is WORK/<log>-<workers>w.log
    title: str
    command: tuple[str, ...]
    env: dict[str, str]
    ready: str
    targets: tuple[str, ...]  # its rows, one per route
    routes: tuple[Route, ...] = ()
    broken: str = ""  # why it cannot be served at all (said once, when it was built)


def measured(server: Server, workers: int, clients: list[int], seconds: int) -> list[Point]:
    """Start ``server`` with ``workers`` workers, verify and measure each route, stop it."""
    if server.broken:
        return _unmeasured(server.targets, workers, clients, server.broken)
    port = _free_port()
    base = f"http://{HOST}:{port}"
    started = _step(server.title.format(port=port, workers=workers))
    command = [arg.format(port=port, workers=workers) for arg in server.command]
    log = f"{server.log}-{workers}w"
    points: list[Point] = []
    try:
        with serving(log, command, server.env, base + server.ready) as group:
            for request in server.routes:
                points += route(request, base, workers, clients, seconds, group)
    except NotReadyError as exc:
        why = f"{server.name}: {exc}"
        print(f"error: {why}", flush=True)
        done = {point.target for point in points}
        missing = tuple(t for t in server.targets if t not in done)
        points += _unmeasured(missing, workers, clients, why)
    _done(started)
    return points


def riskflag_server(run: Setup, body: dict[str, object]) -> Server:
    """`riskflag serve` with the champion: POST /v1/score of one child's history, and GET
    /v1/children/{id}/risk rotating over the queue."""
    auth = f'wrk.headers["Authorization"] = "Bearer {run.token}"'
    body_file = WORK / "score.json"
    body_file.write_text(json.dumps(body), encoding="utf-8")
    ids_file = WORK / "queue.txt"
    ids_file.write_text("\n".join(run.queue) + "\n", encoding="utf-8")
    score_lua = _script("score.lua", POST_LUA, auth=auth, body=body_file)
    risk_lua = _script("risk.lua", RISK_LUA, auth=auth, ids=ids_file)
    posted = body_file.read_bytes()
    score = Route(SCORE, "POST /v1/score", "/v1/score", posted, run.token, "factors", score_lua)
    risk_path = f"/v1/children/{run.queue[0]}/risk"
    risk = Route(
        RISK, "GET /v1/children/{id}/risk", risk_path, None, run.token, "factors", risk_lua
    )
    riskflag = (str(BIN / "riskflag"), "serve", "--host", HOST, "--port", "{port}")
    return Server(
        name="riskflag serve",
        log="riskflag",
        title=f"riskflag serve --workers {{workers}} (version {run.version}, the champion) "
        "on port {port}",
        command=(*riskflag, "--workers", "{workers}"),
        env=_env(
            RISKFLAG_DATABASE_URL=run.store_url,
            RISKFLAG_TRACKING_URI=run.tracking_uri,
            RISKFLAG_MODEL_POLL_SECONDS="0",
        ),
        ready="/readyz",
        targets=(SCORE, RISK),
        routes=(score, risk),
    )


def mlflow_server(run: Setup, child_id: str) -> Server:
    """`mlflow models serve` of the same version: POST /invocations with that child's
    feature row (predictions only: the caller builds the features)."""
    uri = f"models:/{MODEL_NAME}/{run.version}"
    # mlflow execs `uvicorn` from PATH: the venv's, as in an activated venv
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    request = invocations(run, child_id)
    return Server(
        name="mlflow models serve",
        log="mlflow",
        title=f"mlflow models serve -m {uri} --env-manager local -w {{workers}} on port {{port}}",
        command=(
            *(str(BIN / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local"),
            *("-h", HOST, "-p", "{port}", "-w", "{workers}"),
        ),
        env=_env(MLFLOW_TRACKING_URI=run.tracking_uri, PATH=path),
        ready="/ping",
        targets=(MLFLOW,),
        routes=() if isinstance(request, str) else (request,),
        broken=request if isinstance(request, str) else "",
    )


def invocations(run: Setup, child_id: str) -> Route | str:
    """POST /invocations with the child's feature row, built once for every number of
    workers; or why there is none."""
    started = _step(f"the feature row of {child_id} for mlflow (build_features, signature_frame)")
    row = FEATURE_ROW.format(
        tracking=run.tracking_uri,
        version=run.version,
        data=str(run.data),
        as_of=run.as_of,
        child=child_id,
    )
    try:
        _, _, printed = measure(row)
    except SystemExit as exc:
        why = f"no feature row: {str(exc)[-300:]}"
        print(f"error: {why}", flush=True)
        return why
    row_file = WORK / "invocations.json"
    row_file.write_text(printed.strip().splitlines()[-1], encoding="utf-8")
    script = _script("invocations.lua", POST_LUA, auth="", body=row_file)
    _done(started)
    body = row_file.read_bytes()
    return Route(MLFLOW, "POST /invocations", "/invocations", body, None, "predictions", script)


def bare_server(child_id: str, as_of: str) -> Server:
    """benchmarks/bare_app.py under uvicorn: a pydantic body and no work."""
    body_file = WORK / "bare.json"
    body_file.write_text(json.dumps({"child_id": child_id, "as_of": as_of}), encoding="utf-8")
    script = _script("bare.lua", POST_LUA, auth="", body=body_file)
    return Server(
        name="bare app",
        log="bare",
        title="benchmarks/bare_app.py, uvicorn workers: {workers}, as riskflag serve runs "
        "them, on port {port}",
        command=(sys.executable, "-c", BARE_SERVE, HOST, "{port}", "{workers}"),
        env=_env(),
        ready="/healthz",
        targets=(BARE,),
        routes=(
            Route(BARE, "POST /bare", "/bare", body_file.read_bytes(), None, "child_id", script),
        ),
    )


# ---- the report -----------------------------------------------------------------------


def errors(points: list[Point]) -> list[str]:
    """Each point's errors by kind, and what riskflag's access logs say it refused or
    failed (the log names route templates and statuses, never a child)."""
    lines = [
        f"errors of {p.target}, {p.workers} workers, {p.clients} clients: {p.kinds}"
        for p in points
        if p.errors
    ]
    for log in sorted(WORK.glob("riskflag-*w.log")):
        found: Counter[str] = Counter()
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 7 and parts[2] == "riskflag.access" and int(parts[5]) >= 400:
                found[" ".join(parts[3:6])] += 1
            elif len(parts) >= 5 and parts[2] == "riskflag.api" and parts[3] == "unhandled":
                found[f"unhandled {parts[4]}"] += 1
        if found:
            listed = "; ".join(f"{what} x{count}" for what, count in sorted(found.items()))
            lines.append(f"riskflag serve's log ({log.relative_to(ROOT)}): {listed}")
    return lines


def code_version() -> str:
    """The commit measured, and the files that differed from it (benchmarks and docs aside)."""

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=ROOT, check=False
        )
        return result.stdout.rstrip() if result.returncode == 0 else ""  # keep " M path"

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [
        line[3:]
        for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
        if not line[3:].startswith(("benchmarks/", "docs/"))
    ]
    if not changed:
        return f"code: commit {commit}"
    return f"code: commit {commit} with uncommitted changes to {', '.join(changed)}"


def disturbance(points: list[Point]) -> str:
    measured = [point.others for point in points if not point.note]
    worst = max(measured, default=0.0)
    line = f"(other processes used up to {worst:.2f} cores during a point"
    if worst > OTHERS_MARK:
        return line + f"; * marks points beside more than {OTHERS_MARK} core: read them as low)"
    return line + ": an undisturbed run)"


def aims(points: list[Point]) -> list[str]:
    """The aims, judged on the one-worker rows; the same figures for each other number of
    workers, not judged."""
    lines = [
        f"aims, one worker per server: scores with explanations at {AIM_CLIENTS} clients at "
        f">= {AIM_SHARE:.0%} of the bare endpoint's throughput with p99 <= {AIM_P99_MS:.0f} "
        f"ms; at {ALONE_CLIENTS} client p50 <= {AIM_P50_MS:.0f} ms",
        *_against_bare(points, 1, judged=True),
    ]
    for workers in sorted({point.workers for point in points} - {1}):
        lines.append(f"the same figures with {workers} workers per server (not judged):")
        lines += _against_bare(points, workers, judged=False)
    return lines


def _against_bare(points: list[Point], workers: int, judged: bool) -> list[str]:
    at = {(p.target, p.clients): p for p in points if p.workers == workers and not p.note}
    bare = at.get((BARE, AIM_CLIENTS))
    return [
        f"  {target}: {_busy(at.get((target, AIM_CLIENTS)), bare, judged)}; "
        f"{_alone(at.get((target, ALONE_CLIENTS)), judged)}"
        for target in (SCORE, RISK)
    ]


def _verdict(met: bool, judged: bool) -> str:
    if not judged:
        return ""
    return ": met" if met else ": missed"


def _busy(ours: Point | None, bare: Point | None, judged: bool) -> str:
    """Throughput beside the bare endpoint's, and p99, at AIM_CLIENTS clients."""
    if ours is None:
        return f"not measured at {AIM_CLIENTS} clients"
    share = f"{ours.rps:,.1f} req/s"
    if bare is None or bare.rps == 0:
        share += " (no bare figure to compare)"
    else:
        ratio = ours.rps / bare.rps
        share += f" = {ratio:.1%} of bare ({bare.rps:,.1f}){_verdict(ratio >= AIM_SHARE, judged)}"
    p99 = f"p99 {ours.p99_ms:,.1f} ms{_verdict(ours.p99_ms <= AIM_P99_MS, judged)}"
    return f"at {AIM_CLIENTS} clients {share}, {p99}"


def _alone(ours: Point | None, judged: bool) -> str:
    if ours is None:
        return f"not measured at {ALONE_CLIENTS} client"
    met = ours.p50_ms <= AIM_P50_MS
    return f"at {ALONE_CLIENTS} client p50 {ours.p50_ms:,.1f} ms{_verdict(met, judged)}"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="uvicorn workers per server: every target with each (default: 1 2)",
    )
    parser.add_argument(
        "--seconds",
        type=int,
        default=int(os.environ.get("BENCH_SECONDS", "10")),
        help="per point (default: $BENCH_SECONDS, else 10)",
    )
    args = parser.parse_args()
    if min(args.workers) < 1 or min(args.clients) < 1:
        parser.error("--workers and --clients take numbers of 1 or more")
    return args


def main() -> None:
    args = arguments()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (make bench-serving does)")
    began, load_before = time.perf_counter(), os.getloadavg()[0]
    run = setup(args.children)
    score = score_body(run.data, run.as_of, run.queue)
    code = code_version()  # what riskflag serve is about to import
    servers = [
        riskflag_server(run, score.body),
        mlflow_server(run, score.child_id),
        bare_server(score.child_id, run.as_of),
    ]
    points = [
        point
        for workers in args.workers
        for server in servers
        for point in measured(server, workers, args.clients, args.seconds)
    ]
    today = date.today().isoformat()
    lines = [
        *notes(args, run, score, code, load_before),
        "",
        HEADER,
        *(point.row() for point in points),
        disturbance(points),
        *errors(points),
        "",
        *aims(points),
    ]
    text = "\n".join(lines)
    print(f"\n{text}")
    out = ROOT / "docs" / f"bench-serving-{today}.txt"
    out.write_text(text + "\n", encoding="utf-8")
    minutes = (time.perf_counter() - began) / 60
    print(f"\nwritten to {out.relative_to(ROOT)}; the whole run took {minutes:.1f} minutes")


def notes(
    args: argparse.Namespace, run: Setup, score: ScoreBody, code: str, load_before: float
) -> list[str]:
    """What the table measured, above it."""
    workers = " then ".join(str(n) for n in args.workers)
    several = [MLFLOW_NAGLE] if max(args.workers) > 1 else []
    return [
        f"make bench-serving, {date.today().isoformat()}, this machine ({os.cpu_count()} "
        "cores shared by wrk and the server under test; load average "
        f"{load_before:.2f} before the run)",
        code,
        f"{args.children:,} synthetic children (seed 11), scorecard version {run.version} as "
        f"champion; {run.batch}",
        f"POST /v1/score: child {score.child_id}'s own history ({score.events} events, the "
        f"queue's median), as of {run.as_of}",
        f"GET /v1/children/{{id}}/risk: rotating over the queue's {len(run.queue):,} children "
        "(the store's history, siblings included)",
        "both with explanations (10 factors and the records behind each); mlflow: the same "
        "child's feature row, predictions only",
        f"each point: wrk -c clients -t min(clients, 2) --latency --timeout {WRK_TIMEOUT}, "
        f"{args.seconds} s on an idle server after a {WARM_UP_SECONDS} s warm-up",
        f"uvicorn workers per server: {workers} (every server started once with each, the "
        "three in turn)",
        *several,
    ]


if __name__ == "__main__":
    main()
