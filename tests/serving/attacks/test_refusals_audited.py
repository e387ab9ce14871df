"""D5: every refusal is audited: each role a route does not admit, a token that is no
token, a child outside the caller's districts, a district filter outside them (API and
pages), a page a role does not open, a forged form, and every sign-in and sign-out."""

from __future__ import annotations

import pytest

from tests.serving.attacks.common import audit_since, browser, last_audit_id, sign_in
from tests.serving.conftest import OTHER, Api
from tests.serving.test_api import MATRIX, USERS, _calls

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attacks")]

ACTIONS = {  # the action each endpoint of the matrix is audited as
    "risk": "read_risk",
    "history": "read_history",
    "decisions.get": "read_decisions",
    "decisions.post": "record_decision",
    "score": "score_request",
    "flags.own": "read_queue",
    "flags": "read_queue",
    "district_decisions": "read_decisions",
    "aggregates": "read_aggregates",
    "audit": "read_audit",
    "reload": "model_reload",
    "review": "read_review",
    "review.pair": "read_review",
    "review.decide": "decide_pair",
    "requests": "read_review",
    "requests.answer": "decide_pair",
    "link_requests.post": "request_link",
    "overrides": "read_aggregates",
    "what_if": "read_risk",
    "family_summary": "family_summary",
    "corrections.get": "read_history",
    "corrections.post": "correct_record",
    "monitoring": "read_monitoring",
    "separations.get": "read_history",
    "separations.post": "separate_member",
}


def test_every_refusal_of_the_authorization_matrix_is_audited(api: Api) -> None:
    calls = _calls(api)
    missing = []
    for endpoint, expected in MATRIX.items():
        for user, status in zip(USERS, expected, strict=True):
            if status < 400:
                continue
            before = last_audit_id(api)
            response = calls[endpoint](api, endpoint, api.headers(user) if user else {})
            assert response.status_code == status, (endpoint, user)
            rows = audit_since(api, before)
            refused = [r for r in rows if r["outcome"] in ("denied", "not_found")]
            wanted = ("(anonymous)", "authenticate") if status == 401 else (user, ACTIONS[endpoint])
            last = (refused[-1]["user_name"], refused[-1]["action"]) if refused else None
            if last != wanted:
                missing.append(f"{endpoint} as {user} ({status}): {rows}")
    assert not missing, "\n".join(missing)


def test_page_refusals_are_audited(api: Api) -> None:
    caseworker = browser(api)
    before = last_audit_id(api)
    assert sign_in(caseworker, "cw").status_code == 303
    assert caseworker.get(f"/queue?district={OTHER}").status_code == 403
    assert caseworker.get("/model").status_code == 403
    assert caseworker.get("/monitoring").status_code == 403
    analyst = browser(api)
    assert sign_in(analyst, "analyst").status_code == 303
    assert analyst.get("/queue").status_code == 403
    forged = caseworker.post("/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    rows = [
        (r["user_name"], r["action"], r["outcome"], r["district"]) for r in audit_since(api, before)
    ]
    assert rows == [
        ("cw", "sign_in", "allowed", None),
        ("cw", "read_queue", "denied", OTHER),
        ("cw", "read_model", "denied", None),
        ("cw", "read_monitoring", "denied", None),
        ("analyst", "sign_in", "allowed", None),
        ("analyst", "read_queue", "denied", None),
        ("cw", "sign_out", "denied", None),
    ]


def test_every_sign_in_attempt_and_sign_out_is_audited(api: Api) -> None:
    page = browser(api)
    before = last_audit_id(api)
    assert sign_in(page, "sup", "wrong password here").status_code == 401
    assert sign_in(page, "no.such.user", "wrong password here").status_code == 401
    assert sign_in(page, "sup").status_code == 303
    home = page.get("/queue")
    marker = 'name="csrf" value="'
    csrf = home.text.split(marker, 1)[1].split('"', 1)[0]
    assert page.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    rows = [(r["user_name"], r["action"], r["outcome"]) for r in audit_since(api, before)]
    assert ("sup", "sign_in", "denied") in rows
    assert ("(anonymous)", "sign_in", "denied") in rows  # never the name typed
    assert ("sup", "sign_in", "allowed") in rows
    assert rows[-1] == ("sup", "sign_out", "allowed")
    assert all("no.such.user" not in str(r) for r in audit_since(api, before))
