"""The linkage review queue on SQLite and PostgreSQL: who reads it (records officers,
city-wide or by district), its order, its pages, pair decisions (stored append-only,
audited, taking the pair off the queue), bad input, caseworkers' merge and split
requests and their answers, and `riskflag db pair-decisions` writing the file the next
`riskflag link --decisions` reads."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from features.linkage.edges import DECISIONS, read_decisions
from serving.review import evidence
from serving.store.queue import latest_batch
from serving.store.tables import LINK_REQUESTS, PAIR_DECISIONS, REVIEW_PAIRS, SCORES
from serving.vocabulary import Evidence, PairDecision, codes
from tests.serving.attacks.common import audit_since, child_of, last_audit_id
from tests.serving.conftest import OTHER, OWN, Api

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]
REVIEW = "/v1/linkage/review"
REQUESTS = "/v1/linkage/requests"


# ---- without a store ----------------------------------------------------------------------


def test_the_pair_decisions_are_the_ones_linkage_reads() -> None:
    assert codes(PairDecision) == DECISIONS


@pytest.mark.parametrize(
    ("level", "weight", "expected"),
    [
        ("missing", 0.0, Evidence.MISSING),
        ("same name", 11.4, Evidence.AGREES_STRONGLY),
        ("same", 3.2, Evidence.AGREES),
        ("same", 0.98, Evidence.AGREES_WEAKLY),
        ("same year", 0.2, Evidence.NEUTRAL),
        ("different", -1.0, Evidence.DISAGREES_WEAKLY),
        ("different", -3.4, Evidence.DISAGREES),
        ("different", -9.0, Evidence.DISAGREES_STRONGLY),
    ],
)
def test_a_weight_in_words(level: str, weight: float, expected: Evidence) -> None:
    assert evidence(level, weight) == expected


# ---- helpers ------------------------------------------------------------------------------


def _count(api: Api, table: Any) -> int:
    with api.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _all_open(api: Api, user: str = "records", **params: Any) -> list[dict[str, Any]]:
    """Every open pair ``user`` reads, page after page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        asked = {"limit": 1000, **params, **({"cursor": cursor} if cursor else {})}
        response = api.client.get(REVIEW, params=asked, headers=api.headers(user))
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


def _touches(pair: dict[str, Any], district: str) -> bool:
    return district in (pair["left"]["district"], pair["right"]["district"])


def _open_pair(api: Api, district: str = OWN) -> dict[str, Any]:
    """An open pair of two records of ``district``."""
    found = [
        p for p in _all_open(api) if p["left"]["district"] == district == p["right"]["district"]
    ]
    assert found, f"no open pair in {district}"
    return found[-1]


def _ranks(api: Api) -> dict[str, bool]:
    """Each child's flag in the latest batch."""
    with api.engine.connect() as connection:
        batch = latest_batch(connection)
        assert batch is not None
        rows = connection.execute(
            select(SCORES.c.child_id, SCORES.c.flagged).where(SCORES.c.batch_id == batch.id)
        ).all()
    return {str(child): bool(flagged) for child, flagged in rows}


# ---- reading the queue --------------------------------------------------------------------


def test_a_records_officer_reads_both_records_most_consequential_first(api: Api) -> None:
    before = last_audit_id(api)
    items = _all_open(api)
    assert len(items) >= 20, "the linked fixture has a review queue"
    first = items[0]
    assert first["left"]["name"]  # their work: who is who
    assert first["right"]["name"]
    assert [f["comparison"] for f in first["fields"]] == [
        "name", "birth_date", "sex", "district", "address", "id_number", "family",
    ]  # fmt: skip
    assert all(f["evidence"] in codes(Evidence) for item in items for f in item["fields"])
    assert all(item["decided"] is None for item in items)
    flagged = _ranks(api)

    def rank(item: dict[str, Any]) -> int:
        both = flagged.get(item["left"]["child_id"], False) + flagged.get(
            item["right"]["child_id"], False
        )
        return {1: 0, 2: 1}.get(both, 2)

    order = [(rank(item), -item["match_probability"], item["id"]) for item in items]
    assert order == sorted(order)
    assert len({rank(item) for item in items}) >= 2, "the order has consequence groups"
    read = [(r["action"], r["child_id"], r["outcome"]) for r in audit_since(api, before)]
    assert read == [
        ("read_review", item[side]["child_id"], "allowed")
        for item in items
        for side in ("left", "right")
    ]


def test_the_queue_is_paged_by_cursor_without_gaps_or_repeats(api: Api) -> None:
    whole = [item["id"] for item in _all_open(api)]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = api.client.get(REVIEW, params=params, headers=api.headers("records")).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == whole


def test_a_district_officer_reads_only_the_pairs_touching_their_district(api: Api) -> None:
    theirs = _all_open(api, "records_other")
    assert theirs
    assert all(_touches(item, OTHER) for item in theirs)
    city = [item["id"] for item in _all_open(api) if _touches(item, OTHER)]
    assert [item["id"] for item in theirs] == city
    assert [item["id"] for item in _all_open(api, district=OTHER)] == city
    before = last_audit_id(api)
    asked = api.client.get(REVIEW, params={"district": OWN}, headers=api.headers("records_other"))
    assert asked.status_code == 403
    elsewhere = _open_pair(api, OWN)["id"]
    there = api.client.get(f"{REVIEW}/{elsewhere}", headers=api.headers("records_other"))
    nowhere = api.client.get(f"{REVIEW}/987654321", headers=api.headers("records_other"))
    assert there.status_code == nowhere.status_code == 404
    assert there.json() == nowhere.json()
    decided = api.client.post(
        f"{REVIEW}/{elsewhere}/decision",
        json={"decision": "same"},
        headers=api.headers("records_other"),
    )
    assert decided.status_code == 404
    refused = [
        (r["action"], r["outcome"], r["district"])
        for r in audit_since(api, before)
        if r["outcome"] != "allowed"
    ]
    assert refused == [
        ("read_review", "denied", OWN),
        ("read_review", "denied", OWN),
        ("read_review", "not_found", None),
        ("decide_pair", "denied", OWN),
    ]


@pytest.mark.parametrize("user", ["cw", "cw_other", "sup", "sup_other", "analyst", "admin"])
def test_other_roles_may_not_read_the_queue(api: Api, user: str) -> None:
    before = last_audit_id(api)
    response = api.client.get(REVIEW, headers=api.headers(user))
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert api.client.get(REQUESTS, headers=api.headers(user)).status_code == 403
    rows = [(r["user_name"], r["action"], r["outcome"]) for r in audit_since(api, before)]
    assert rows == [(user, "read_review", "denied")] * 2


# ---- deciding -----------------------------------------------------------------------------


def test_a_decision_is_stored_audited_and_takes_the_pair_off_the_queue(api: Api) -> None:
    pair = _open_pair(api)
    before, stored = last_audit_id(api), _count(api, PAIR_DECISIONS)
    url, h = f"{REVIEW}/{pair['id']}/decision", api.headers("records")
    first = api.client.post(url, json={"decision": "different", "note": "twins"}, headers=h)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["decision"], body["note"], body["user_name"]) == ("different", "twins", "records")
    assert (body["source_l"], body["record_id_l"]) == (
        pair["left"]["source"],
        pair["left"]["record_id"],
    )
    assert body["pair_id"] == pair["id"]
    assert pair["id"] not in [item["id"] for item in _all_open(api)]
    audited = [(r["action"], r["child_id"], r["outcome"]) for r in audit_since(api, before)]
    assert audited[:2] == [
        ("decide_pair", pair["left"]["child_id"], "allowed"),
        ("decide_pair", pair["right"]["child_id"], "allowed"),
    ]
    second = api.client.post(url, json={"decision": "same"}, headers=h)
    assert second.status_code == 201
    assert _count(api, PAIR_DECISIONS) == stored + 2  # append-only: both rows stay
    shown = api.client.get(f"{REVIEW}/{pair['id']}", headers=h).json()
    assert shown["decided"]["decision"] == "same"  # the later supersedes
    assert shown["decided"]["id"] == second.json()["id"]


def _forged_cursors() -> list[str]:
    def encode(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return [
        encode([0, 0.5]),
        encode([3, 0.5, 1]),
        encode([True, 0.5, 1]),
        encode([0, 1.5, 1]),
        encode([0, 0.5, "1"]),
        encode([0, 0.5, 2**40]),
        "not-a-cursor",
    ]


@pytest.mark.parametrize("cursor", _forged_cursors())
def test_a_forged_cursor_is_refused(api: Api, cursor: str) -> None:
    response = api.client.get(REVIEW, params={"cursor": cursor}, headers=api.headers("records"))
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == "query.cursor"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "maybe"}, "body.decision"),
        ({}, "body.decision"),
        ({"decision": "same", "note": "a\x00b"}, "body.note"),
        ({"decision": "same", "note": "x" * 4001}, "body.note"),
        ({"decision": "same", "pair": 3}, "body.pair"),
    ],
)
def test_a_bad_decision_is_refused_and_writes_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    pair = _open_pair(api)
    before, stored = last_audit_id(api), _count(api, PAIR_DECISIONS)
    response = api.client.post(
        f"{REVIEW}/{pair['id']}/decision", json=body, headers=api.headers("records")
    )
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == field
    assert _count(api, PAIR_DECISIONS) == stored
    assert audit_since(api, before) == []


@pytest.mark.parametrize(("pair_id", "status"), [("abc", 422), ("0", 422), ("2" * 20, 422)])
def test_a_pair_id_that_is_no_id_is_refused(api: Api, pair_id: str, status: int) -> None:
    stored = _count(api, PAIR_DECISIONS)
    h = api.headers("records")
    assert api.client.get(f"{REVIEW}/{pair_id}", headers=h).status_code == status
    posted = api.client.post(f"{REVIEW}/{pair_id}/decision", json={"decision": "same"}, headers=h)
    assert posted.status_code == status
    assert posted.json()["problems"][0]["field"] == "path.pair_id"
    assert _count(api, PAIR_DECISIONS) == stored


def test_an_unknown_pair_is_not_found_and_writes_nothing(api: Api) -> None:
    stored = _count(api, PAIR_DECISIONS)
    before = last_audit_id(api)
    posted = api.client.post(
        f"{REVIEW}/987654321/decision", json={"decision": "same"}, headers=api.headers("records")
    )
    assert posted.status_code == 404
    assert posted.json()["error"] == "not_found"
    assert _count(api, PAIR_DECISIONS) == stored
    rows = [(r["action"], r["outcome"]) for r in audit_since(api, before)]
    assert rows == [("decide_pair", "not_found")]


# ---- link requests ------------------------------------------------------------------------


def _request(api: Api, user: str, child: str, body: dict[str, Any]) -> Any:
    return api.client.post(
        f"/v1/children/{child}/link-requests", json=body, headers=api.headers(user)
    )


def _open_requests(api: Api, user: str = "records") -> list[dict[str, Any]]:
    response = api.client.get(REQUESTS, headers=api.headers(user))
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_a_caseworkers_merge_request_reaches_the_records_officers(api: Api) -> None:
    page = api.client.get("/v1/flags", params={"limit": 2}, headers=api.headers("cw")).json()
    child, other = (item["child_id"] for item in page["items"])
    before = last_audit_id(api)
    reason = "the same girl: registered twice at school\nsee both addresses"
    made = _request(api, "cw", child, {"kind": "merge", "other_child_id": other, "reason": reason})
    assert made.status_code == 201, made.text
    request = made.json()
    assert (request["kind"], request["district"], request["user_name"]) == ("merge", OWN, "cw")
    audited = [(r["action"], r["child_id"], r["outcome"]) for r in audit_since(api, before)]
    assert audited == [("request_link", child, "allowed")]
    listed = {row["id"]: row for row in _open_requests(api)}
    assert request["id"] in listed
    shown = listed[request["id"]]
    assert shown["reason"] == reason
    assert [c["child_id"] for c in shown["children"]] == [child, other]
    assert all(c["district"] == OWN and c["records"] for c in shown["children"])
    assert request["id"] not in {row["id"] for row in _open_requests(api, "records_other")}
    # the records officer answers it: one record of each child
    one, two = (shown["children"][i]["records"][0] for i in (0, 1))
    wrong = api.client.post(
        f"{REQUESTS}/{request['id']}/decision",
        json={
            **{"source_l": one["source"], "record_id_l": one["record_id"]},
            **{"source_r": one["source"], "record_id_r": one["record_id"]},
            "decision": "same",
        },
        headers=api.headers("records"),
    )
    assert wrong.status_code == 422
    answered = api.client.post(
        f"{REQUESTS}/{request['id']}/decision",
        json={
            **{"source_l": one["source"], "record_id_l": one["record_id"]},
            **{"source_r": two["source"], "record_id_r": two["record_id"]},
            "decision": "different",
            "note": "two girls",
        },
        headers=api.headers("records"),
    )
    assert answered.status_code == 201, answered.text
    assert answered.json()["request_id"] == request["id"]
    assert request["id"] not in {row["id"] for row in _open_requests(api)}


def test_a_request_about_a_child_elsewhere_answers_as_no_child(api: Api) -> None:
    elsewhere = child_of(api, OTHER)
    body = {"kind": "split", "reason": "two brothers on one child"}
    stored = _count(api, LINK_REQUESTS)
    there = _request(api, "cw", elsewhere, body)
    nowhere = _request(api, "cw", "NO-SUCH-CHILD", body)
    assert there.status_code == nowhere.status_code == 404
    assert there.json() == nowhere.json()
    assert _count(api, LINK_REQUESTS) == stored


@pytest.mark.parametrize(
    ("user", "body", "status"),
    [
        ("cw", {"kind": "split", "other_child_id": "C1", "reason": "x"}, 422),
        ("cw", {"kind": "merge", "reason": "the other is missing"}, 422),
        ("cw", {"kind": "join", "reason": "x"}, 422),
        ("cw", {"kind": "split", "reason": ""}, 422),
        ("cw", {"kind": "split", "reason": "   "}, 422),
        ("cw", {"kind": "split", "reason": "a\x00b"}, 422),
        ("cw", {"kind": "split", "reason": "x" * 4001}, 422),
        ("cw", {"kind": "merge", "other_child_id": "C\t1", "reason": "x"}, 422),
        ("analyst", {"kind": "split", "reason": "x"}, 403),
        ("records", {"kind": "split", "reason": "x"}, 403),
    ],
)
def test_a_bad_request_is_refused_and_writes_nothing(
    api: Api, user: str, body: dict[str, Any], status: int
) -> None:
    child = child_of(api, OWN)
    stored = _count(api, LINK_REQUESTS)
    response = _request(api, user, child, body)
    assert response.status_code == status, response.text
    assert response.json()["error"]
    assert _count(api, LINK_REQUESTS) == stored


def test_a_merge_with_itself_is_refused(api: Api) -> None:
    child = child_of(api, OWN)
    body = {"kind": "merge", "other_child_id": child, "reason": "same"}
    response = _request(api, "sup", child, body)
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "body.other_child_id"


# ---- the file for the next linkage -------------------------------------------------------


def test_the_pair_decisions_command_writes_what_linkage_reads(api: Api, tmp_path: Path) -> None:
    from serving.cli import app

    pair = _open_pair(api, OTHER)
    h = api.headers("records")
    for decision in ("same", "unsure", "different"):  # the last one is the one written
        url = f"{REVIEW}/{pair['id']}/decision"
        assert api.client.post(url, json={"decision": decision}, headers=h).status_code == 201
    runner = CliRunner()
    written = {}
    for name in ("d.csv", "d.parquet"):
        done = runner.invoke(
            app, ["db", "pair-decisions", "--out", str(tmp_path / name), "--url", api.url]
        )
        assert done.exit_code == 0, done.stderr
        written[name] = pl.read_parquet(tmp_path / name) if name.endswith("parquet") else None
    frame = pl.read_csv(tmp_path / "d.csv", infer_schema=False)
    assert frame.columns == ["source_l", "record_id_l", "source_r", "record_id_r", "decision"]
    assert frame.equals(written["d.parquet"])
    with api.engine.connect() as connection:
        keys = connection.execute(
            select(
                *(PAIR_DECISIONS.c[c] for c in ("source_l", "record_id_l", "source_r"))
            ).add_columns(PAIR_DECISIONS.c.record_id_r)
        ).all()
    pairs = {frozenset([(a, b), (c, d)]) for a, b, c, d in keys}
    assert frame.height == len(pairs)  # the latest decision per pair only
    row = frame.filter(
        (pl.col("record_id_l") == pair["left"]["record_id"])
        & (pl.col("record_id_r") == pair["right"]["record_id"])
    )
    assert row["decision"].to_list() == ["different"]
    links = pl.read_parquet(api.trained.data / "links.parquet")
    records = links.select("source", "record_id").with_row_index("uid").cast({"uid": pl.Int64})
    decided = read_decisions(tmp_path / "d.csv", records)
    assert decided.height == frame.height
    assert set(decided["decision"]) <= set(DECISIONS)
    assert "note" not in frame.columns


def test_review_pairs_come_from_the_linked_folder(api: Api) -> None:
    review = pl.read_parquet(api.trained.data / "review.parquet")
    assert _count(api, REVIEW_PAIRS) == review.height
