"""The pages in a real Chromium: a caseworker's day, an analyst kept out, the language
switch, CSRF, keyboard use and axe-core's accessibility check; and the screenshots in docs/
(written there when RISKFLAG_SCREENSHOTS names a folder)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BROWSER, Site, axe, describe, serious
from tests.serving.conftest import OTHER, OWN

pytestmark = BROWSER

LABELS = "h1, h2, h3, label, button, th[scope=col], legend, caption, nav a, option"


def sign_in(page: Any, site: Site, name: str) -> None:
    page.goto(site.url("/login"))
    page.get_by_label(re.compile(r"User name|用户名")).fill(name)
    page.get_by_label(re.compile(r"Password|密码")).fill(site.passwords[name])
    page.get_by_role("button", name=re.compile(r"Sign in|登录")).click()
    page.wait_for_load_state()


def test_a_caseworker_reviews_a_flagged_child_and_records_a_decision(site: Site, page: Any) -> None:
    sign_in(page, site, "cw")
    assert page.url.endswith("/queue")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() > 0
    districts = page.locator("table.queue tbody th .muted").all_inner_texts()
    assert set(districts) == {OWN}  # only the caseworker's district
    assert OTHER not in page.content()
    first = rows.first
    assert first.locator(".badge").inner_text().strip().isdigit()
    assert first.locator("ol.reasons li").count() == 3

    first.locator("a").click()
    page.wait_for_load_state()
    assert "/children/" in page.url
    assert "in 100" in page.locator(".rate").inner_text()
    assert "not the probability" in page.locator(".rate").inner_text()
    factors = page.locator("ul.factors details")
    assert factors.count() > 0
    with_records = page.locator("ul.factors details:has(table.records)").first
    records = with_records.locator("table.records")
    assert not records.is_visible()
    with_records.locator("summary").click()  # the records behind the factor, on a click
    assert records.is_visible()
    assert records.locator("tbody tr").count() >= 1

    note = "visit on Thursday with the community child director"
    page.get_by_label(re.compile(r"^Action")).select_option("home_visit")
    page.get_by_label("I agree").check()  # nothing is chosen for the caseworker
    page.get_by_label("Note").fill(note)
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()
    page.reload()
    earlier = page.locator("ol.decisions")
    assert note in earlier.inner_text()
    assert "Home visit" in earlier.inner_text()


def test_an_analyst_cannot_open_a_child_page(site: Site, page: Any) -> None:
    flagged = page.request.get(site.url("/v1/flags?limit=1"), headers=site.headers("cw"))
    child = flagged.json()["items"][0]["child_id"]
    sign_in(page, site, "analyst")
    assert page.url.endswith("/model")
    answer = page.goto(site.url(f"/children/{child}"))
    assert answer is not None
    assert answer.status == 403
    assert child not in page.locator("main").inner_text()


def _labels(page: Any) -> list[str]:
    """The page's labels, but those inside an element marked English (the model card's
    own text stays as written in both languages, and says so)."""
    texts: list[str] = page.evaluate(
        """labels => [...document.querySelectorAll(labels)]
            .filter(e => !e.closest('body [lang="en"]')).map(e => e.innerText)""",
        LABELS,
    )
    return [text.strip() for text in texts if text.strip()]


def test_the_language_switch_changes_every_visible_label(site: Site, page: Any) -> None:
    sign_in(page, site, "sup")
    for path in ("/queue", "/model", "/monitoring"):
        page.goto(site.url(path))
        english = _labels(page)
        page.get_by_role("link", name="简体中文").click()
        page.wait_for_load_state()
        chinese = _labels(page)
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert len(english) == len(chinese)
        # data (district names, scores, versions) is the same in both; every word differs
        same = [
            (en, zh)
            for en, zh in zip(english, chinese, strict=True)
            if en == zh
            and re.search(r"[a-z]{3}", en)
            and en not in ("English", "简体中文")
            and en not in site_districts()
        ]
        assert not same, f"{path}: labels not translated: {same}"
        page.goto(site.url(path))  # remembered on the next page
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        page.get_by_role("link", name="English").click()
        page.wait_for_load_state()


def site_districts() -> set[str]:
    from features.deployment import Deployment

    return set(Deployment().districts)


def test_a_form_posted_without_its_csrf_token_is_refused(site: Site, page: Any) -> None:
    sign_in(page, site, "cw")
    page.locator("table.queue tbody tr a").first.click()
    page.wait_for_load_state()
    page.evaluate("document.querySelector('form.decision input[name=csrf]').remove()")
    page.get_by_label(re.compile(r"^Action")).select_option("no_action")
    page.get_by_label("I agree").check()
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()
    assert "has expired or did not come from this site" in page.locator("main").inner_text()


def test_the_pages_work_from_the_keyboard(site: Site, page: Any) -> None:
    page.goto(site.url("/login"))
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    page.get_by_label("User name").focus()
    page.keyboard.type("sup")
    page.keyboard.press("Tab")
    page.keyboard.type(site.passwords["sup"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/queue"), page.locator("main").inner_text()


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_no_serious_accessibility_violation(site: Site, page: Any, language: str) -> None:
    sign_in(page, site, "sup")
    page.goto(site.url(f"/lang/{language}?next=/queue"))
    child = page.locator("table.queue tbody tr a").first.get_attribute("href")
    shots = os.environ.get("RISKFLAG_SCREENSHOTS")
    pages = (("queue", "/queue"), ("child", child), ("model", "/model"))
    for name, path in (*pages, ("monitoring", "/monitoring")):
        page.goto(site.url(path))
        if name == "child":
            page.locator("ul.factors details:has(table.records) summary").first.click()
        found = serious(axe(page))
        assert not found, f"{path} ({language}): {describe(found)}"
        if shots and name == "model":  # others: test_mornings, test_monitoring_page
            folder = Path(shots)
            folder.mkdir(parents=True, exist_ok=True)
            page.set_viewport_size({"width": 1280, "height": 900})
            page.evaluate("window.scrollTo(0, 0)")  # the page's top, not the opened factor
            page.screenshot(path=str(folder / f"{name}-{language}.png"), full_page=False)
    page.goto(site.url("/login"))
    assert not serious(axe(page))
