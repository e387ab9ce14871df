"""Overrides for review and the model with workers (issue 21, points 5c and 6): counts by
reason, district, score band and model version; the overrides on the highest scores; the
model's flag rate beside the caseworkers' action rate per group; small cells suppressed;
supervisors see their districts only; no child id anywhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.serving.conftest import OTHER, OWN, Api, Trained, password_of, served
from tests.serving.test_pages import _browser, _sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, trained: Trained) -> Iterator[Api]:
    """A store where the caseworker of OWN decided about every flagged child of the
    batch: overriding the first twelve (the highest scores) as already served, agreeing
    with the rest by a home visit."""
    for made in served("sqlite", tmp_path_factory, trained):
        flags = made.client.get(
            "/v1/flags", params={"limit": 100}, headers=made.headers("cw")
        ).json()["items"]
        for index, item in enumerate(flags):
            body = (
                {"action": "no_action", "agrees": False, "reason_code": "already_served"}
                if index < 12
                else {"action": "home_visit", "agrees": True}
            )
            done = made.client.post(
                f"/v1/children/{item['child_id']}/decisions", json=body, headers=made.headers("cw")
            )
            assert done.status_code == 201, done.text
        yield made


def test_the_report_counts_overrides_and_lists_the_strongest_disagreements(api: Api) -> None:
    report = api.client.get("/v1/overrides", headers=api.headers("analyst"))
    assert report.status_code == 200, report.text
    found = report.json()
    flagged = len(
        api.client.get("/v1/flags", params={"limit": 100}, headers=api.headers("cw")).json()[
            "items"
        ]
    )
    assert (found["decisions"], found["overrides"]) == (flagged, 12)
    assert found["by_reason"] == [{"key": "already_served", "overrides": 12}]
    disagreements = found["disagreements"]
    assert len(disagreements) == 12
    scores = [d["score_1_20"] for d in disagreements]
    assert scores == sorted(scores, reverse=True)
    assert "child_id" not in report.text  # the pattern, never the child
    district = {t["key"]: t for t in found["by_district"]}[OWN]
    assert district["decisions"] == flagged
    assert district["override_rate"] == pytest.approx(12 / flagged)


def test_the_model_with_workers_sets_action_rates_beside_flag_rates(api: Api) -> None:
    found = api.client.get("/v1/overrides", headers=api.headers("analyst")).json()
    groups = {(g["attribute"], g["group"]): g for g in found["with_workers"]["groups"]}
    own = groups[("district", OWN)]
    assert own["flag_rate"] is not None
    assert own["action_rate"] is not None
    assert own["action_rate"] < own["flag_rate"]  # twelve flags were overridden
    other = groups[("district", OTHER)]
    assert other["action_rate"] == 0.0  # no decision there yet
    for group in groups.values():
        assert group["children"] is None or group["children"] >= found["suppressed_below"]


def test_a_supervisor_sees_only_their_districts(api: Api) -> None:
    theirs = api.client.get("/v1/overrides", headers=api.headers("sup_other")).json()
    assert theirs["districts"] == [OTHER]
    assert theirs["decisions"] == 0
    assert api.client.get("/v1/overrides", headers=api.headers("cw")).status_code == 403


def test_the_model_page_shows_the_report(api: Api) -> None:
    client = _browser(api)
    assert _sign_in(client, "sup", password_of("sup")) == 303
    html = client.get("/model").text
    assert "Where workers and the model disagree most" in html
    assert "Acted on by caseworkers" in html


def test_a_notebook_reads_the_report_with_a_token_as_the_api_does(api: Api) -> None:
    from serving.errors import ForbiddenError
    from serving.overrides import overrides_for_notebook

    from_api = api.client.get("/v1/overrides", headers=api.headers("analyst")).json()
    found = overrides_for_notebook(api.url, api.tokens["analyst"])
    assert (found["decisions"], found["overrides"]) == (
        from_api["decisions"],
        from_api["overrides"],
    )
    for token in ("not-a-token", api.tokens["cw"]):  # no token, and a caseworker's
        with pytest.raises(ForbiddenError):
            overrides_for_notebook(api.url, token)
    with api.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT user_name, action, outcome FROM audit WHERE client = 'notebook' ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("analyst", "read_aggregates", "allowed"),
        ("(anonymous)", "authenticate", "denied"),
        ("cw", "read_aggregates", "denied"),
    ]
