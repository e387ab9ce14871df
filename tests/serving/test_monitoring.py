"""Monitoring in the service (issue 22, points 1 and 3): every batch is written with its
checks, judged by the monitoring policy; the served data's batch raises nothing; a
doubled source and a shifted feature planted in the store are each named on the next
batch, by the API and on the queue; and the checks hold no child's data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from tests.serving.conftest import Api, Trained, password_of, served
from tests.serving.test_pages import _browser, _sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]
DAY = date(2025, 12, 1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, trained: Trained
) -> Iterator[Api]:
    yield from served(request.param, tmp_path_factory, trained)


def _monitoring(api: Api, user: str = "analyst", **params: Any) -> dict[str, Any]:
    response = api.client.get("/v1/monitoring", params=params, headers=api.headers(user))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _batch(api: Api) -> int:
    done = api.client.post(
        "/v1/admin/batches", json={"as_of": DAY.isoformat()}, headers=api.headers("admin")
    )
    assert done.status_code in (200, 201), done.text
    return int(done.json()["id"])


def _problems(found: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c["kind"], c["subject"], c["problem"]) for c in found["problems"]}


def test_the_served_batch_is_checked_and_raises_nothing(api: Api) -> None:
    found = _monitoring(api)
    kinds = {c["kind"] for c in found["checks"]}
    assert kinds >= {"volume", "late", "missing", "linkage", "scores", "drift"}
    assert found["problems"] == []
    assert len(found["policy_sha256"]) == 64
    assert found["batches"][0]["batch_id"] == found["batch_id"]
    assert found["batches"][0]["problems"] == 0
    # drift is judged feature by feature, the largest PSI first
    drift = [c["value"] for c in found["checks"] if c["kind"] == "drift"]
    assert len(drift) > 50
    assert drift == sorted(drift, reverse=True)


def _copies(api: Api, prefix: str, times: int, where: str) -> list[dict[str, Any]]:
    """Copies of the records ``where`` selects, recorded in the week before DAY."""
    from serving.store.tables import EVENTS

    with api.engine.connect() as connection:
        rows = connection.execute(select(EVENTS).where(text(where))).mappings().all()
    moment = datetime(DAY.year, DAY.month, DAY.day) - timedelta(days=3)
    return [
        {**row, "event_id": f"{prefix}{i}-{row['event_id']}", "occurred_at": moment,
         "recorded_at": moment, "source": None, "source_record_id": None}
        for i in range(times) for row in rows
    ]  # fmt: skip


def _add(api: Api, rows: list[dict[str, Any]]) -> None:
    from serving.store.tables import EVENTS

    with api.engine.begin() as connection:
        connection.execute(insert(EVENTS), rows)


def test_a_doubled_source_and_a_shifted_feature_are_named(api: Api) -> None:
    week = f"recorded_at >= '{DAY - timedelta(days=7)}' AND recorded_at < '{DAY}'"
    _add(api, _copies(api, "again", 2, f"event_type LIKE 'health.%' AND {week}"))
    batch = _batch(api)
    found = _monitoring(api)
    assert found["batch_id"] == batch
    assert ("volume", "health", "doubled") in _problems(found)
    assert found["batches"][0]["problems"] == len(found["problems"]) >= 1
    # every child in the population gets three more concern reports: the features of
    # reports shift against the training population
    _add(api, _copies_for_everyone(api))
    _batch(api)
    shifted = {c["subject"] for c in _monitoring(api)["problems"] if c["kind"] == "drift"}
    assert any(name.startswith("report_concern") for name in shifted), shifted
    # the earlier batch keeps what it was judged
    assert ("volume", "health", "doubled") in _problems(_monitoring(api, batch_id=batch))


def _copies_for_everyone(api: Api) -> list[dict[str, Any]]:
    with api.engine.connect() as connection:
        children = connection.execute(text("SELECT child_id FROM children")).scalars().all()
    moment = datetime(DAY.year, DAY.month, DAY.day) - timedelta(days=20)
    return [
        {"event_id": f"planted-{i}-{child}", "child_id": child, "event_type": "report.concern",
         "occurred_at": moment, "recorded_at": moment, "severity": 2, "amount": None,
         "detail": "school", "source": None, "source_record_id": None}
        for child in children for i in range(3)
    ]  # fmt: skip


def test_the_queue_warns_of_a_batch_with_problems(api: Api) -> None:
    if not _monitoring(api)["problems"]:  # run alone: plant a doubled source here
        week = f"recorded_at >= '{DAY - timedelta(days=7)}' AND recorded_at < '{DAY}'"
        _add(api, _copies(api, "queue", 2, f"event_type LIKE 'health.%' AND {week}"))
        _batch(api)
    assert _monitoring(api)["problems"]
    client = _browser(api)
    assert _sign_in(client, "sup", password_of("sup")) == 303
    page = client.get("/queue")
    assert page.status_code == 200
    assert "monitoring check" in page.text  # one check or several
    assert 'href="/monitoring"' in page.text


def test_the_monitoring_page_charts_the_batches_and_names_the_broken_checks(api: Api) -> None:
    """Supervisors, analysts and admins (an admin's home) read a batch's checks and the
    charts over time; a broken check is named on the page; another batch is chosen by
    its id; a caseworker is refused, and an unknown batch is a page of its own."""
    if not _monitoring(api)["problems"]:  # run alone: plant a doubled source here
        week = f"recorded_at >= '{DAY - timedelta(days=7)}' AND recorded_at < '{DAY}'"
        _add(api, _copies(api, "page", 2, f"event_type LIKE 'health.%' AND {week}"))
        _batch(api)
    found = _monitoring(api)
    admin = _browser(api)
    assert _sign_in(admin, "admin", password_of("admin")) == 303
    assert admin.get("/", follow_redirects=False).headers["location"] == "/monitoring"
    before = _monitoring_reads(api)
    page = admin.get("/monitoring")
    assert page.status_code == 200
    assert _monitoring_reads(api) == before + 1  # one page, one audit record
    assert f"Batch {found['batch_id']} broke" in page.text
    assert page.text.count("<svg viewBox") >= 5  # problems, sources, scores, drift, flags
    assert 'id="definitions"' in page.text
    earliest = found["batches"][-1]["batch_id"]
    chosen = admin.get("/monitoring", params={"batch_id": earliest})
    assert f"Batch {earliest}" in chosen.text
    assert admin.get("/monitoring", params={"batch_id": 999_999}).status_code == 404
    caseworker = _browser(api)
    assert _sign_in(caseworker, "cw", password_of("cw")) == 303
    assert caseworker.get("/monitoring").status_code == 403


def _monitoring_reads(api: Api) -> int:
    with api.engine.connect() as connection:
        query = "SELECT COUNT(*) FROM audit WHERE action = 'read_monitoring'"
        found: int = connection.execute(text(query)).scalar_one()
    return found


def test_the_checks_hold_no_child_id(api: Api) -> None:
    with api.engine.connect() as connection:
        children = set(connection.execute(text("SELECT child_id FROM children")).scalars())
    found = _monitoring(api, "admin")
    subjects = {c["subject"] for c in found["checks"]}
    assert not subjects & children


def test_no_such_batch(api: Api) -> None:
    response = api.client.get(
        "/v1/monitoring", params={"batch_id": 999_999}, headers=api.headers("analyst")
    )
    assert response.status_code == 404


def test_a_matured_batch_says_how_its_scores_turned_out(api: Api) -> None:
    done = api.client.post(
        "/v1/admin/batches", json={"as_of": "2025-03-01"}, headers=api.headers("admin")
    )
    assert done.status_code == 201, done.text
    matured = int(done.json()["id"])
    # written after its horizon had passed, the batch is judged at once, and kept
    assert matured in done.json()["outcomes_judged"]
    response = api.client.get(
        "/v1/monitoring/outcomes", params={"batch_id": matured}, headers=api.headers("analyst")
    )
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["n"] == sum(row["n"] for row in found["by_score"])
    assert 0.5 < found["roc_auc"] <= 1
    districts = [g for g in found["groups"] if g["attribute"] == "district"]
    assert sum(g["n"] for g in districts) == found["n"]
    assert all(g["small"] == (g["n"] < 100 or g["positives"] < 10) for g in found["groups"])
    assert found["judged_at"] is not None
    kept = _kept(api, matured)
    assert {k: found[k] for k in ("n", "positives", "roc_auc", "flagged")} == {
        k: kept[k] for k in ("n", "positives", "roc_auc", "flagged")
    }
    again = api.client.post(
        "/v1/admin/batches", json={"as_of": DAY.isoformat()}, headers=api.headers("admin")
    )
    assert matured not in again.json()["outcomes_judged"]  # judged once, kept
    recent = _monitoring(api)["batches"][-1]["batch_id"]  # the fixture's, on 2025-12-01
    early = api.client.get(
        "/v1/monitoring/outcomes", params={"batch_id": recent}, headers=api.headers("analyst")
    )
    assert (early.status_code, early.json()["error"]) == (409, "not_matured")
    refused = api.client.get(
        "/v1/monitoring/outcomes", params={"batch_id": matured}, headers=api.headers("cw")
    )
    assert refused.status_code == 403


def _kept(api: Api, batch: int) -> dict[str, Any]:
    """The outcome report kept for ``batch``, as stored (migration 0012)."""
    import json

    with api.engine.connect() as connection:
        report = connection.execute(
            text("SELECT report FROM batch_outcomes WHERE batch_id = :b"), {"b": batch}
        ).scalar_one()
    found: dict[str, Any] = json.loads(report)
    return found


def test_the_service_judges_batches_by_its_own_monitoring_policy(
    tmp_path_factory: pytest.TempPathFactory, trained: Trained
) -> None:
    """RISKFLAG_MONITORING_POLICY: an agency's thresholds judge its batches, and each
    check records that policy's digest; a policy with a misspelt key stops the command
    that would use it, naming the key."""
    from typer.testing import CliRunner

    from models.monitoring import load_monitoring_policy
    from serving.cli import app

    folder = tmp_path_factory.mktemp("strict")
    strict = folder / "monitoring.toml"
    strict.write_text("[drift]\nfeature_psi = 0.000001\nnotice_psi = 0.0000005\n", "utf-8")
    for made in served("sqlite", tmp_path_factory, trained, monitoring_policy=strict):
        _batch(made)
        found = _monitoring(made)
        assert found["policy_sha256"] == load_monitoring_policy(strict).digest()
        shifted = [c for c in found["problems"] if c["kind"] == "drift"]
        assert shifted, "no feature judged shifted under a threshold of one in a million"
        wrong = folder / "wrong.toml"
        wrong.write_text("[drift]\nfeature_pis = 0.3\n", "utf-8")
        done = CliRunner().invoke(
            app,
            ["queue", "build", "--url", made.url, "--tracking-uri", trained.tracking_uri,
             "--monitoring", str(wrong)],
        )  # fmt: skip
        assert done.exit_code != 0
        assert "feature_pis" in done.output
