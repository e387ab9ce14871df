"""D11: the events of posted histories being scored at once are bounded; past the budget
a request answers 503 with Retry-After at once, and is served again when room is made."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from serving import risk
from serving.budget import EventBudget, OverBudgetError
from tests.serving.attacks.common import child_of
from tests.serving.conftest import OWN, Api, Trained, served
from tests.serving.test_api import score_body

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attacks")]


def test_the_budget_admits_within_and_refuses_beyond() -> None:
    budget = EventBudget(10)
    with budget.take(6), budget.take(4):
        assert budget.in_flight == 10
        with pytest.raises(OverBudgetError, match="budget of 10"), budget.take(1):
            pass
    assert budget.in_flight == 0
    with pytest.raises(OverBudgetError), budget.take(11):
        pass


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def bounded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, trained: Trained
) -> Iterator[Api]:
    """The app with its own limits, on either store."""
    yield from served(
        request.param,
        tmp_path_factory,
        trained,
        max_events_per_request=150,
        max_events_in_flight=200,
    )


def test_a_burst_past_the_budget_answers_503_then_is_served(
    bounded: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = score_body(bounded, child_of(bounded, OWN))
    body["events"] = [dict(e) for e in (body["events"] * 150)[:120]]  # one fits, two do not
    for i, event in enumerate(body["events"]):
        event["event_id"] = f"E{i}"
    service = bounded.client.app.state.service  # type: ignore[attr-defined]
    entered, release = threading.Event(), threading.Event()
    explain = risk.explain_child

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(30)
        return explain(*args, **kwargs)

    monkeypatch.setattr(risk, "explain_child", held)
    first: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: first.update(
            r=bounded.client.post("/v1/score?top=1", json=body, headers=bounded.headers("cw"))
        )
    )
    worker.start()
    assert entered.wait(30), first["r"].text[:600]
    second = bounded.client.post("/v1/score?top=1", json=body, headers=bounded.headers("cw"))
    assert second.status_code == 503
    assert second.json()["error"] == "busy"
    assert second.headers["retry-after"]
    release.set()
    worker.join(30)
    assert first["r"].status_code == 200, first["r"].text
    assert service.budget.in_flight == 0
    again = bounded.client.post("/v1/score?top=1", json=body, headers=bounded.headers("cw"))
    assert again.status_code == 200
