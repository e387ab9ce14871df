"""`riskflag queue build`, `riskflag score` and `riskflag serve`, as a person or a script
runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from serving.cli import app
from serving.store import make_engine
from serving.store.tables import Batch, BatchScore
from tests.serving.conftest import Trained

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _riskflag(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`riskflag ARGS` in a process of its own, as a script runs it."""
    return subprocess.run(
        [sys.executable, "-m", "serving.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_queue_build_makes_a_batch(trained: Trained, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()
    build = ["queue", "build", "--url", url, "--tracking-uri", trained.tracking_uri]
    unmigrated = runner.invoke(app, build)
    assert unmigrated.exit_code == 2
    assert "riskflag db migrate" in unmigrated.stderr  # no command migrates by the way
    assert runner.invoke(app, ["db", "migrate", "--url", url]).exit_code == 0
    empty = runner.invoke(app, build)
    assert empty.exit_code == 2
    assert "riskflag db load" in empty.stderr
    assert runner.invoke(app, ["db", "load", str(trained.data), "--url", url]).exit_code == 0
    done = runner.invoke(app, [*build, "--by", "t"])
    assert done.exit_code == 0, done.stderr
    assert "batch 1: scored" in done.stdout
    engine = make_engine(url)
    with engine.connect() as connection:
        batch = connection.execute(select(Batch)).mappings().one()
        rows = connection.execute(select(func.count()).select_from(BatchScore)).scalar_one()
    assert batch["created_by"] == "t"
    assert batch["model_version"] == trained.version
    assert rows == batch["children"] > 0
    later = runner.invoke(app, [*build, "--as-of", "2999-01-01"])
    assert later.exit_code == 2
    assert "after the latest export" in later.stderr


def test_score_scores_a_folder_into_a_file_and_nothing_else(trained: Trained) -> None:
    runner = CliRunner()
    neither = runner.invoke(app, ["score"])
    assert neither.exit_code == 2
    assert "--data" in neither.stderr  # a folder into a file: the store is `queue build`'s
    store = runner.invoke(app, ["score", "--store"])
    assert store.exit_code == 2
    assert "--store" in store.stderr


def test_the_settings_name_the_store_for_every_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    env = {**os.environ, "RISKFLAG_DATABASE_URL": url}
    done = _riskflag(["db", "migrate"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "from-env.db").exists()
    assert not (tmp_path / "riskflag.db").exists()


def test_serve_refuses_insecure_settings_naming_them(tmp_path: Path) -> None:
    env = {**os.environ, "RISKFLAG_ENVIRONMENT": "production", "RISKFLAG_HOST": "0.0.0.0"}
    env.pop("RISKFLAG_DATABASE_URL", None)
    done = _riskflag(["serve"], env, tmp_path)
    assert done.returncode == 2
    assert "RISKFLAG_DATABASE_URL" in done.stderr
    assert "RISKFLAG_HOST" in done.stderr


def test_serve_answers_on_a_port(trained: Trained, tmp_path: Path) -> None:
    port = _free_port()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    env = {
        **os.environ,
        "RISKFLAG_DATABASE_URL": url,
        "RISKFLAG_TRACKING_URI": trained.tracking_uri,
        "RISKFLAG_MODEL_POLL_SECONDS": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "serving.cli", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ready = None
        for _ in range(240):
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert ready is not None, "the server did not answer"
        assert ready.status_code == 200
        assert ready.json()["checks"]["model"] == f"version {trained.version}"
        refused = httpx.get(f"http://127.0.0.1:{port}/v1/children/ANY/risk", timeout=5)
        assert refused.status_code == 401
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "GET /v1/children/{child_id}/risk 401" in output
    assert "ANY" not in output
