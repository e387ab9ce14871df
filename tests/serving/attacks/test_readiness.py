"""D4: /readyz opens the store as a request does. With the store gone (the SQLite file
removed, the PostgreSQL database dropped) it answers 503, although the pool still holds
connections that work."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.serving.conftest import POSTGRES, Trained, prepare

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attacks")]


def _ready(client: TestClient) -> tuple[int, str]:
    response = client.get("/readyz")
    return response.status_code, response.json()["checks"]["database"]


def test_a_removed_sqlite_store_is_not_ready(tmp_path: Path, trained: Trained) -> None:
    store = tmp_path / "store.db"
    prepared = prepare(f"sqlite:///{store}", trained)
    with TestClient(prepared.app) as client:
        assert _ready(client) == (200, "ok")
        for path in tmp_path.glob("store.db*"):
            os.remove(path)
        status, database = _ready(client)
        assert status == 503
        assert database.startswith("unavailable")
        assert not store.exists()  # the probe never creates an empty store
    prepared.engine.dispose()


def test_a_dropped_postgresql_store_is_not_ready(trained: Trained) -> None:
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"riskflag_ready_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: the other store's test still runs
        pytest.skip(f"PostgreSQL does not answer ({type(exc).__name__})")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    prepared = prepare(url, trained)
    try:
        with TestClient(prepared.app) as client:
            assert _ready(client) == (200, "ok")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            status, database = _ready(client)
            assert status == 503
            assert database.startswith("unavailable")
            flags = client.get("/v1/flags", headers={"Authorization": "Bearer x"})
            assert flags.status_code == 503  # the store cannot be used: not a 500
    finally:
        prepared.engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
