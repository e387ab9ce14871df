"""The child page as a caseworker reads it on a Monday morning: the child first (casework,
what changed since the batch before), the score built from its starting value, the tier
and the flag said honestly, the strongest factors first, the history newest first with
severe records marked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from features.deployment import Deployment
from models.flagging import TIERS, load_flagging_policy
from serving.champion import Champion
from serving.pages.child import SHOWN
from serving.store.batch import write_batch
from serving.store.tables import EVENTS, SCORES
from tests.serving.conftest import OWN, Api, Trained, password_of, served
from tests.serving.test_pages import _browser, _sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]
LATER = date(2025, 12, 29)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, trained: Trained) -> Iterator[Api]:
    """A SQLite store with two batches: the tests' own (Dec 1) and one four weeks later."""
    for made in served("sqlite", tmp_path_factory, trained):
        champion = Champion(trained.tracking_uri)
        assert champion.refresh(), champion.last_error
        policy = load_flagging_policy(None)
        write_batch(made.engine, champion.current(), policy, Deployment(), LATER, "tests")
        yield made


@pytest.fixture(scope="module")
def caseworker(api: Api) -> TestClient:
    client = _browser(api)
    assert _sign_in(client, "cw", password_of("cw")) == 303
    return client


def _child(api: Api, *where: object) -> str:
    """A child of OWN scored in the later batch (with the most events) meeting ``where``."""
    with api.engine.connect() as connection:
        return str(
            connection.execute(
                select(SCORES.c.child_id)
                .join(EVENTS, EVENTS.c.child_id == SCORES.c.child_id)
                .where(SCORES.c.district == OWN, SCORES.c.batch_id == 2, *where)
                .group_by(SCORES.c.child_id)
                .order_by(func.count().desc(), SCORES.c.child_id)
                .limit(1)
            ).scalar_one()
        )


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    return html[start : html.find("</section>", start)]


def test_the_child_comes_first_with_casework_and_changes(api: Api, caseworker: TestClient) -> None:
    child = _child(api)
    html = caseworker.get(f"/children/{child}").text
    assert html.index("who-heading") < html.index("score-heading")
    top = _section(html, "who-heading")
    assert OWN in top
    assert "Welfare case" in top
    assert "Last contact" in top
    with api.engine.connect() as connection:
        before, now = (
            connection.execute(
                select(SCORES.c.score_1_20).where(
                    SCORES.c.child_id == child, SCORES.c.batch_id == b
                )
            ).scalar_one()
            for b in (1, 2)
        )
        new = connection.execute(
            select(func.count()).where(
                EVENTS.c.child_id == child, EVENTS.c.recorded_at > date(2025, 12, 1)
            )
        ).scalar_one()
    if before == now:
        assert f"The score is {now}, as in the batch of Dec 1, 2025." in top
    else:
        assert f"The score moved from {before} to {now} since the batch of Dec 1, 2025." in top
    listed = top.count("<li>Recorded ")
    assert listed == min(new, 5)
    assert (listed == 0) == ("No record has been recorded since then." in top)


def test_the_score_is_built_from_its_starting_value(api: Api, caseworker: TestClient) -> None:
    child = _child(api)
    html = caseworker.get(f"/children/{child}").text
    answer = caseworker.get(f"/v1/children/{child}/risk?top=500", headers=api.headers("cw"))
    risk = answer.json()
    built = re.search(
        r"starting value of (-?[\d,]+) points, plus ([+-]?[\d,]+) points from the factors "
        r"below, gives (-?[\d,]+) points",
        html,
    )
    assert built, "the page does not say how the score is built"
    base, added, total = (int(x.replace(",", "")) for x in built.groups())
    assert base == round(risk["base_points"])
    assert added == round(sum(f["points"] for f in risk["factors"]))
    assert abs(base + added - total) <= 1
    assert "None." not in html


def test_the_strongest_factors_come_first_and_the_rest_are_folded(
    api: Api, caseworker: TestClient
) -> None:
    child = _child(api)
    html = caseworker.get(f"/children/{child}").text
    factors = _section(html, "factors-heading")
    folded_at = factors.find('<details class="more">')
    shown = factors[: folded_at if folded_at >= 0 else len(factors)]
    assert shown.count('<span class="label">') <= SHOWN
    if folded_at >= 0:
        assert factors[folded_at:].count('<span class="label">') >= 1


def test_the_history_is_newest_first_with_severe_records_marked(
    api: Api, caseworker: TestClient
) -> None:
    child = _child(
        api, EVENTS.c.severity == 3, EVENTS.c.event_type != "health.disability_certified"
    )
    html = caseworker.get(f"/children/{child}").text
    history = _section(html, "history-heading")
    assert "Severity:" in history  # the legend
    for timeline in re.findall(r'<ol class="timeline">(.*?)</ol>', history, re.S):
        days = re.findall(r'<time datetime="([^"]+)"', timeline)
        assert days == sorted(days, reverse=True)
    marked = re.findall(r'<li class="severe-record">(.*?)</li>', history, re.S)
    assert marked, "a severity-3 record is not marked"
    assert all("Severe" in item and "severity 3" in item for item in marked)


def test_the_tier_and_the_flag_are_said_as_they_apply(api: Api, caseworker: TestClient) -> None:
    policy = load_flagging_policy(None)
    reaching = TIERS[TIERS.index(policy.flag_from) :]
    with api.engine.connect() as connection:
        unflagged = connection.execute(
            select(SCORES.c.child_id)
            .where(
                SCORES.c.batch_id == 2,
                SCORES.c.district == OWN,
                SCORES.c.flagged.is_(False),
                SCORES.c.tier.in_(reaching),
            )
            .limit(1)
        ).scalar_one_or_none()
    if unflagged is None:
        pytest.skip("every child of the flagging tiers was flagged in this batch")
    html = caseworker.get(f"/children/{unflagged}").text
    standing = _section(html, "score-heading")
    assert "Not flagged: the" in standing
    assert "went to children with higher rates" in standing
    assert f"can take {policy.per_district} flags" in standing


def test_a_marking_without_association_features_says_it_changes_no_score(
    api: Api, caseworker: TestClient
) -> None:
    """A household member marked apart while the model counts no household records: the
    child page lists the marking and says the model in service does not use it."""
    from sqlalchemy import text

    with api.engine.connect() as connection:
        child, member = connection.execute(
            text(
                "SELECT c.child_id, m.child_id FROM children c JOIN children m "
                "ON m.household_id = c.household_id AND m.child_id <> c.child_id "
                "WHERE c.district = :d ORDER BY c.child_id LIMIT 1"
            ),
            {"d": OWN},
        ).one()
    done = api.client.post(
        f"/v1/children/{child}/separations",
        json={"member_id": member, "kind": "no_contact", "since": "2021-01-01",
              "reason": "no contact since the move"},
        headers=api.headers("cw"),
    )  # fmt: skip
    assert done.status_code == 201, done.text
    assert done.json()["score_before"] == done.json()["score_after"]
    page = caseworker.get(f"/children/{child}").text
    section = _section(page, "household-heading")
    assert "counts no household member's records" in section
    assert "no contact since the move" in section
