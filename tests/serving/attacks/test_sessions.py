"""D7: a page session ends when its user's credentials change: a new password, revoked
tokens, a disabled user."""

from __future__ import annotations

import pytest

from serving.signin import set_password
from tests.serving.attacks.common import browser, sign_in
from tests.serving.conftest import Api, password_of

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attacks")]


def _signed_in(api: Api, name: str) -> object:
    page = browser(api)
    assert sign_in(page, name).status_code == 303
    assert page.get("/queue", follow_redirects=False).status_code == 200
    return page


def _ended(page: object) -> bool:
    response = page.get("/queue", follow_redirects=False)  # type: ignore[attr-defined]
    return response.status_code == 303 and "/login" in response.headers["location"]


def test_a_new_password_ends_every_session(api: Api) -> None:
    first, second = _signed_in(api, "cw"), _signed_in(api, "cw")
    set_password(api.engine, "cw", password_of("cw"))  # even the same one, set again
    assert _ended(first)
    assert _ended(second)
    assert not _ended(_signed_in(api, "cw"))


def test_revoking_a_users_tokens_ends_their_sessions(api: Api) -> None:
    page = _signed_in(api, "sup")
    revoked = api.client.post("/v1/admin/users/sup/revoke", headers=api.headers("admin"))
    assert revoked.status_code == 200
    assert _ended(page)
