"""The review pages over HTTP (the browser tests drive them in Chromium): a records
officer lands on the queue, reads a pair and decides it with the form's CSRF token; the
other roles are kept out; a caseworker sends a request from the child page; and every
level the linkage model can reach has its words."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from features.linkage.model import COMPARISONS, _comparisons
from serving.pages import words
from serving.store.tables import LINK_REQUESTS, PAIR_DECISIONS
from tests.serving.attacks.common import audit_since, browser, child_of, csrf_of, last_audit_id
from tests.serving.attacks.common import sign_in as signed_in
from tests.serving.conftest import OTHER, OWN, Api

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]


def test_every_comparison_and_level_has_its_words() -> None:
    assert set(words.COMPARISON) == set(COMPARISONS)
    labels = {
        level["label_for_charts"]
        for comparison in _comparisons()
        for level in comparison["comparison_levels"]
    }
    assert labels <= set(words.LEVEL)


def _count(api: Api, table: object) -> int:
    with api.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _pair_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'href="/review/(\d+)"', html)]


def test_a_records_officer_lands_on_the_queue_and_decides_a_pair(api: Api) -> None:
    officer = browser(api)
    landed = signed_in(officer, "records")
    assert landed.status_code == 303
    assert landed.headers["location"] == "/review"
    queue = officer.get("/review")
    assert queue.status_code == 200
    assert 'href="/review"' in queue.text  # the navigation's link
    ids = _pair_ids(queue.text)
    assert ids
    pair = officer.get(f"/review/{ids[0]}")
    assert pair.status_code == 200
    assert 'name="decision"' in pair.text
    stored = _count(api, PAIR_DECISIONS)
    forged = officer.post(
        f"/review/{ids[0]}", data={"csrf": "forged", "decision": "same"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert _count(api, PAIR_DECISIONS) == stored
    decided = officer.post(
        f"/review/{ids[0]}",
        data={"csrf": csrf_of(pair.text), "decision": "unsure", "note": "ask the school"},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    assert decided.headers["location"] == "/review?notice=decided"
    assert _count(api, PAIR_DECISIONS) == stored + 1
    after = officer.get("/review?notice=decided")
    assert ids[0] not in _pair_ids(after.text)
    assert 'role="status"' in after.text
    bad = officer.post(
        f"/review/{ids[1]}",
        data={"csrf": csrf_of(pair.text), "decision": "perhaps"},
        follow_redirects=False,
    )
    assert bad.status_code == 422
    assert _count(api, PAIR_DECISIONS) == stored + 1


def test_the_queue_page_refuses_a_forged_cursor(api: Api) -> None:
    officer = browser(api)
    signed_in(officer, "records_other")
    assert officer.get("/review?cursor=bm90LWEtY3Vyc29y").status_code == 400
    assert officer.get(f"/review?district={OWN}").status_code == 403
    for pair_id in _pair_ids(officer.get("/review").text):
        assert officer.get(f"/review/{pair_id}").status_code == 200


@pytest.mark.parametrize("user", ["cw", "sup", "analyst", "admin"])
def test_other_roles_do_not_open_the_review_pages(api: Api, user: str) -> None:
    page = browser(api)
    signed_in(page, user)
    before = last_audit_id(api)
    assert page.get("/review").status_code == 403
    assert 'href="/review"' not in page.get("/").text
    rows = [(r["action"], r["outcome"]) for r in audit_since(api, before)]
    assert rows[0] == ("read_review", "denied")


def test_a_caseworker_sends_a_request_from_the_child_page(api: Api) -> None:
    caseworker = browser(api)
    signed_in(caseworker, "cw")
    child = child_of(api, OWN)
    page = caseworker.get(f"/children/{child}")
    assert page.status_code == 200
    assert f'action="/children/{child}/link-requests"' in page.text
    stored = _count(api, LINK_REQUESTS)
    sent = caseworker.post(
        f"/children/{child}/link-requests",
        data={"csrf": csrf_of(page.text), "kind": "split", "reason": "two boys' school records"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/children/{child}?link_request=sent#link-request"
    assert _count(api, LINK_REQUESTS) == stored + 1
    assert 'role="status"' in caseworker.get(sent.headers["location"]).text
    elsewhere = caseworker.post(
        f"/children/{child_of(api, OTHER)}/link-requests",
        data={"csrf": csrf_of(page.text), "kind": "split", "reason": "x"},
        follow_redirects=False,
    )
    assert elsewhere.status_code == 404
    assert _count(api, LINK_REQUESTS) == stored + 1
    # the officers see it, and answer it from its page
    officer = browser(api)
    signed_in(officer, "records")
    queue = officer.get("/review").text
    found = re.findall(r'href="/review/requests/(\d+)"', queue)
    assert found
    request = officer.get(f"/review/requests/{found[-1]}")
    assert request.status_code == 200
    records = re.findall(r'<option value="([^"]+:[^"]+)"', request.text)
    assert records
