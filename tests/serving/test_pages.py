"""The pages over HTTP (the browser tests drive them in Chromium): sign-in, lockout, CSRF,
roles and districts, audit, and the Chinese catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select

from serving.errors import DomainError
from serving.pages import words
from serving.signin import set_password
from serving.store.tables import AuditRecord
from tests.serving.conftest import OTHER, OWN, Api

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]
PASSWORD = "a long enough pass phrase"
ROOT = Path(__file__).resolve().parents[2]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def _browser(api: Api) -> TestClient:
    """A second client on the same app: its own cookie jar, like a second browser."""
    return TestClient(api.client.app, base_url="http://testserver")


def _sign_in(client: TestClient, name: str, password: str = PASSWORD) -> int:
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"name": name, "password": password, "csrf": _csrf(form.text), "next": "/"},
        follow_redirects=False,
    )
    return response.status_code


@pytest.fixture(autouse=True)
def passwords(api: Api) -> None:
    for name in ("cw", "cw_other", "sup", "analyst"):
        set_password(api.engine, name, PASSWORD)


def test_sign_in_sets_a_safe_session_cookie_and_sign_out_ends_it(api: Api) -> None:
    browser = _browser(api)
    assert browser.get("/queue", follow_redirects=False).headers["location"].startswith("/login")
    form = browser.get("/login")
    signed = browser.post(
        "/login",
        data={"name": "cw", "password": PASSWORD, "csrf": _csrf(form.text), "next": "/queue"},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/queue"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    queue = browser.get("/queue")
    assert queue.status_code == 200
    assert queue.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in queue.headers["content-security-policy"]
    out = browser.post("/logout", data={"csrf": _csrf(queue.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert browser.get("/queue", follow_redirects=False).status_code == 303


def test_a_form_without_its_csrf_token_is_refused(api: Api) -> None:
    browser = _browser(api)
    assert _sign_in(browser, "cw") == 303
    queue = browser.get("/queue")
    child = re.search(r'href="/children/([^"]+)"', queue.text)
    assert child
    decision = {"action": "home_visit", "agrees": "yes", "note": "n"}
    refused = browser.post(f"/children/{child.group(1)}/decisions", data=decision)
    assert refused.status_code == 403
    forged = browser.post(
        f"/children/{child.group(1)}/decisions", data={**decision, "csrf": "forged"}
    )
    assert forged.status_code == 403
    login_forged = _browser(api).post(
        "/login", data={"name": "cw", "password": PASSWORD, "csrf": "x"}, follow_redirects=False
    )
    assert login_forged.status_code == 403


def test_a_password_is_at_least_twelve_characters(api: Api) -> None:
    with pytest.raises(DomainError, match=r"at least"):
        set_password(api.engine, "cw", "short")
    with pytest.raises(DomainError, match=r"NUL"):
        set_password(api.engine, "cw", "long enough\x00 but not")


def test_caseworkers_see_only_their_districts_and_analysts_no_child(api: Api) -> None:
    browser = _browser(api)
    assert _sign_in(browser, "cw") == 303
    queue = browser.get("/queue").text
    shown = re.findall(r'href="/children/([^"]+)"', queue)
    assert shown
    assert OTHER not in queue
    elsewhere = api.client.get("/v1/flags?limit=1", headers=api.headers("cw_other")).json()
    other_child = elsewhere["items"][0]["child_id"]
    assert browser.get(f"/children/{other_child}").status_code == 404
    assert browser.get(f"/queue?district={OTHER}").status_code == 403
    analyst = _browser(api)
    assert _sign_in(analyst, "analyst") == 303
    assert analyst.get(f"/children/{shown[0]}").status_code == 403
    assert analyst.get("/queue").status_code == 403
    assert analyst.get("/model").status_code == 200
    assert browser.get("/model").status_code == 403  # caseworkers: no model page


def test_the_model_page_says_how_the_training_data_was_linked(api: Api) -> None:
    analyst = _browser(api)
    assert _sign_in(analyst, "analyst") == 303
    page = analyst.get("/model").text
    section = page[
        page.index('id="linkage-heading"') : page.index("</section>", page.index("linkage-heading"))
    ]
    assert "Share of records joined by ID number, by the model" in section
    assert re.search(r"All records</th>(<td>[\d.]+%</td>){4}</tr>", section)
    assert re.search(r"Hukou = local hukou</th>(<td>[\d.]+%</td>){4}</tr>", section)
    assert re.search(r"Area = (core|inner|outlying) districts</th>", section)
    assert "Pairwise precision" in section  # the fixture links against the synthetic truth
    assert "/children/" not in section  # no child: figures only


def test_reading_a_child_page_is_audited_like_the_api(api: Api) -> None:
    browser = _browser(api)
    assert _sign_in(browser, "sup") == 303
    child = re.findall(r'href="/children/([^"]+)"', browser.get("/queue").text)[0]
    with api.engine.connect() as connection:
        before = connection.execute(select(AuditRecord.id).order_by(AuditRecord.id.desc())).first()
    page = browser.get(f"/children/{child}")
    assert page.status_code == 200
    with api.engine.connect() as connection:
        rows = connection.execute(
            select(AuditRecord.action, AuditRecord.child_id, AuditRecord.user_name).where(
                AuditRecord.id > (before[0] if before else 0)
            )
        ).all()
    read = {(r.action, r.child_id, r.user_name) for r in rows}
    # who the child is (and each sibling named on the page) is a read of its own
    siblings = {r for r in read if r[0] == "read_identity" and r[1] != child}
    assert read - siblings == {
        ("read_risk", child, "sup"),
        ("read_history", child, "sup"),
        ("read_decisions", child, "sup"),
        ("read_identity", child, "sup"),
    }
    made = browser.post(
        f"/children/{child}/decisions",
        data={"csrf": _csrf(page.text), "action": "no_action", "agrees": "no", "note": "x"},
    )
    assert made.status_code == 400  # an override needs a reason: the form comes back
    assert "reason" in made.text.lower()


def test_every_message_of_the_pages_has_its_chinese() -> None:
    wanted = {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(ROOT / "serving"),
            method_map=[("templates/**.html", "jinja2"), ("pages/words.py", "python")],
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        )
    }
    assert "Referral to services" in wanted  # the vocabularies' words are extracted too
    with (ROOT / "serving/locale/zh_CN/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = {m.id: m.string for m in read_po(handle) if m.id}
    missing = sorted(str(m) for m in wanted if not catalogue.get(m))
    assert not missing, f"no Chinese for {missing}: run `make messages` and translate"
    placeholders = re.compile(r"%\(\w+\)s")
    for message in wanted:
        assert set(placeholders.findall(str(message))) == set(
            placeholders.findall(str(catalogue[message]))
        ), message


@pytest.mark.parametrize("kind", sorted(words.VOCABULARIES))
def test_every_code_of_every_vocabulary_has_its_words(kind: str) -> None:
    codes = {member.value for member in words.VOCABULARIES[kind]}
    assert set(words.catalogue[kind]) == codes


def test_the_language_is_switched_and_remembered(api: Api) -> None:
    browser = _browser(api)
    assert _sign_in(browser, "cw") == 303
    english = browser.get("/queue").text
    assert 'lang="en"' in english
    assert "My queue" in english
    switched = browser.get("/lang/zh-CN?next=/queue", follow_redirects=False)
    assert switched.headers["location"] == "/queue"
    chinese = browser.get("/queue").text
    assert 'lang="zh-CN"' in chinese
    assert "我的待办" in chinese
    assert "My queue" not in chinese
    assert (
        browser.get("/lang/zh-CN?next=https://evil.example/", follow_redirects=False).headers[
            "location"
        ]
        == "/"
    )
    assert OWN in chinese
    for hostile in ("//evil.example/", "/\t/evil.example", "/\\evil.example", "http://x/"):
        answer = browser.get("/lang/en", params={"next": hostile}, follow_redirects=False)
        assert answer.headers["location"] == "/", hostile


def test_the_api_and_the_pages_choose_the_same_language(api: Api) -> None:
    browser = _browser(api)
    for accept, chosen in (("fr,zh-CN", "zh-CN"), ("zh;q=0.5, en", "en")):
        page = browser.get("/login", headers={"Accept-Language": accept})
        assert f'lang="{chosen}"' in page.text, accept
        queue = api.client.get(
            "/v1/flags", headers={**api.headers("cw"), "Accept-Language": accept}
        )
        child = queue.json()["items"][0]["child_id"]
        risk = api.client.get(
            f"/v1/children/{child}/risk",
            headers={**api.headers("cw"), "Accept-Language": accept},
        )
        assert risk.json()["language"] == chosen, accept


def test_the_password_command_reads_stdin_and_refuses_a_short_one(api: Api) -> None:
    from typer.testing import CliRunner

    from serving.cli import app

    runner = CliRunner()
    done = runner.invoke(
        app,
        ["users", "password", "cw", "--password-stdin", "--url", api.url],
        input=PASSWORD + "\n",
    )
    assert done.exit_code == 0, done.stderr
    assert PASSWORD not in done.stdout
    short = runner.invoke(
        app, ["users", "password", "cw", "--password-stdin", "--url", api.url], input="short\n"
    )
    assert short.exit_code == 2
    assert "at least 12" in short.stderr


def test_every_beijing_district_has_its_words() -> None:
    from features.deployment import BEIJING_DISTRICTS

    assert set(words.DISTRICT) == set(BEIJING_DISTRICTS)


def test_every_queue_order_has_its_words() -> None:
    from serving.store.queue import ORDERS

    assert set(words.ORDER) == set(ORDERS)
