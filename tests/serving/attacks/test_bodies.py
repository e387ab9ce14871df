"""D9 and D10: an oversize body answers 413 however it arrives; a posted case history is
audited against a stored child only when it is that child, and a refused one with the
district it named."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.serving.attacks.common import audit_since, child_of, last_audit_id
from tests.serving.conftest import OTHER, OWN, Api
from tests.serving.test_api import score_body

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attacks")]
LIMIT = 200_000  # the test app's max_body_bytes


def _chunks(size: int, chunk: int = 16_384) -> Iterator[bytes]:
    sent = 0
    while sent < size:
        yield b" " * min(chunk, size - sent)
        sent += chunk


@pytest.mark.parametrize("route", ["/v1/score", "/v1/admin/users", "/login"])
def test_an_oversize_body_is_413_chunked_or_declared(api: Api, route: str) -> None:
    headers = {**api.headers("admin"), "Content-Type": "application/json"}
    chunked = api.client.post(route, content=_chunks(LIMIT + 1), headers=headers)
    assert chunked.status_code == 413, chunked.text
    assert chunked.json()["error"] == "body_too_large"
    declared = api.client.post(route, content=b" " * (LIMIT + 1), headers=headers)
    assert declared.status_code == 413
    odd = api.client.post(route, content=b"{}", headers={**headers, "Content-Length": "x"})
    assert odd.status_code == 400


def test_a_body_within_the_limit_in_chunks_is_read_whole(api: Api) -> None:
    import json

    body = json.dumps(score_body(api, child_of(api, OWN))).encode()
    response = api.client.post(
        "/v1/score?top=1",
        content=iter([body[:100], body[100:]]),
        headers={**api.headers("cw"), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


def test_a_posted_history_is_audited_against_the_same_child_only(api: Api) -> None:
    own, elsewhere = child_of(api, OWN), child_of(api, OTHER)
    before = last_audit_id(api)
    same = score_body(api, own)
    foreign_id = score_body(api, own)  # a Chaoyang history that borrows a Haidian child's id
    foreign_id["child"]["child_id"] = elsewhere
    for event in foreign_id["events"]:
        event["child_id"] = elsewhere
    refused = score_body(api, elsewhere)  # a Haidian history, posted by a Chaoyang worker
    for body, status in ((same, 200), (foreign_id, 200), (refused, 403)):
        answered = api.client.post("/v1/score?top=1", json=body, headers=api.headers("cw"))
        assert answered.status_code == status, answered.text
    rows = [(r["child_id"], r["district"], r["outcome"]) for r in audit_since(api, before)]
    assert rows == [(own, OWN, "allowed"), (None, OWN, "allowed"), (elsewhere, OTHER, "denied")]
