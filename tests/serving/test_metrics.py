"""Operators' metrics (issue 22, point 4): ``GET /metrics`` in Prometheus' text format,
for Prometheus' own bearer token only (no setting: no metrics), counting requests by
route template; and, after a session that calls every route of the service with a real
child's id wherever a route takes one, holding no child's id, event id or name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from serving.hashing import digest
from tests.serving.conftest import Api, Trained, served
from tests.serving.test_identity_absent import _routes

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]
TOKEN = "prometheus-scrape-token-of-the-tests-0123456789"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, trained: Trained) -> Iterator[Api]:
    yield from served("sqlite", tmp_path_factory, trained, metrics_token_sha256=digest(TOKEN))


def _scrape(api: Api, token: str = TOKEN) -> Any:
    return api.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})


def _value(body: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` (labels in any order; others allowed)."""
    for line in body.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{labels}")


def test_prometheus_reads_requests_the_model_and_the_batch(api: Api) -> None:
    for _ in range(3):
        assert api.client.get("/healthz").status_code == 200
    answer = _scrape(api)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    body = answer.text
    assert _value(body, "riskflag_http_requests_total", route="/healthz", status="200") >= 3
    assert _value(body, "riskflag_http_request_duration_seconds_count", route="/healthz") >= 3
    assert _value(body, "riskflag_model_loaded") == 1
    assert _value(body, "riskflag_model_info", version="1") == 1
    assert _value(body, "riskflag_batch_age_seconds") >= 0
    assert _value(body, "riskflag_batch_checks", kind="drift") > 50
    assert _value(body, "riskflag_batch_check_problems", kind="volume") == 0
    assert _value(body, "riskflag_scores_psi") < 0.25


def test_no_client_grows_the_labels(api: Api) -> None:
    for i in range(5):
        api.client.request(f"INVENTED{i}", "/healthz")
    body = _scrape(api).text
    assert "INVENTED" not in body
    assert _value(body, "riskflag_http_requests_total", method="OTHER") >= 1


def test_a_wrong_token_is_refused_and_audited(api: Api) -> None:
    for token in ("wrong", api.tokens["admin"]):  # a user's token does not open it either
        assert _scrape(api, token).status_code == 401
    assert api.client.get("/metrics").status_code == 401
    with api.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT user_name, action, outcome FROM audit ORDER BY id DESC LIMIT 3")
        ).all()
    assert [tuple(r) for r in rows] == [("(anonymous)", "authenticate", "denied")] * 3


def test_no_setting_no_metrics(tmp_path_factory: pytest.TempPathFactory, trained: Trained) -> None:
    for made in served("sqlite", tmp_path_factory, trained):
        assert _scrape(made).status_code == 404


def test_after_a_session_of_every_route_the_metrics_hold_no_child_id(api: Api) -> None:
    with api.engine.connect() as connection:
        children = set(connection.execute(text("SELECT child_id FROM children")).scalars())
        events = connection.execute(text("SELECT event_id FROM events LIMIT 50")).scalars()
        names = connection.execute(text("SELECT name FROM identities LIMIT 50")).scalars()
        secrets = {*events, *(n for n in names if n)}
    child = min(children)
    called = _every_route(api, child)
    assert called > 40
    body = _scrape(api).text
    assert 'route="/v1/children/{child_id}' in body  # counted by template
    leaked = {value for value in children | secrets if value in body}
    assert not leaked, sorted(leaked)[:5]


def _every_route(api: Api, child: str) -> int:
    """Call every route of the app, each method, as a supervisor (a real child's id in
    every path parameter); returns how many calls were made."""
    headers = api.headers("sup")
    calls = 0
    for route in _routes(api.client.app.routes):
        if route.path == "/metrics":
            continue
        path = re.sub(r"\{[^}]+\}", child, route.path)
        for method in sorted(route.methods or {"GET"}):
            api.client.request(method, path, headers=headers, params={"child_id": child})
            calls += 1
    return calls
