"""Schemathesis over the served OpenAPI schema, on a SQLite and a PostgreSQL store: no 5xx,
and every answer as documented (status code, content type, body), for every /v1
operation, /healthz and /readyz, with positive and negative data (NUL characters and
strings past every declared length among them), as a supervisor, an admin, an analyst
and without a valid token.

Cases come from ``APIOperation.as_strategy`` under plain Hypothesis (schemathesis' own
pytest loader, ``schemathesis.pytest.from_fixture``, fails under pytest 9: it sets
``Node._nodeid``) and reach the app in process through schemathesis' ASGI transport."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.python import asgi

from serving.api.schemas import BatchOut, RiskOut
from serving.users import add_user
from tests.serving.conftest import OWN, ROLE_USERS, Api, Trained, served
from tests.serving.test_api import score_body

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]

# the supervisor of OWN (reaches OWN's children), an admin, an analyst, no token
ROLES = ("sup", "admin", "analyst", None)
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",  # malformed input answers 4xx
)
BATCHES = "/v1/admin/batches"  # rescores the whole store (seconds): called once, explicitly
# users the admin endpoints may give tokens to, revoke and disable (never a fixture's user)
THROWAWAY = ("fuzz.one", "fuzz.two", "fuzz.three")
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

LoadSchema = Callable[[str | None], schemathesis.BaseSchema]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sqlite_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, trained: Trained
) -> Iterator[Api]:
    """The served app on either store (the name is historical: both stores are fuzzed)."""
    yield from served(request.param, tmp_path_factory, trained)


@pytest.fixture(scope="module")
def known(sqlite_api: Api) -> dict[str, list[str]]:
    """Values for the path parameters of generated cases. child_id: flagged and unflagged
    children of OWN (reachable as ``sup``; the first one flagged) and a child of OTHER (404
    for ``sup``); name: throwaway users, so that fuzzing the admin endpoints revokes no
    role's token."""
    for name in THROWAWAY:
        add_user(sqlite_api.engine, name, "caseworker", [OWN])
    found: list[str] = []
    for user, flagged in (("sup", "true"), ("sup", "false"), ("sup_other", "true")):
        page = sqlite_api.client.get(
            "/v1/flags", params={"limit": 3, "flagged": flagged}, headers=sqlite_api.headers(user)
        )
        assert page.status_code == 200, page.text
        found += [item["child_id"] for item in page.json()["items"]]
    assert len(set(found)) >= 4, found
    return {"child_id": list(dict.fromkeys(found)), "name": list(THROWAWAY)}


@pytest.fixture(scope="module")
def load_schema(sqlite_api: Api) -> Iterator[LoadSchema]:
    """The app's own /openapi.json, requests sent with a role's bearer token."""

    def load(role: str | None) -> schemathesis.BaseSchema:
        config = schemathesis.Config.from_dict(
            {
                "headers": sqlite_api.headers(role) if role else {},
                # NUL in generated strings (PostgreSQL's text cannot hold it), UTF-8 beyond
                "generation": {"allow-x00": True, "codec": "utf-8"},
                "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            }
        )
        return schemathesis.openapi.from_asgi("/openapi.json", sqlite_api.client.app, config=config)

    yield load
    # schemathesis ran the app's lifespan a second time (besides the TestClient's): end it
    asgi.shutdown_lifespans()


def _fuzz(
    operation: APIOperation,
    mode: GenerationMode,
    headers: dict[str, str],
    known: dict[str, list[str]],
) -> None:
    strategy = operation.as_strategy(generation_mode=mode)
    if mode.is_positive:
        # and the schema's own examples (a score request, decisions, a user)
        strategy = st.one_of(strategy, *operation.get_strategies_from_examples())

    @FUZZ
    @given(case=strategy, data=st.data())
    def fuzz(case: Case, data: st.DataObject) -> None:
        path = case.path_parameters or {}
        for name, values in known.items():
            if name not in path:
                continue
            # a random value names nobody (404): half the time, a stored child or user
            if path[name] in ROLE_USERS or (mode.is_positive and data.draw(st.booleans())):
                path[name] = data.draw(st.sampled_from(values))
        # the role's token also replaces the random ones examples come with
        case.call_and_validate(headers=headers)

    fuzz()


def _negatable(operation: APIOperation) -> bool:
    """Whether negative data can be generated: a plain string path parameter has no invalid
    value on the wire, and an operation without query or body has nothing to break."""
    return bool(len(operation.query) or len(operation.body))


@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "no-token")
def test_every_operation_answers_as_documented(
    load_schema: LoadSchema,
    sqlite_api: Api,
    known: dict[str, list[str]],
    role: str | None,
    mode: GenerationMode,
) -> None:
    schema = load_schema(role).exclude(method="POST", path=BATCHES)
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = {operation.path for operation in operations}
    assert {"/healthz", "/readyz", "/v1/score", "/v1/flags", "/v1/audit"} <= paths, paths
    assert BATCHES not in paths
    headers = sqlite_api.headers(role) if role else {}
    failures = []
    for operation in operations:
        if mode.is_negative and not _negatable(operation):
            continue
        try:
            _fuzz(operation, mode, headers, known)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
            failures.append(f"{operation.label} ({mode} data, as {role or 'no token'}):\n{exc}")
    assert not failures, "\n\n".join(failures)


def test_a_score_answers_as_documented(
    load_schema: LoadSchema, sqlite_api: Api, known: dict[str, list[str]]
) -> None:
    """A real case history (random ones break the data contract or name another district)."""
    child = known["child_id"][0]
    case = load_schema("sup")["/v1/score"]["POST"].Case(
        body=score_body(sqlite_api, child), query={"top": 3, "lang": "zh-CN"}
    )
    response = case.call_and_validate(headers=sqlite_api.headers("sup"))
    assert response.status_code == 200, response.text
    assert RiskOut.model_validate(response.json()).child_id == child


def test_a_batch_answers_as_documented(load_schema: LoadSchema, sqlite_api: Api) -> None:
    operation = load_schema(None)[BATCHES]["POST"]
    for role, body, status in (
        (None, None, 401),
        ("sup", None, 403),
        ("admin", {"as_of": "not a date"}, 422),
        ("admin", {"as_of": "2025-12-01"}, 201),  # the one rescoring the store
    ):
        headers = sqlite_api.headers(role) if role else {}
        response = operation.Case(body=body, headers=headers).call_and_validate()
        assert response.status_code == status, response.text
    batch = BatchOut.model_validate(response.json())
    assert batch.as_of.isoformat() == "2025-12-01"
    assert batch.created_by == "admin"
