"""Evidence carries the link: every record in a child's history and behind each factor
says which partner system it came from, the partner's record id and how linkage joined
it; the child page says so in words and shows the child's own caseworker who the child
is, a sibling elsewhere without a name."""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy import and_, func, select, update

from features.linkage import schema as ls
from features.linkage.policy import load_linkage_policy
from serving.audit import Action
from serving.identity import Age, age_on
from serving.pages import words
from serving.store.tables import (
    CHILDREN,
    EVENTS,
    IDENTITIES,
    LINKS,
    SCORES,
    AuditRecord,
)
from tests.serving.attacks.common import signed_in
from tests.serving.conftest import OTHER, OWN, Api
from tests.serving.test_api import score_body

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]


def _links_of(api: Api, child_id: str) -> dict[str, tuple[Any, ...]]:
    """Each of the child's events: (source, source record id, link how, probability), read
    straight from ``events`` and ``links``."""
    query = (
        select(
            EVENTS.c.event_id,
            EVENTS.c.source,
            EVENTS.c.source_record_id,
            LINKS.c.how,
            LINKS.c.match_probability,
        )
        .select_from(
            EVENTS.outerjoin(
                LINKS,
                and_(
                    LINKS.c.source == EVENTS.c.source,
                    LINKS.c.record_id == EVENTS.c.source_record_id,
                ),
            )
        )
        .where(EVENTS.c.child_id == child_id)
    )
    with api.engine.connect() as connection:
        return {row[0]: tuple(row[1:]) for row in connection.execute(query)}


def _as_stored(event: dict[str, Any]) -> tuple[Any, ...]:
    fields = ("source", "source_record_id", "link_how", "link_probability")
    return tuple(event[name] for name in fields)


def _scored_child(api: Api, district: str = OWN) -> str:
    """A child of ``district`` scored in the batch with the most events."""
    with api.engine.connect() as connection:
        child = connection.execute(
            select(EVENTS.c.child_id)
            .join(SCORES, SCORES.c.child_id == EVENTS.c.child_id)
            .where(SCORES.c.district == district)
            .group_by(EVENTS.c.child_id)
            .order_by(func.count().desc(), EVENTS.c.child_id)
            .limit(1)
        ).scalar_one()
    return str(child)


def _household(api: Api) -> tuple[tuple[str, str], tuple[str, str]]:
    """((child, name), (sibling, name)): a scored child of OWN and a sibling of its
    household in OWN, both with a name."""
    named = select(IDENTITIES.c.child_id).where(IDENTITIES.c.name.is_not(None))
    sibling = CHILDREN.alias("sibling")
    with api.engine.connect() as connection:
        child, other = connection.execute(
            select(CHILDREN.c.child_id, sibling.c.child_id)
            .join(sibling, sibling.c.household_id == CHILDREN.c.household_id)
            .where(
                CHILDREN.c.child_id.in_(select(SCORES.c.child_id)),
                CHILDREN.c.district == OWN,
                sibling.c.district == OWN,
                sibling.c.child_id != CHILDREN.c.child_id,
                CHILDREN.c.child_id.in_(named),
                sibling.c.child_id.in_(named),
            )
            .order_by(CHILDREN.c.child_id, sibling.c.child_id)
            .limit(1)
        ).one()
        names = dict(
            connection.execute(
                select(IDENTITIES.c.child_id, IDENTITIES.c.name).where(
                    IDENTITIES.c.child_id.in_([child, other])
                )
            ).all()
        )
    return (child, names[child]), (other, names[other])


def _move(api: Api, child_id: str, district: str) -> None:
    with api.engine.begin() as connection:
        connection.execute(
            update(CHILDREN).where(CHILDREN.c.child_id == child_id).values(district=district)
        )


def test_the_history_carries_each_records_source_and_link(api: Api) -> None:
    child = _scored_child(api)
    response = api.client.get(f"/v1/children/{child}/history", headers=api.headers("cw"))
    assert response.status_code == 200, response.text
    events = [event for rows in response.json()["sources"].values() for event in rows]
    stored = _links_of(api, child)
    assert {event["event_id"] for event in events} == set(stored)
    for event in events:
        assert _as_stored(event) == stored[event["event_id"]]
    assert all(event["source"] in ls.KNOWN_SOURCES for event in events)
    assert all(event["link_how"] in ls.HOW_VALUES for event in events)


def test_each_factors_evidence_carries_its_source_and_link(api: Api) -> None:
    child = _scored_child(api)
    response = api.client.get(f"/v1/children/{child}/risk?top=500", headers=api.headers("cw"))
    assert response.status_code == 200, response.text
    factors = response.json()["factors"]
    behind = [factor for factor in factors if factor["event_ids"]]
    assert behind, "no factor has records behind it"
    stored = _links_of(api, child)
    for factor in factors:
        assert [e["event_id"] for e in factor["evidence"]] == factor["event_ids"]
        for event in factor["evidence"]:
            if event["event_id"] in stored:  # a sibling's record is checked below
                assert _as_stored(event) == stored[event["event_id"]]
            assert event["source"] is not None
            assert event["link_how"] in ls.HOW_VALUES


def test_a_posted_history_carries_no_provenance(api: Api) -> None:
    """The same records posted: no store, no links, every field null (a posted id is
    never looked up: it may be another child's record)."""
    body = score_body(api, _scored_child(api))
    response = api.client.post("/v1/score?top=500", json=body, headers=api.headers("cw"))
    assert response.status_code == 200, response.text
    evidence = [e for f in response.json()["factors"] for e in f["evidence"]]
    assert evidence
    assert all(_as_stored(e) == (None, None, None, None) for e in evidence)


def test_the_openapi_document_declares_the_evidence(api: Api) -> None:
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    assert "evidence" in schemas["FactorOut"]["properties"]
    for name in ("EvidenceEventOut", "EventOut"):
        assert {"source", "source_record_id", "link_how", "link_probability"} <= set(
            schemas[name]["properties"]
        )


def test_the_child_page_shows_who_the_child_is_and_where_each_record_came_from(
    api: Api,
) -> None:
    (child, name), (sibling, sibling_name) = _household(api)
    systems = {row[0] for row in _links_of(api, child).values()}
    before = _last_audit_id(api)
    browser = signed_in(api, "cw")
    page = browser.get(f"/children/{child}")
    assert page.status_code == 200, page.text
    assert "Who this child is" in page.text
    assert name in page.text
    assert all(words.SYSTEM[system] in page.text for system in systems)
    assert sibling_name in page.text  # a sibling of the caller's district: named, linked
    assert f'href="/children/{sibling}"' in page.text
    with api.engine.connect() as connection:
        read = connection.execute(
            select(AuditRecord.child_id).where(
                AuditRecord.id > before, AuditRecord.action == Action.READ_IDENTITY.value
            )
        ).scalars()
        assert {child, sibling} <= set(read)
    _move(api, sibling, OTHER)
    try:
        page = browser.get(f"/children/{child}")
        assert page.status_code == 200, page.text
        assert "a sibling in another district" in page.text
        assert sibling_name not in page.text  # the sibling elsewhere: no name, no link
        assert f"/children/{sibling}" not in page.text
    finally:
        _move(api, sibling, OWN)


def test_identity_is_on_no_api_response_of_the_child(api: Api) -> None:
    (child, name), _ = _household(api)
    with api.engine.connect() as connection:
        number = connection.execute(
            select(IDENTITIES.c.id_number).where(IDENTITIES.c.child_id == child)
        ).scalar_one()
    for route in ("risk?top=500", "history", "decisions"):
        text = api.client.get(f"/v1/children/{child}/{route}", headers=api.headers("cw")).text
        assert name not in text
        assert number is None or number not in text


def test_a_record_joined_by_a_decision_or_below_the_threshold_is_marked(api: Api) -> None:
    child = _scored_child(api)
    records = sorted({(row[0], row[1]) for row in _links_of(api, child).values()})
    assert len(records) >= 2, "the child needs two source records"
    (reviewed_source, reviewed), (weak_source, weak) = records[:2]
    with api.engine.begin() as connection:
        for (source, record), values in (
            ((reviewed_source, reviewed), {"how": "review", "match_probability": None}),
            ((weak_source, weak), {"how": "match", "match_probability": 0.9}),
        ):
            connection.execute(
                update(LINKS)
                .where(LINKS.c.source == source, LINKS.c.record_id == record)
                .values(**values)
            )
    history = api.client.get(f"/v1/children/{child}/history", headers=api.headers("sup"))
    events = [event for rows in history.json()["sources"].values() for event in rows]
    assert {e["link_how"] for e in events if e["source_record_id"] == reviewed} == {"review"}
    assert {e["link_probability"] for e in events if e["source_record_id"] == weak} == {0.9}
    page = signed_in(api, "sup").get(f"/children/{child}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "joined by a records officer's decision" in text
    assert "joined by the model, below its link threshold: uncertain" in text


def _last_audit_id(api: Api) -> int:
    with api.engine.connect() as connection:
        return int(connection.execute(select(func.coalesce(func.max(AuditRecord.id), 0))).scalar())


# ---- the words and the age, without a store ---------------------------------------------


def test_every_partner_system_has_its_words() -> None:
    assert set(words.SYSTEM) == set(ls.KNOWN_SOURCES)


@pytest.mark.parametrize(
    ("probability", "said"),
    [
        (1.0, "almost certain"),
        (0.99, "almost certain"),
        (0.97, "very likely"),
        (0.85, "uncertain"),
        (0.5, "doubtful"),
    ],
)
def test_a_probability_is_said_in_words_by_the_policys_thresholds(
    probability: float, said: str
) -> None:
    assert words.likelihood(probability, load_linkage_policy(None)) == said


def test_likely_starts_at_the_policys_link_threshold() -> None:
    from dataclasses import replace

    policy = replace(load_linkage_policy(None), link_threshold=0.9, review_threshold=0.7)
    assert words.likelihood(0.91, policy) == "likely"
    assert words.likelihood(0.89, policy) == "uncertain"
    assert words.likelihood(0.69, policy) == "doubtful"


def test_an_age_is_a_range_when_the_birth_date_is_partial() -> None:
    from datetime import date

    today = date(2026, 3, 10)
    assert age_on("2014-03-10", "day", today) == Age(12, 12)
    assert age_on("2014-03-11", "day", today) == Age(11, 11)
    assert age_on("2014-03-15", "month", today) == Age(11, 12)
    assert age_on("2014-07-01", "year", today) == Age(11, 12)
    assert age_on("2014-01-15", "month", today) == Age(12, 12)
    assert age_on("2025-07-01", "year", today) == Age(0, 1)
    assert age_on(None, None, today) is None
