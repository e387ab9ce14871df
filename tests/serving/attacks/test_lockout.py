"""D6: failed sign-ins are throttled per client and per name from a client. Nothing tells
a real name from an unknown one, nobody can lock a caseworker out from elsewhere, and a
client past its limit waits (429, Retry-After), whatever it sends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.serving.attacks.common import audit_since, browser, last_audit_id, sign_in
from tests.serving.conftest import Api, Trained, served

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attacks")]
PER_NAME, PER_CLIENT = 3, 8


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def throttled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, trained: Trained
) -> Iterator[Api]:
    """The app with its own limits, on either store."""
    yield from served(
        request.param,
        tmp_path_factory,
        trained,
        failures_per_name=PER_NAME,
        failures_per_client=PER_CLIENT,
    )


def _attempts(api: Api, address: str, name: str, times: int) -> list[tuple[int, str]]:
    page = browser(api, address)
    answers = []
    for _ in range(times):
        response = sign_in(page, name, "not the password")
        text = response.text.replace(name, "NAME")  # the form echoes the name typed
        answers.append((response.status_code, text.split('name="csrf"')[0]))
    return answers


def test_a_real_name_and_an_unknown_one_are_answered_alike(throttled: Api) -> None:
    real = _attempts(throttled, "10.1.0.1", "sup", PER_NAME + 2)
    unknown = _attempts(throttled, "10.1.0.2", "nobody.here", PER_NAME + 2)
    assert [s for s, _ in real] == [401] * PER_NAME + [429, 429]
    assert real == unknown


def test_nobody_can_lock_a_caseworker_out_from_elsewhere(throttled: Api) -> None:
    _attempts(throttled, "10.2.0.1", "cw", PER_NAME + 3)
    assert sign_in(browser(throttled, "10.2.0.1"), "cw").status_code == 429  # even the password
    assert sign_in(browser(throttled, "10.2.0.2"), "cw").status_code == 303  # elsewhere: in


def test_a_client_past_its_limit_waits_for_any_name(throttled: Api) -> None:
    before = last_audit_id(throttled)
    page = browser(throttled, "10.3.0.1")
    statuses = [sign_in(page, f"guess{i}", "x").status_code for i in range(PER_CLIENT)]
    assert statuses == [401] * PER_CLIENT
    refused = sign_in(page, "analyst")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 900
    outcomes = [r["outcome"] for r in audit_since(throttled, before)]
    assert outcomes == ["denied"] * PER_CLIENT + ["throttled"]


def test_failed_tokens_are_throttled_but_valid_ones_pass(throttled: Api) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(throttled.client.app, client=("10.4.0.1", 1))
    bad = {"Authorization": "Bearer rf_000000000000_" + "A" * 43}
    statuses = [client.get("/v1/model", headers=bad).status_code for _ in range(PER_CLIENT + 1)]
    assert statuses == [401] * PER_CLIENT + [429]
    assert client.get("/v1/model", headers=bad).headers["retry-after"]
    assert client.get("/v1/model", headers=throttled.headers("analyst")).status_code == 200
