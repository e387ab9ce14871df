"""The decision form as caseworkers found it wanting: no choice made for them, a refused
form that keeps what was typed and names the field, "saved", one row for the same
decision sent twice (pages and API), times in Beijing time; and attacked."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from serving.i18n import Formats
from serving.store.tables import DECISIONS, AuditRecord
from tests.serving.conftest import Api, password_of
from tests.serving.test_pages import _browser, _csrf, _sign_in
from tests.serving.test_provenance import _scored_child

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]
NOTE = "家访时孩子不在家 — the grandmother says she is at school"


@pytest.fixture(scope="module")
def caseworker(api: Api) -> TestClient:
    client = _browser(api)
    assert _sign_in(client, "cw", password_of("cw")) == 303
    return client


def _count(api: Api, child: str) -> int:
    with api.engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).where(DECISIONS.c.child_id == child)
            ).scalar_one()
        )


def _post(client: TestClient, child: str, **fields: str) -> Any:
    page = client.get(f"/children/{child}").text
    data = {"csrf": _csrf(page), **fields}
    return client.post(f"/children/{child}/decisions", data=data, follow_redirects=False)


def test_no_agreement_is_chosen_for_the_caseworker(api: Api, caseworker: TestClient) -> None:
    html = caseworker.get(f"/children/{_scored_child(api)}").text
    radios = re.findall(r'<input type="radio"[^>]*name="agrees"[^>]*>', html)
    assert len(radios) == 2
    assert not any("checked" in radio for radio in radios)
    answer = _post(caseworker, _scored_child(api), action="home_visit", note="x")
    assert answer.status_code == 400
    assert "Say whether you agree with the flag or override it." in answer.text


def test_a_refused_form_keeps_the_note_and_names_the_field(
    api: Api, caseworker: TestClient
) -> None:
    child = _scored_child(api)
    before = _count(api, child)
    answer = _post(caseworker, child, action="no_action", agrees="no", note=NOTE)
    assert answer.status_code == 400
    assert f">{NOTE.replace('—', '—')}</textarea>" in answer.text  # the note kept
    assert 'href="#reason_code"' in answer.text  # the error linked to its field
    assert re.search(r'<select id="reason_code"[^>]*aria-invalid="true"', answer.text)
    assert 'value="no" checked' in answer.text  # the choice kept
    assert 'value="no_action" selected' in answer.text
    assert _count(api, child) == before


def test_a_saved_decision_says_so_and_a_second_send_stores_nothing(
    api: Api, caseworker: TestClient
) -> None:
    child = _scored_child(api)
    before = _count(api, child)
    fields = {"action": "referral_to_services", "agrees": "yes", "note": "saved test"}
    first = _post(caseworker, child, **fields)
    assert first.status_code == 303
    assert re.search(r"\?saved=\d+#decisions$", first.headers["location"])
    shown = caseworker.get(first.headers["location"].split("#")[0]).text
    assert "Decision saved at" in shown
    again = _post(caseworker, child, **fields)
    assert again.status_code == 409
    assert "already recorded this same decision" in again.text
    assert _count(api, child) == before + 1
    with api.engine.connect() as connection:
        repeated = connection.execute(
            select(func.count()).where(
                AuditRecord.__table__.c.outcome == "repeated",
                AuditRecord.__table__.c.child_id == child,
            )
        ).scalar_one()
    assert repeated >= 1


def test_the_api_refuses_the_same_decision_twice(api: Api) -> None:
    child = _scored_child(api)
    body = {"action": "home_visit", "agrees": False, "reason_code": "other", "note": "api"}
    url, headers = f"/v1/children/{child}/decisions", api.headers("cw")
    assert api.client.post(url, json=body, headers=headers).status_code == 201
    before = _count(api, child)
    repeated = api.client.post(url, json=body, headers=headers)
    assert repeated.status_code == 409
    assert repeated.json()["error"] == "conflict"
    assert _count(api, child) == before
    changed = api.client.post(url, json={**body, "note": "api, changed"}, headers=headers)
    assert changed.status_code == 201


def test_a_forged_saved_id_is_ignored(api: Api, caseworker: TestClient) -> None:
    child = _scored_child(api)
    for forged in ("1", "999999", "-1", "abc", "1.5"):
        answer = caseworker.get(f"/children/{child}?saved={forged}")
        assert answer.status_code == 200, forged  # ignored, never an error page
        html = answer.text
        if "Decision saved at" in html:  # only a decision of this child may be said saved
            with api.engine.connect() as connection:
                owner = connection.execute(
                    select(DECISIONS.c.child_id).where(DECISIONS.c.id == int(forged))
                ).scalar_one()
            assert owner == child


def test_times_are_shown_in_the_deployment_s_zone() -> None:
    instant = datetime(2025, 12, 3, 19, 53, tzinfo=UTC)
    assert Formats("en", "Asia/Shanghai").moment(instant) == "12/4/25, 3:53\u202fAM"
    assert "03:53" in Formats("zh-CN", "Asia/Shanghai").moment(instant.replace(tzinfo=None))


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "home_visit", "agrees": "yes", "note": "a\x00b"},
        {"action": "home_visit", "agrees": "yes", "note": "x" * 10_000},
        {"action": "home_visit", "agrees": "no", "reason_code": "not_a_reason"},
        {"action": "burn_the_file", "agrees": "yes"},
        {"action": "home_visit", "agrees": "maybe"},
    ],
    ids=["nul", "long", "reason", "action", "agrees"],
)
def test_bad_forms_are_refused_and_store_nothing(
    api: Api, caseworker: TestClient, fields: dict[str, str]
) -> None:
    child = _scored_child(api)
    before = _count(api, child)
    answer = _post(caseworker, child, **fields)
    assert answer.status_code in (400, 422), answer.status_code
    assert _count(api, child) == before


def test_a_form_without_its_csrf_token_stores_nothing(api: Api, caseworker: TestClient) -> None:
    child = _scored_child(api)
    before = _count(api, child)
    answer = caseworker.post(
        f"/children/{child}/decisions",
        data={"action": "home_visit", "agrees": "yes", "note": "no token"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert _count(api, child) == before
