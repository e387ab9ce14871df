"""The summary for the family (issue 21, point 4): printable, in Chinese and English; it
says what the score used by source and date, the rate among past children, that the
model decides nothing alone, and how to ask for a correction; it carries no other child's
data and no identity data beyond the child's own name; producing it is audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from serving.store.tables import CHILDREN, EVENTS, IDENTITIES, SCORES
from tests.serving.attacks.common import audit_since, last_audit_id
from tests.serving.conftest import OWN, Api, Trained, password_of, served
from tests.serving.test_pages import _browser, _sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, trained: Trained) -> Iterator[Api]:
    yield from served("sqlite", tmp_path_factory, trained)


def _with_siblings(api: Api) -> tuple[str, list[str]]:
    """A scored child of OWN with a named sibling, and the siblings' ids."""
    with api.engine.connect() as connection:
        households = (
            select(CHILDREN.c.household_id)
            .join(IDENTITIES, IDENTITIES.c.child_id == CHILDREN.c.child_id)
            .where(CHILDREN.c.household_id.is_not(None))
            .group_by(CHILDREN.c.household_id)
            .having(func.count() > 1)
        )
        child = connection.execute(
            select(func.min(SCORES.c.child_id))
            .join(CHILDREN, CHILDREN.c.child_id == SCORES.c.child_id)
            .where(SCORES.c.district == OWN, CHILDREN.c.household_id.in_(households))
        ).scalar_one()
        household = connection.execute(
            select(CHILDREN.c.household_id).where(CHILDREN.c.child_id == child)
        ).scalar_one()
        siblings = connection.execute(
            select(CHILDREN.c.child_id).where(
                CHILDREN.c.household_id == household, CHILDREN.c.child_id != child
            )
        ).scalars()
        return str(child), [str(s) for s in siblings]


def _signed_in(api: Api, name: str = "cw") -> TestClient:
    client = _browser(api)
    assert _sign_in(client, name, password_of(name)) == 303
    return client


def test_the_summary_carries_the_child_alone(api: Api) -> None:
    child, siblings = _with_siblings(api)
    before = last_audit_id(api)
    page = _signed_in(api).get(f"/children/{child}/family-summary")
    assert page.status_code == 200, page.text
    text = page.text
    with api.engine.connect() as connection:
        name, id_number = connection.execute(
            select(IDENTITIES.c.name, IDENTITIES.c.id_number).where(IDENTITIES.c.child_id == child)
        ).one()
        others = connection.execute(
            select(IDENTITIES.c.name, IDENTITIES.c.id_number).where(
                IDENTITIES.c.child_id.in_(siblings)
            )
        ).all()
        their_records = (
            connection.execute(select(EVENTS.c.event_id).where(EVENTS.c.child_id.in_(siblings)))
            .scalars()
            .all()
        )
    assert name in text
    assert id_number is None or id_number not in text  # not even the child's own ID number
    for other_name, other_id in others:
        assert other_name not in text
        assert other_id is None or other_id not in text
    assert not [s for s in siblings if s in text]
    assert not [e for e in their_records if e in text]
    for words in ("not the probability that this child is harmed", "The model decides nothing",
                  "How to ask for a record to be corrected", "Article 24"):  # fmt: skip
        assert words in text, words
    assert [(r["action"], r["child_id"]) for r in audit_since(api, before)
            if r["action"] == "family_summary"] == [("family_summary", child)]  # fmt: skip


def test_the_summary_lists_the_records_behind_the_score(api: Api) -> None:
    child, _ = _with_siblings(api)
    risk = api.client.get(f"/v1/children/{child}/risk?top=500", headers=api.headers("cw")).json()
    history = api.client.get(f"/v1/children/{child}/history", headers=api.headers("cw")).json()
    own = {e["event_id"] for rows in history["sources"].values() for e in rows}
    behind = {e for f in risk["factors"] for e in f["event_ids"] if e in own}
    found = api.client.get(f"/v1/children/{child}/family-summary", headers=api.headers("cw"))
    assert found.status_code == 200, found.text
    summary = found.json()
    listed = {e["event_id"] for rows in summary["used"].values() for e in rows}
    assert listed == behind
    assert "name" not in found.text.lower().replace("event_type", "")
    for rows in summary["used"].values():  # by date within each source
        assert [e["occurred_at"] for e in rows] == sorted(e["occurred_at"] for e in rows)
    page = _signed_in(api).get(f"/children/{child}/family-summary")
    assert all(e in page.text for e in behind)
    assert (
        api.client.get(
            f"/v1/children/{child}/family-summary", headers=api.headers("cw_other")
        ).status_code
        == 404
    )
    assert (
        api.client.get(
            f"/v1/children/{child}/family-summary", headers=api.headers("analyst")
        ).status_code
        == 403
    )


def test_the_summary_prints(api: Api) -> None:
    css = api.client.get("/static/site.css").text
    assert "@media print" in css
    assert "header.top" in css.split("@media print")[-1]
