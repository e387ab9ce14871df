"""What the attack tests share: the audit rows a request left, a child of a district."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from serving.store.tables import AuditRecord
from tests.serving.conftest import OWN, Api, password_of

LONG_ID = "B" * 65
NUL_ID = "BJ\x0012"
BAD_IDS = (LONG_ID, NUL_ID, "BJ\t12", "BJ\n12")


def last_audit_id(api: Api) -> int:
    with api.engine.connect() as connection:
        return int(connection.execute(select(func.coalesce(func.max(AuditRecord.id), 0))).scalar())


def audit_since(api: Api, before: int) -> list[dict[str, Any]]:
    with api.engine.connect() as connection:
        rows = connection.execute(
            select(AuditRecord).where(AuditRecord.id > before).order_by(AuditRecord.id)
        ).mappings()
        return [dict(row) for row in rows]


def child_of(api: Api, district: str, flagged: bool = True) -> str:
    user = "cw" if district == OWN else "cw_other"
    page = api.client.get(
        "/v1/flags", params={"limit": 1, "flagged": flagged}, headers=api.headers(user)
    ).json()
    child: str = page["items"][0]["child_id"]
    return child


def browser(api: Api, address: str = "testclient") -> TestClient:
    """A browser of its own (cookies), from ``address``, on the same app."""
    return TestClient(api.client.app, base_url="http://testserver", client=(address, 50000))


def csrf_of(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def sign_in(client: TestClient, name: str, password: str | None = None) -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "name": name,
            "password": password if password is not None else password_of(name),
            "csrf": csrf_of(page.text),
            "next": "/",
        },
        follow_redirects=False,
    )


def server_log(caplog: Any) -> str:
    """What the service logged (not the test's own HTTP client, which logs its URLs)."""
    return "\n".join(
        record.getMessage() + (record.exc_text or "")
        for record in caplog.records
        if not record.name.startswith("httpx")
    )


def signed_in(api: Api, name: str) -> TestClient:
    """A browser of its own, signed in as ``name`` with their page password."""
    client = browser(api)
    answer = sign_in(client, name)
    assert answer.status_code == 303, answer.text
    return client
