"""The supervisor's page and assignments (issue 20): an assignment stored, audited, the
latest winning; refused for a caseworker, for a child outside the supervisor's districts
and for an assignee who is not a caseworker of the child's district (each refusal
audited); the summary's counts equal counts made from the decisions table; the
children not yet reviewed exclude the decided; the page in both languages; and
attacked (forged child ids, NUL and 10,000-character notes, unknown user names)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from serving.store.tables import ASSIGNMENTS, DECISIONS
from serving.users import add_user, disable_user
from tests.serving.attacks.common import BAD_IDS, audit_since, csrf_of, last_audit_id, signed_in
from tests.serving.conftest import OTHER, OWN, Api

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]
SUMMARY = "/v1/supervision/decisions"


def _waiting(api: Api, user: str = "sup") -> list[str]:
    answer = api.client.get(SUMMARY, params={"limit": 1000}, headers=api.headers(user))
    assert answer.status_code == 200, answer.text
    waiting: list[str] = answer.json()["not_yet_reviewed"]
    return waiting


def _assign(api: Api, child: str, body: dict[str, Any], user: str = "sup") -> Any:
    where = f"/v1/children/{quote(child, safe='')}/assignment"
    return api.client.post(where, json=body, headers=api.headers(user))


def _rows(api: Api, child: str) -> list[tuple[str | None, str]]:
    with api.engine.connect() as connection:
        rows = connection.execute(
            select(ASSIGNMENTS.c.assignee, ASSIGNMENTS.c.note)
            .where(ASSIGNMENTS.c.child_id == child)
            .order_by(ASSIGNMENTS.c.id)
        ).all()
    return [(row.assignee, row.note) for row in rows]


def _assignee_now(api: Api, child: str) -> str | None:
    from serving.store.assignments import assignees

    with api.engine.connect() as connection:
        return assignees(connection, [child]).get(child)


def test_an_assignment_is_stored_audited_and_the_latest_wins(api: Api) -> None:
    child = _waiting(api)[0]
    before = last_audit_id(api)
    first = _assign(api, child, {"assignee": "cw", "note": "she knows the family"})
    assert first.status_code == 201, first.text
    assert first.json()["assignee"] == "cw"
    assert first.json()["assigned_by"] == "sup"
    assert first.json()["district"] == OWN
    assert _assignee_now(api, child) == "cw"
    assert _assign(api, child, {"assignee": "sup", "note": ""}).status_code == 201
    assert _assignee_now(api, child) == "sup"
    assert _assign(api, child, {"assignee": None}).status_code == 201
    assert _assignee_now(api, child) is None
    assert _rows(api, child)[-3:] == [("cw", "she knows the family"), ("sup", ""), (None, "")]
    audited = [
        (r["action"], r["outcome"], r["child_id"], r["user_name"])
        for r in audit_since(api, before)
        if r["action"] == "assign_child"
    ]
    assert audited == [("assign_child", "allowed", child, "sup")] * 3


@pytest.mark.parametrize(
    ("user", "district", "status"),
    [("cw", OWN, 403), ("analyst", OWN, 403), ("sup", OTHER, 404)],
)
def test_refused_for_a_caseworker_and_a_child_out_of_reach(
    api: Api, user: str, district: str, status: int
) -> None:
    child = _waiting(api, "sup" if district == OWN else "sup_other")[1]
    stored = _rows(api, child)
    before = last_audit_id(api)
    answer = _assign(api, child, {"assignee": "cw" if district == OWN else "cw_other"}, user)
    assert answer.status_code == status, answer.text
    assert _rows(api, child) == stored
    refusals = [r for r in audit_since(api, before) if r["outcome"] in ("denied", "not_found")]
    assert [r["action"] for r in refusals] == ["assign_child"]


def test_refused_for_an_assignee_who_is_not_a_caseworker_of_the_district(api: Api) -> None:
    add_user(api.engine, "cw.gone", "caseworker", [OWN])
    disable_user(api.engine, "cw.gone")
    child = _waiting(api)[2]
    stored = _rows(api, child)
    for assignee in (
        "cw_other",
        "sup_other",
        "analyst",
        "admin",
        "records",
        "cw.gone",
        "nobody.here",
        "x" * 64,
    ):
        before = last_audit_id(api)
        answer = _assign(api, child, {"assignee": assignee})
        assert answer.status_code == 422, (assignee, answer.text)
        assert answer.json()["problems"][0]["field"] == "body.assignee"
        assert assignee not in answer.text  # the value given is never repeated
        refusals = audit_since(api, before)
        assert [(r["action"], r["outcome"], r["child_id"]) for r in refusals] == [
            ("assign_child", "denied", child)
        ]
    assert _rows(api, child) == stored


def test_attacks_are_refused_and_store_nothing(api: Api) -> None:
    child = _waiting(api)[3]
    stored = _rows(api, child)
    for forged in (*BAD_IDS, "../../v1/audit", "BJ1' OR '1'='1", "不存在的儿童"):
        answer = _assign(api, forged, {"assignee": "cw"})
        assert answer.status_code in (404, 422), (forged, answer.status_code)
    for body in (
        {"assignee": "cw", "note": "a\x00b"},
        {"assignee": "cw", "note": "x" * 10_000},
        {"assignee": "c\x00w"},
        {"assignee": "cw\n"},
        {"assignee": "c" * 65},
        {"assignee": "cw", "extra": 1},
        {"note": "no assignee"},
    ):
        answer = _assign(api, child, body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"] == "invalid_request"
    assert _rows(api, child) == stored


def test_the_summary_equals_counts_from_the_decisions_table(api: Api) -> None:
    waiting = _waiting(api)
    decided = [  # child, who, agrees, reason
        (waiting[4], "cw", True, None),
        (waiting[5], "cw", False, "records_outdated"),
        (waiting[5], "sup", False, "already_served"),
        (waiting[6], "sup", True, None),
    ]
    for child, who, agrees, reason in decided:
        body = {"action": "home_visit", "agrees": agrees, "reason_code": reason, "note": who}
        answer = api.client.post(
            f"/v1/children/{child}/decisions", json=body, headers=api.headers(who)
        )
        assert answer.status_code == 201, answer.text
    summary = api.client.get(SUMMARY, params={"days": 7}, headers=api.headers("sup")).json()
    since = datetime.fromisoformat(summary["since"]).replace(tzinfo=None)
    with api.engine.connect() as connection:
        rows = connection.execute(
            select(DECISIONS).where(DECISIONS.c.district == OWN, DECISIONS.c.created_at >= since)
        ).mappings()
        kept = list(rows)
    assert summary["decisions"] == len(kept) >= len(decided)
    assert summary["overrides"] == sum(not r["agrees"] for r in kept)
    for key, name in (("by_worker", "user_name"), ("by_district", "district")):
        made = Counter(r[name] for r in kept)
        overrides = Counter(r[name] for r in kept if not r["agrees"])
        assert {t["key"]: (t["decisions"], t["overrides"]) for t in summary[key]} == {
            k: (n, overrides[k]) for k, n in made.items()
        }
        for t in summary[key]:
            assert t["override_rate"] == pytest.approx(t["overrides"] / t["decisions"])
    reasons = Counter(r["reason_code"] for r in kept if r["reason_code"])
    assert {t["key"]: t["decisions"] for t in summary["by_reason"]} == dict(reasons)
    assert summary["districts"] == [OWN]
    old = datetime.fromisoformat(summary["since"]) - timedelta(days=1)
    assert all(r["created_at"] >= old.replace(tzinfo=None) for r in kept)
    # the decided children are no longer waiting; the others are
    still = set(_waiting(api))
    assert not {child for child, *_ in decided} & still
    assert set(waiting[7:]) <= still


def test_the_summary_is_refused_outside_the_supervisor_s_districts(api: Api) -> None:
    assert api.client.get(SUMMARY, headers=api.headers("cw")).status_code == 403
    other = api.client.get(SUMMARY, params={"district": OTHER}, headers=api.headers("sup"))
    assert other.status_code == 403
    for days in (0, 1, 365, "x"):
        answer = api.client.get(SUMMARY, params={"days": days}, headers=api.headers("sup"))
        assert answer.status_code == 422, days


def test_listing_the_waiting_children_audits_each(api: Api) -> None:
    before = last_audit_id(api)
    waiting = _waiting(api)
    read = {r["child_id"] for r in audit_since(api, before) if r["action"] == "read_queue"}
    assert set(waiting) <= read


@pytest.fixture(scope="module")
def supervisor(api: Api) -> TestClient:
    return signed_in(api, "sup")


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ("By worker", "By district", "By reason", "Not yet reviewed", "Override rate")),
        ("zh-CN", ("按社工", "按区", "按原因", "尚未处理", "不采纳率")),
    ],
)
def test_the_page_shows_the_tables_in_both_languages(
    supervisor: TestClient, language: str, words: tuple[str, ...]
) -> None:
    page = supervisor.get("/supervision?days=90", headers={"Accept-Language": language})
    assert page.status_code == 200, page.text
    assert f'lang="{language}"' in page.text
    for word in words:
        assert word in page.text
    assert page.text.count("<caption>") == 4
    assert '<th scope="col">' in page.text
    assert '<option value="90" selected>' in page.text
    assert 'href="/supervision"' in page.text  # the nav link


def _post(client: TestClient, child: str, **fields: str) -> Any:
    csrf = csrf_of(client.get("/supervision").text)
    return client.post(
        f"/children/{child}/assignment?days=7",
        data={"csrf": csrf, **fields},
        follow_redirects=False,
    )


def test_the_page_assigns_and_says_saved(api: Api, supervisor: TestClient) -> None:
    child = _waiting(api)[-1]
    answer = _post(supervisor, child, assignee="cw", note="page")
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/supervision?days=7&saved={child}#not-reviewed"
    shown = supervisor.get(answer.headers["location"].split("#")[0]).text
    assert f"Saved: child {child} is assigned to cw." in shown
    row = re.search(rf'<a href="/children/{child}">.*?</tr>', shown, re.S)
    assert row is not None
    assert '<option value="cw" selected>' in row.group(0)
    assert _rows(api, child)[-1] == ("cw", "page")


def test_a_refused_page_post_says_why_and_keeps_what_was_typed(
    api: Api, supervisor: TestClient
) -> None:
    child = _waiting(api)[-2]
    stored = _rows(api, child)
    answer = _post(supervisor, child, assignee="cw_other", note="keep this note")
    assert answer.status_code == 400
    assert "can only be assigned to an active caseworker or supervisor" in answer.text
    assert 'value="keep this note"' in answer.text
    assert '<option value="cw_other" selected>' in answer.text
    assert _rows(api, child) == stored
    no_csrf = supervisor.post(
        f"/children/{child}/assignment", data={"assignee": "cw"}, follow_redirects=False
    )
    assert no_csrf.status_code == 403
    for fields in ({"assignee": "cw", "note": "x" * 10_000}, {"assignee": "c\x00w"}):
        assert _post(supervisor, child, **fields).status_code == 422
    assert _rows(api, child) == stored


def test_the_page_is_the_supervisor_s(api: Api) -> None:
    caseworker = signed_in(api, "cw")
    assert caseworker.get("/supervision").status_code == 403
    assert 'href="/supervision"' not in caseworker.get("/queue").text
    child = _waiting(api)[0]
    csrf = csrf_of(caseworker.get("/queue").text)
    answer = caseworker.post(
        f"/children/{child}/assignment",
        data={"csrf": csrf, "assignee": "cw"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
