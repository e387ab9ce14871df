"""D1: over-long and NUL strings at every edge answer 422 naming the field, on SQLite and
PostgreSQL, before any statement sees them: nothing is written, nothing reaches the log,
and a database error never carries its parameters."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from serving.cli import app as cli
from serving.store import make_engine
from tests.serving.attacks.common import (
    BAD_IDS,
    LONG_ID,
    NUL_ID,
    audit_since,
    browser,
    child_of,
    csrf_of,
    last_audit_id,
    server_log,
    sign_in,
)
from tests.serving.conftest import OTHER, OWN, Api
from tests.serving.test_api import score_body

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attacks")]


def _fields(response: object) -> list[str]:
    return [p["field"] for p in response.json()["problems"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", BAD_IDS, ids=["long", "nul", "tab", "newline"])
def test_a_bad_child_id_in_any_path_is_422_and_writes_nothing(
    api: Api, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = last_audit_id(api)
    child = quote(bad, safe="")
    for method, route in (
        ("GET", f"/v1/children/{child}/risk"),
        ("GET", f"/v1/children/{child}/history"),
        ("GET", f"/v1/children/{child}/decisions"),
        ("POST", f"/v1/children/{child}/decisions"),
    ):
        body = {"action": "home_visit", "agrees": True} if method == "POST" else None
        response = api.client.request(method, route, json=body, headers=api.headers("cw"))
        assert response.status_code == 422, (route, response.text)
        assert "path.child_id" in _fields(response)
    assert audit_since(api, before) == []
    assert bad not in server_log(caplog)


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("child_id", "C" * 100),
        ("child_id", NUL_ID),
        ("district", "Chao\x00yang"),
        ("district", "D" * 65),
        ("household_id", "H\x00"),
    ],
)
@pytest.mark.parametrize("district", [OWN, OTHER])
def test_a_bad_posted_child_is_422_naming_the_field(
    api: Api, where: str, value: str, district: str
) -> None:
    """Also for a child of another district, whose refusal used to fail in its own audit."""
    body = score_body(api, child_of(api, OWN))
    body["child"]["district"] = district
    body["child"][where] = value
    before = last_audit_id(api)
    response = api.client.post("/v1/score", json=body, headers=api.headers("cw"))
    assert response.status_code == 422, response.text
    assert f"body.child.{where}" in _fields(response)
    assert audit_since(api, before) == []


def test_bad_event_fields_query_filters_and_notes_are_422(api: Api) -> None:
    cw, admin, sup = api.headers("cw"), api.headers("admin"), api.headers("sup")
    body = score_body(api, child_of(api, OWN))
    body["events"][0]["detail"] = "x\x00"
    answered = api.client.post("/v1/score", json=body, headers=cw)
    assert "body.events[0].detail" in _fields(answered)
    child = child_of(api, OWN)
    note = api.client.post(
        f"/v1/children/{child}/decisions",
        json={"action": "home_visit", "agrees": True, "note": "a\x00b"},
        headers=cw,
    )
    assert "body.note" in _fields(note)
    for route, headers, field in (
        (f"/v1/flags?district={quote(NUL_ID)}", cw, "query.district"),
        (f"/v1/flags?district={LONG_ID}", cw, "query.district"),
        (f"/v1/decisions?district={quote(NUL_ID)}", sup, "query.district"),
        (f"/v1/audit?child_id={quote(NUL_ID)}", admin, "query.child_id"),
        (f"/v1/audit?user={LONG_ID}", admin, "query.user"),
        ("/v1/flags?cursor=" + quote("a\x00"), cw, "query.cursor"),
    ):
        response = api.client.get(route, headers=headers)
        assert response.status_code == 422, (route, response.text)
        assert field in _fields(response), route
    for name in (quote("a\x00b"), "n" * 65, "-dash-first"):
        response = api.client.post(f"/v1/admin/users/{name}/revoke", headers=admin)
        assert response.status_code == 422, name
        assert "path.name" in _fields(response)
    added = api.client.post(
        "/v1/admin/users",
        json={"name": "ok.name", "role": "caseworker", "districts": ["Chao\x00yang"]},
        headers=admin,
    )
    assert "body.districts[0]" in _fields(added)


def test_the_pages_refuse_bad_values_with_a_page(api: Api) -> None:
    page = browser(api)
    assert sign_in(page, "cw").status_code == 303
    for route in (f"/children/{quote(NUL_ID)}", f"/children/{LONG_ID}", "/queue?district=a%00"):
        response = page.get(route)
        assert response.status_code == 422, route
        assert "text/html" in response.headers["content-type"]
    child = child_of(api, OWN)
    form = page.get(f"/children/{child}")
    posted = page.post(
        f"/children/{child}/decisions",
        data={"csrf": csrf_of(form.text), "action": "home_visit", "agrees": "yes", "note": "\x00"},
        follow_redirects=False,
    )
    assert posted.status_code == 422
    named = page.post("/login", data={"name": "a\x00", "password": "x", "csrf": "x"})
    assert named.status_code == 422


def test_a_failing_statement_never_carries_its_parameters(url: str) -> None:
    engine = make_engine(url)
    secret = "BJ-CHILD-4711"
    with pytest.raises(DBAPIError) as raised, engine.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table WHERE x = :x"), {"x": secret})
    assert secret not in str(raised.value)
    assert "hidden" in str(raised.value)  # SQLAlchemy's words for hidden parameters


def test_an_unexpected_error_is_contained_and_logged_by_its_type_only(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from serving.store import children

    child = child_of(api, OWN)

    def failing(*_: object) -> None:
        raise ValueError(f"the history of {child} could not be read")

    monkeypatch.setattr(children, "history", failing)
    caplog.set_level(logging.DEBUG)
    response = api.client.get(f"/v1/children/{child}/history", headers=api.headers("cw"))
    assert response.status_code == 500
    assert response.json()["error"] == "internal"
    logged = server_log(caplog)
    assert "unhandled ValueError" in logged
    assert child not in logged
    assert "Traceback" not in logged


def test_a_command_names_a_bad_user_name(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert CliRunner().invoke(cli, ["db", "migrate", "--url", store]).exit_code == 0
    done = CliRunner().invoke(cli, ["users", "add", "n" * 65, "--role", "analyst", "--url", store])
    assert done.exit_code != 0
    assert "user name" in done.output + (done.stderr or "")
