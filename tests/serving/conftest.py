"""Store fixtures: every store test runs on SQLite and on PostgreSQL (a database of its
own on the server of RISKFLAG_TEST_POSTGRES_URL, dropped afterwards)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

import features.config

POSTGRES = os.environ.get(
    "RISKFLAG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_database() -> Iterator[str]:
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"riskflag_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.skip(f"!!! PostgreSQL at {POSTGRES} does not answer: store tests skipped ({exc})")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def store_url(url: str) -> str:
    """``url`` at the latest schema (as `riskflag db migrate` leaves it): what every
    command and function but the migration itself expects of a store."""
    from serving.store import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


# ---- a trained champion and a served API (tests/serving/test_api*.py) -------------------

TRAINING = """
[dates]
train_dates = 4
calibration_dates = 2
test_dates = 2
[sampling]
max_train_rows = 5000
"""
OWN = "Chaoyang"
OTHER = "Haidian"
ROLE_USERS = {
    "cw": ("caseworker", [OWN]),
    "cw_other": ("caseworker", [OTHER]),
    "sup": ("supervisor", [OWN]),
    "sup_other": ("supervisor", [OTHER]),
    "analyst": ("analyst", []),
    "admin": ("admin", []),
    "records": ("records_officer", []),
    "records_other": ("records_officer", [OTHER]),
}


@dataclass(frozen=True)
class Trained:
    data: Path
    tracking_uri: str
    version: str


@dataclass
class Api:
    client: Any
    url: str
    trained: Trained
    tokens: dict[str, str]
    engine: Any

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Synthetic sources linked as the demo links them (``data``: the linked folder, with
    its links, identities and review pairs), and a scorecard champion trained on it in a
    SQLite MLflow store (once per worker)."""
    from features.synth import SynthConfig, generate
    from features.synth.sources import write_sources
    from serving.cli import app

    root = tmp_path_factory.mktemp("served-model")
    truth, sources, data = root / "truth", root / "sources", root / "data"
    generate(SynthConfig(children=2500, seed=23, workers=1), truth)
    write_sources(truth, sources, seed=23)
    runner = CliRunner()
    linked = runner.invoke(app, ["link", str(sources), "--out", str(data), "--truth", str(truth)])
    assert linked.exit_code == 0, linked.stderr
    return champion_of(data, root, "scorecard")


def champion_of(data: Path, root: Path, family: str, *options: str) -> Trained:
    """A ``family`` model trained on ``data`` with the tests' training settings (and
    ``options`` of `riskflag train`) in a SQLite MLflow store under ``root``, promoted."""
    from serving.cli import app

    runner = CliRunner()
    training = root / "training.toml"
    training.write_text(TRAINING, encoding="utf-8")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    done = runner.invoke(
        app,
        [
            *("train", "--data", str(data), "--model", family, *options),
            *("--training", str(training), "--tracking-uri", uri),
        ],
    )
    assert done.exit_code == 0, done.stderr
    version = str(json.loads(done.stdout.strip().splitlines()[-1])["version"])
    promoted = runner.invoke(
        app,
        [
            *("promote", version, "--tracking-uri", uri, "--by", "tests"),
            *("--force", "--reason", "test fixture"),
        ],
    )
    assert promoted.exit_code == 0, promoted.stderr
    return Trained(data, uri, version)


@pytest.fixture(scope="session")
def associating(tmp_path_factory: pytest.TempPathFactory, trained: Trained) -> Trained:
    """A logistic champion trained on ``trained``'s data with association features on
    (household control: tests/serving/test_household_control.py, the browser's flow)."""
    root = tmp_path_factory.mktemp("association-model")
    defaults = Path(features.config.__file__).parent / "default_policy.toml"
    policy = defaults.read_text(encoding="utf-8")
    (root / "policy.toml").write_text(
        policy.replace("association = false", "association = true"), encoding="utf-8"
    )
    return champion_of(trained.data, root, "logistic", "--policy", str(root / "policy.toml"))


def password_of(name: str) -> str:
    """The page password every prepared user gets."""
    return f"pw-{name}-2026-pages"


@dataclass(frozen=True)
class Prepared:
    """A store ready to serve, and the app over it (not started)."""

    engine: Any
    tokens: dict[str, str]
    app: Any


def prepare(url: str, trained: Trained, **settings_over: Any) -> Prepared:
    """A store at ``url`` loaded with the synthetic export; one user per role (and a
    caseworker and supervisor of another district), each with a token and the page password
    ``password_of(name)``; a batch scored on 2025-12-01; and the app for it, with
    ``settings`` over the tests' own."""
    from features.deployment import Deployment
    from models.flagging import load_flagging_policy
    from serving.app import create_app
    from serving.champion import Champion
    from serving.settings import Settings
    from serving.signin import set_password
    from serving.store import load_folder, make_engine, upgrade
    from serving.store.batch import write_batch
    from serving.users import add_user, issue_token

    engine = make_engine(url)
    upgrade(engine)
    load_folder(engine, trained.data, Deployment())
    tokens = {}
    for name, (role, districts) in ROLE_USERS.items():
        add_user(engine, name, role, districts)
        tokens[name] = issue_token(engine, name)
        set_password(engine, name, password_of(name))
    champion = Champion(trained.tracking_uri)
    assert champion.refresh(), champion.last_error
    write_batch(
        engine,
        champion.current(),
        load_flagging_policy(None),
        Deployment(),
        date(2025, 12, 1),
        "tests",
    )
    settings = Settings(
        **{
            "environment": "test",
            "database_url": url,
            "tracking_uri": trained.tracking_uri,
            "model_poll_seconds": 0,
            "max_body_bytes": 200_000,
            # every test client shares one address: tests of the throttle set their own
            "failures_per_client": 1_000_000,
            "failures_per_name": 1_000_000,
            **settings_over,
        }
    )
    return Prepared(engine, tokens, create_app(settings, champion))


def make_api(url: str, trained: Trained, **settings: Any) -> Iterator[Api]:
    """``prepare``'s app started under a TestClient."""
    from fastapi.testclient import TestClient

    prepared = prepare(url, trained, **settings)
    with TestClient(prepared.app) as client:
        yield Api(client, url, trained, prepared.tokens, prepared.engine)
    prepared.engine.dispose()


def served(
    store: str, tmp_path_factory: pytest.TempPathFactory, trained: Trained, **settings: Any
) -> Iterator[Api]:
    """``make_api`` on a new store of the kind ``store`` (sqlite or postgresql)."""
    if store == "sqlite":
        folder = tmp_path_factory.mktemp("api")
        yield from make_api(f"sqlite:///{folder / 'store.db'}", trained, **settings)
    else:
        for url in _postgres_database():
            yield from make_api(url, trained, **settings)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, trained: Trained
) -> Iterator[Api]:
    yield from served(request.param, tmp_path_factory, trained)
