"""Identity data (a child's name, an ID number) appears on the child page to the child's
own caseworkers and supervisors, and nowhere else: in no API response to anyone, on no
other page, in no log line.

The surface is enumerated from the app at test time (every GET operation of its OpenAPI
document and every page route), so that a route added later is covered without editing
this file. One exception, by design: records officers decide pairs of records on the
linkage review routes (``/v1/linkage/review...`` and any review page), which show the
records' identity data to them; those routes are left out for the records officers only.
There is no queue export (CSV or JSON file) to check: the queue is /v1/flags and /queue,
both covered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from serving.store.tables import IDENTITIES, LINK_REQUESTS, REVIEW_PAIRS, SCORES
from tests.serving.attacks.common import signed_in
from tests.serving.conftest import OWN, ROLE_USERS, Api
from tests.serving.test_api import score_body

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]

RECORDS_OFFICERS: Final = tuple(
    name for name, (role, _) in ROLE_USERS.items() if role == "records_officer"
)
# where records officers legitimately read the records' identity (deciding pairs)
REVIEW_PATHS: Final = ("/v1/linkage/review", "/linkage/review", "/review")
# who legitimately sees identity on the child page: OWN's caseworker and supervisor
CHILD_PAGE: Final = "/children/{child_id}"
# and the summary printed for the child's family, which names the child (and no one else:
# tests/serving/test_family_summary.py)
FAMILY_PAGE: Final = "/children/{child_id}/family-summary"
# and the form marking a household member apart from the child, which names both, as the
# child page does
SEPARATION_PAGE: Final = "/children/{child_id}/household/{member_id}/separate"
OWN_DISTRICT_USERS: Final = tuple(
    name
    for name, (role, districts) in ROLE_USERS.items()
    if role in ("caseworker", "supervisor") and OWN in districts
)


def _identities(api: Api) -> list[str]:
    """Every name and ID number in the store's identities."""
    with api.engine.connect() as connection:
        rows = connection.execute(select(IDENTITIES.c.name, IDENTITIES.c.id_number)).all()
    found = sorted({value for row in rows for value in row if value})
    assert len(found) > 100, "the store holds no identity data to look for"
    return found


def _path_values(api: Api) -> dict[str, str]:
    """A real value for each path parameter the routes use (a child of OWN, a review pair,
    a link request, a user, a language, a statistics file: the statistics published
    first); any other parameter gets ``1``."""
    from features.deployment import Deployment
    from serving.statistics import publish_statistics
    from serving.store.statistics import latest_statistics

    with api.engine.connect() as connection:
        published = latest_statistics(connection) is not None
    if not published:
        publish_statistics(api.engine, Deployment(), "tests")
    with api.engine.connect() as connection:
        child = connection.execute(
            select(SCORES.c.child_id).where(SCORES.c.district == OWN).limit(1)
        ).scalar_one()
        pair = connection.execute(select(REVIEW_PAIRS.c.id).limit(1)).scalar()
        request = connection.execute(select(LINK_REQUESTS.c.id).limit(1)).scalar()
    return {
        "child_id": str(child),
        "pair_id": str(pair or 1),
        "request_id": str(request or 1),
        "name": "cw",
        "language": "en",
        "file_name": "statistics.csv",
    }


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: quote(values.get(m.group(1), "1")), path)


def _api_gets(api: Api) -> list[str]:
    paths = api.client.app.openapi()["paths"]
    found = sorted(path for path, operations in paths.items() if "get" in operations)
    assert "/v1/children/{child_id}/history" in found
    return found


def _routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """The app's routes, through the routers it included (FastAPI keeps an included
    router whole, as one route holding the ``original_router``; none has a prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)


def _page_gets(api: Api) -> list[str]:
    """Every page (a GET route outside the OpenAPI document), the static files aside."""
    found = sorted(
        route.path
        for route in _routes(api.client.app.routes)
        if not route.include_in_schema and "GET" in (route.methods or ())
    )
    assert CHILD_PAGE in found
    assert "/queue" in found
    return found


def _reviewing(user: str, path: str) -> bool:
    return user in RECORDS_OFFICERS and path.startswith(REVIEW_PATHS)


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [secret for secret in secrets if secret in text][:3]


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record of every logger, at DEBUG (SQLAlchemy's statements, parameters
    and rows included: a route that merely read identity data would show here)."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(repr(record.args))
    return "\n".join(lines)


@pytest.mark.parametrize("user", sorted(ROLE_USERS))
def test_no_api_response_and_no_log_carries_identity(
    api: Api, user: str, every_log: pytest.LogCaptureFixture
) -> None:
    secrets, values = _identities(api), _path_values(api)
    body = score_body(api, values["child_id"])
    every_log.clear()  # what the test itself read to know what to look for
    answered: dict[str, Any] = {}
    for path in _api_gets(api):
        if _reviewing(user, path):
            continue
        response = api.client.get(_fill(path, values), headers=api.headers(user))
        answered[path] = response.status_code
        assert not _leaks(response.text, secrets), f"{user} GET {path}"
    posted = api.client.post("/v1/score?top=500", json=body, headers=api.headers(user))
    assert not _leaks(posted.text, secrets), f"{user} POST /v1/score"
    assert 200 in answered.values(), answered  # the calls were answered, not all refused
    assert not _leaks(_logged(every_log), secrets), f"the log of {user}'s calls"


@pytest.mark.parametrize("user", sorted(ROLE_USERS))
def test_no_page_but_the_childs_own_carries_identity(
    api: Api, user: str, every_log: pytest.LogCaptureFixture
) -> None:
    secrets, values = _identities(api), _path_values(api)
    every_log.clear()
    browser = signed_in(api, user)
    answered: dict[str, int] = {}
    for path in _page_gets(api):
        if _reviewing(user, path) or (
            path in (CHILD_PAGE, FAMILY_PAGE, SEPARATION_PAGE) and user in OWN_DISTRICT_USERS
        ):
            continue
        # each page is visited itself: a redirect (the start page's) is not followed into
        # a page left out above
        response = browser.get(_fill(path, values), follow_redirects=False)
        answered[path] = response.status_code
        assert not _leaks(response.text, secrets), f"{user} page {path}"
    assert 200 in answered.values(), answered
    assert not _leaks(_logged(every_log), secrets), f"the log of {user}'s pages"


def test_the_childs_own_caseworker_does_see_identity_on_the_child_page(api: Api) -> None:
    """The check above finds what it looks for: the child page does carry it."""
    secrets, values = _identities(api), _path_values(api)
    page = signed_in(api, OWN_DISTRICT_USERS[0]).get(_fill(CHILD_PAGE, values))
    assert page.status_code == 200, page.text
    assert _leaks(page.text, secrets)
