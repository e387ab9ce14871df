"""Schemathesis over the served OpenAPI schema (SQLite store only): no 5xx and every response
as documented (status code, content type, body) for every /v1 operation, /healthz and
/readyz, with positive and negative data, as several roles and without a token.

Cases come from ``APIOperation.as_strategy`` under plain Hypothesis (schemathesis' own
pytest loader, ``schemathesis.pytest.from_fixture``, does not run under pytest 9), and go
to the app in process through schemathesis' ASGI transport."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi

from tests.serving.conftest import Api, Trained, make_api

from collections import Counter
SEEN: Counter = Counter()

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]

# who calls: the supervisor of OWN (reaches OWN's children), an admin, an analyst, nobody
ROLES = ("sup", "admin", "analyst", None)
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
MAX_EXAMPLES = 30
BATCHES = "/v1/admin/batches"  # rescores the whole store: called once, explicitly
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _config(headers: dict[str, str]) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "headers": headers,
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )


@pytest.fixture(scope="module")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory, trained: Trained) -> Iterator[Api]:
    store = tmp_path_factory.mktemp("schemathesis") / "store.db"
    yield from make_api(f"sqlite:///{store}", trained)


@pytest.fixture(scope="module")
def child_ids(sqlite_api: Api) -> list[str]:
    """Children the generated cases also ask about: flagged and unflagged children of OWN
    (reachable as ``sup``) and a child of OTHER (404 for ``sup``)."""
    found: list[str] = []
    for user, flagged in (("sup", "true"), ("sup", "false"), ("sup_other", "true")):
        page = sqlite_api.client.get(
            "/v1/flags", params={"limit": 3, "flagged": flagged}, headers=sqlite_api.headers(user)
        )
        assert page.status_code == 200, page.text
        found += [item["child_id"] for item in page.json()["items"]]
    assert len(found) >= 4, found
    return found


@pytest.fixture(scope="module")
def load_schema(sqlite_api: Api) -> Iterator[Any]:
    """The app's own /openapi.json, with a role's bearer token on every request."""

    def load(role: str | None) -> schemathesis.BaseSchema:
        headers = sqlite_api.headers(role) if role else {}
        return schemathesis.openapi.from_asgi(
            "/openapi.json", sqlite_api.client.app, config=_config(headers)
        )

    yield load
    # schemathesis runs the app's lifespan once more, besides the TestClient's: end it
    asgi.shutdown_lifespans()


def _fuzz(operation: Any, mode: GenerationMode, child_ids: list[str]) -> None:
    strategy = operation.as_strategy(generation_mode=mode)
    if mode.is_positive:
        # the examples of the schema (a score request, decisions) as well
        strategy = st.one_of(strategy, *operation.get_strategies_from_examples())

    @SETTINGS
    @given(case=strategy, data=st.data())
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        if mode.is_positive and "child_id" in (case.path_parameters or {}):
            # a random id is nobody (404): half the time ask about a stored child
            if data.draw(st.booleans(), label="known child"):
                case.path_parameters["child_id"] = data.draw(st.sampled_from(child_ids))
        response = case.call_and_validate()
        SEEN[(operation.label, str(mode), response.status_code)] += 1

    run()


@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "no-token")
def test_every_operation_answers_as_documented(
    load_schema: Any, child_ids: list[str], role: str | None, mode: GenerationMode
) -> None:
    schema = load_schema(role).exclude(method="POST", path=BATCHES)
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = {operation.path for operation in operations}
    assert {"/healthz", "/readyz", "/v1/score", "/v1/flags"} <= paths, paths
    failures = []
    for operation in operations:
        try:
            _fuzz(operation, mode, child_ids)
        except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup is a BaseExceptionGroup
            failures.append(f"{operation.label} ({mode}, as {role or 'nobody'}):\n{exc}")
    for key, n in sorted(SEEN.items()):
        print(role, *key, n)
    SEEN.clear()
    assert not failures, "\n\n".join(failures)


def test_a_batch_answers_as_documented(load_schema: Any, sqlite_api: Api) -> None:
    operation = load_schema(None)[BATCHES]["POST"]
    for role, body, status in (
        ("admin", {"as_of": "2025-12-01"}, 201),
        ("admin", None, 201),
        ("sup", None, 403),
        ("admin", {"as_of": "not a date"}, 422),
    ):
        case = operation.Case(body=body, headers=sqlite_api.headers(role))
        response = case.call_and_validate()
        assert response.status_code == status, response.text
