"""D2: a cursor is parsed strictly. Whatever a client makes of one (any bytes, any JSON,
huge numbers, booleans, NaN) answers 422 from the API and 400 from the queue page on
both stores, never a 500, and nothing of it is logged."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serving.attacks.common import browser, server_log, sign_in
from tests.serving.conftest import Api

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attacks")]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _encode(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


SCALARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=80),
)
CURSORS = st.one_of(
    st.binary(max_size=300).map(_encode),
    st.lists(SCALARS, max_size=5).map(_encode),
    st.tuples(SCALARS, SCALARS, SCALARS).map(lambda t: _encode(list(t))),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=80
    ),
)
CRAFTED = [
    _encode([10**30, 0.5, "a"]),  # OverflowError once
    _encode([True, False, "a"]),  # ArgumentError once
    _encode([2**40, 0.5, "a"]),  # out of PostgreSQL's smallint
    _encode([20, float("nan"), "a"]),
    _encode([20, 0.5, "a\x00b"]),
    _encode([20, 0.5, "x" * 65]),
    "[" * 200,
]


@pytest.mark.parametrize("cursor", CRAFTED)
def test_crafted_cursors_answer_422(
    api: Api, cursor: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = api.client.get("/v1/flags", params={"cursor": cursor}, headers=api.headers("cw"))
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == "query.cursor"
    assert "Traceback" not in server_log(caplog)


def test_fuzzed_cursors_never_answer_500(api: Api) -> None:
    headers = api.headers("cw")

    @FUZZ
    @given(cursor=CURSORS)
    def fuzz(cursor: str) -> None:
        response = api.client.get("/v1/flags", params={"cursor": cursor}, headers=headers)
        assert response.status_code in (200, 422), (cursor, response.text)

    fuzz()


def test_a_cursor_issued_here_still_pages(api: Api) -> None:
    headers = api.headers("cw")
    first = api.client.get("/v1/flags?limit=2", headers=headers).json()
    assert first["next_cursor"]
    following = api.client.get(
        "/v1/flags", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
    )
    assert following.status_code == 200
    assert {i["child_id"] for i in following.json()["items"]}.isdisjoint(
        {i["child_id"] for i in first["items"]}
    )


@pytest.mark.parametrize("cursor", CRAFTED[:4])
def test_the_queue_page_answers_a_crafted_cursor_with_a_page(api: Api, cursor: str) -> None:
    page = browser(api)
    assert sign_in(page, "cw").status_code == 303
    response = page.get("/queue", params={"cursor": cursor})
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
