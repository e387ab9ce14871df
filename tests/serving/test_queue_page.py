"""The queue that ranks and explains itself: the rate beside the badge, how the batch's
flags fell against the urgent tier and the capacity, days flagged counted to the batch's
date, a tier filter that shows that tier's children, decisions with agreement, a heading
per child and cards on a phone."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import case, func, select

from models.flagging import load_flagging_policy
from serving.store.tables import SCORES
from tests.serving.conftest import OWN, Api, password_of
from tests.serving.test_pages import _browser, _csrf, _sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]


@pytest.fixture(scope="module")
def caseworker(api: Api) -> TestClient:
    client = _browser(api)
    assert _sign_in(client, "cw", password_of("cw")) == 303
    return client


def _rows(html: str) -> list[str]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_each_row_shows_its_rate_and_the_rates_fall(caseworker: TestClient) -> None:
    rows = _rows(caseworker.get("/queue").text)
    assert rows
    rates = [float(re.search(r"([\d.]+) in 100", row).group(1)) for row in rows]  # type: ignore[union-attr]
    scores = [int(re.search(r'class="badge[^"]*">(\d+)<', row).group(1)) for row in rows]  # type: ignore[union-attr]
    assert list(zip(scores, rates, strict=True)) == sorted(
        zip(scores, rates, strict=True), reverse=True
    )


def test_the_counts_say_how_the_flags_fell(api: Api, caseworker: TestClient) -> None:
    html = caseworker.get("/queue").text
    policy = load_flagging_policy(None)
    with api.engine.connect() as connection:
        children, urgent, flagged = connection.execute(
            select(
                func.count(),
                func.sum(case((SCORES.c.tier == "urgent", 1), else_=0)),
                func.sum(case((SCORES.c.flagged.is_(True), 1), else_=0)),
            ).where(SCORES.c.district == OWN)
        ).one()
    said = (
        f"{OWN}: {flagged} children flagged; the district's capacity this batch is "
        f"{policy.flags_allowed(children)} flags; {urgent} of its {children:,} children "
        "scored are in the urgent tier."
    )
    assert said in html


def test_days_flagged_are_counted_to_the_batch_s_date(caseworker: TestClient) -> None:
    rows = _rows(caseworker.get("/queue").text)
    for row in rows:  # the tests' only batch is dated Dec 1, 2025 and flagged them then
        assert "0 days, since the batch of Dec 1, 2025" in row


@pytest.mark.parametrize("tier", ["high", "moderate", "low"])
def test_a_tier_filter_shows_that_tier_s_children(
    api: Api, caseworker: TestClient, tier: str
) -> None:
    with api.engine.connect() as connection:
        present = connection.execute(
            select(func.count()).where(SCORES.c.district == OWN, SCORES.c.tier == tier)
        ).scalar_one()
    rows = _rows(caseworker.get(f"/queue?tier={tier}").text) if present else []
    assert len(rows) == min(present, 25)
    assert all(f"tier-{tier}" in row for row in rows)


def test_a_decision_shows_whether_the_worker_agreed(api: Api, caseworker: TestClient) -> None:
    first = _rows(caseworker.get("/queue").text)[0]
    child = re.search(r'href="/children/([^"]+)"', first).group(1)  # type: ignore[union-attr]
    page = caseworker.get(f"/children/{child}").text
    posted = caseworker.post(
        f"/children/{child}/decisions",
        data={
            "csrf": _csrf(page),
            "action": "no_action",
            "agrees": "no",
            "reason_code": "records_outdated",
            "note": "seen last week",
        },
        follow_redirects=False,
    )
    assert posted.status_code == 303
    row = next(r for r in _rows(caseworker.get("/queue").text) if f"/children/{child}" in r)
    assert "No action · overrode the flag: The records are out of date" in row


def test_every_child_has_a_heading_and_the_queue_is_cards_on_a_phone(
    caseworker: TestClient,
) -> None:
    html = caseworker.get("/queue").text
    rows = _rows(html)
    assert all(row.count('<h2 class="child">') == 1 for row in rows)
    assert all(row.count("data-label=") == 5 for row in rows)  # a card labels each cell
    sheet = (resources.files("serving") / "static" / "site.css").read_text(encoding="utf-8")
    phone = sheet[sheet.index("@media (max-width: 600px)") :]
    assert "table.queue td::before { content: attr(data-label)" in phone
    assert "display: block" in phone


def test_an_assigned_child_says_so_in_the_queue(api: Api, caseworker: TestClient) -> None:
    child = re.search(  # type: ignore[union-attr]
        r'href="/children/([^"]+)"', _rows(caseworker.get("/queue").text)[-1]
    ).group(1)
    assigned = api.client.post(
        f"/v1/children/{child}/assignment", json={"assignee": "cw"}, headers=api.headers("sup")
    )
    assert assigned.status_code == 201, assigned.text
    row = next(r for r in _rows(caseworker.get("/queue").text) if f"/children/{child}" in r)
    assert "Assigned to you" in row


def _children(html: str) -> list[str]:
    return [re.search(r'href="/children/([^"]+)"', r).group(1) for r in _rows(html)]  # type: ignore[union-attr]


def _next(html: str) -> str | None:
    found = re.search(r'<a href="(/queue\?[^"]+)">Next page</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.mark.parametrize("order", ["rate", "district", "undecided"])
def test_each_order_pages_through_every_child_once(
    api: Api, caseworker: TestClient, order: str
) -> None:
    seen: list[str] = []
    url: str | None = f"/queue?tier=moderate&order={order}"
    while url:
        html = caseworker.get(url).text
        seen += _children(html)
        url = _next(html)
    with api.engine.connect() as connection:
        expected = connection.execute(
            select(func.count()).where(SCORES.c.district == OWN, SCORES.c.tier == "moderate")
        ).scalar_one()
    assert len(seen) == len(set(seen)) == expected
    assert expected > 25  # more than one page: the cursor is used


def test_the_undecided_come_first_in_their_order(caseworker: TestClient) -> None:
    rows = _rows(caseworker.get("/queue?order=undecided").text)
    decided = ["None yet" not in row for row in rows]
    assert decided == sorted(decided)  # False (undecided) before True


def test_a_bad_order_or_another_order_s_cursor_is_refused(caseworker: TestClient) -> None:
    assert caseworker.get("/queue?order=age").status_code == 400
    html = caseworker.get("/queue?tier=moderate&order=district").text
    following = _next(html)
    assert following is not None
    cursor = re.search(r"cursor=([^&]+)", following).group(1)  # type: ignore[union-attr]
    assert caseworker.get(f"/queue?tier=moderate&cursor={cursor}").status_code == 400
    assert (
        caseworker.get(f"/queue?tier=moderate&order=undecided&cursor={cursor}").status_code == 400
    )
