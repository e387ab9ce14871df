"""A caseworker's and a supervisor's Monday morning in a real Chromium, in both languages,
on a desktop and on a phone, with axe-core finding no serious violation at any step; and
the screenshots in docs/screenshots (written there when RISKFLAG_SCREENSHOTS names a
folder: `make screenshots`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BROWSER, Site, axe, describe, serious
from tests.browser.test_pages import sign_in

pytestmark = BROWSER
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WORDS = {
    "en": {
        "agree": "I agree",
        "record": "Record the decision",
        "saved": "Decision saved at",
        "unsaved": "The decision was not recorded",
        "more": "more factors",
        "note": "Note",
    },
    "zh-CN": {
        "agree": "我同意",
        "record": "保存决定",
        "saved": "决定已于",
        "unsaved": "决定未能记录",
        "more": "另有",
        "note": "备注",
    },
}


def _clean(page: Any, where: str) -> None:
    found = serious(axe(page))
    assert not found, f"{where}: {describe(found)}"


def _shoot(what: Any, name: str) -> None:
    """A screenshot of the page's top (or of one element) into RISKFLAG_SCREENSHOTS."""
    shots = os.environ.get("RISKFLAG_SCREENSHOTS")
    if not shots:
        return
    folder = Path(shots)
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(what, "goto"):  # a page: its top, not wherever it was scrolled to
        what.evaluate("window.scrollTo(0, 0)")
        what.screenshot(path=str(folder / f"{name}.png"), full_page=False)
    else:
        what.screenshot(path=str(folder / f"{name}.png"))


def _no_sideways_scroll(page: Any, where: str) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    seen = page.evaluate("window.innerWidth")
    culprits = page.evaluate(
        """width => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > width + 1).slice(0, 5)
            .map(e => `${e.tagName}.${e.className} ${e.getBoundingClientRect().right}`)""",
        seen,
    )
    assert wide <= seen, f"{where}: {wide} px wide on a {seen} px screen: {culprits}"


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_caseworker_s_morning(site: Site, page: Any, language: str) -> None:
    words = WORDS[language]
    page.set_viewport_size(DESKTOP)
    sign_in(page, site, "cw")
    page.goto(site.url(f"/lang/{language}?next=/queue"))
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("section.counts li").count() >= 1  # how the flags fell
    rows = page.locator("table.queue tbody tr")
    assert rows.count() > 0
    assert rows.first.locator("h2.child").count() == 1
    assert re.search(r"\d", rows.first.locator(".per-hundred").inner_text())
    _clean(page, f"queue ({language})")
    _shoot(page, f"queue-{language}")

    rows.first.locator("h2.child a").click()
    page.wait_for_load_state()
    assert page.locator("#who-heading").is_visible()
    assert page.locator("p.standing").inner_text().strip()
    assert page.locator("p.sum").inner_text().strip()
    opened = page.locator("ul.factors details:has(table.records)").first
    opened.locator("summary").click()
    assert opened.locator("table.records").is_visible()
    _clean(page, f"child ({language})")
    _shoot(page, f"child-{language}")
    _shoot(opened, f"provenance-{language}")  # where each record behind a factor came from

    note = "周四与儿童主任一起家访" if language == "zh-CN" else "visit on Thursday"
    page.locator("#action").select_option("home_visit")
    page.locator("#note").fill(note)
    # the browser would stop a form without its agreement; the server must too
    page.locator("#agrees-yes").evaluate("radio => radio.required = false")
    page.get_by_role("button", name=words["record"]).click()
    page.wait_for_load_state()
    assert words["unsaved"] in page.locator(".error-summary").inner_text()
    assert page.locator("#note").input_value() == note  # nothing typed is lost
    _clean(page, f"refused decision ({language})")
    page.get_by_label(words["agree"]).check()
    page.get_by_role("button", name=words["record"]).click()
    page.wait_for_load_state()
    assert words["saved"] in page.locator(".saved").inner_text()
    assert note in page.locator("ol.decisions").inner_text()
    _clean(page, f"saved decision ({language})")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_pages_fit_a_phone(site: Site, page: Any, language: str) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, site, "cw")
    page.goto(site.url(f"/lang/{language}?next=/queue"))
    _no_sideways_scroll(page, f"queue ({language})")
    first = page.locator("table.queue tbody tr").first
    decision = first.locator("td").last
    assert decision.is_visible()
    box = decision.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"]
    _clean(page, f"queue on a phone ({language})")
    _shoot(page, f"queue-{language}-phone")
    first.locator("h2.child a").click()
    page.wait_for_load_state()
    _no_sideways_scroll(page, f"child ({language})")
    _clean(page, f"child on a phone ({language})")
    _shoot(page, f"child-{language}-phone")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_supervisor_s_morning(site: Site, page: Any, language: str) -> None:
    page.set_viewport_size(DESKTOP)
    sign_in(page, site, "sup")
    page.goto(site.url(f"/lang/{language}?next=/supervision"))
    assert page.locator("html").get_attribute("lang") == language
    for table in ("#workers-heading", "#districts-heading", "#reasons-heading"):
        assert page.locator(table).is_visible()
    waiting = page.locator("table.waiting tbody tr")
    assert waiting.count() > 0
    _clean(page, f"supervision ({language})")
    _shoot(page, f"supervision-{language}")

    first = waiting.first
    child = first.locator("th a").inner_text().strip()
    first.locator("select").select_option("cw")
    first.locator("button").click()
    page.wait_for_load_state()
    assert child in page.locator("p.saved").inner_text()
    _clean(page, f"assignment saved ({language})")

    page.goto(site.url("/queue"))
    row = page.locator("table.queue tbody tr", has=page.locator(f"a:text-is('{child}')"))
    assert row.locator(".assignee").inner_text().strip()  # who has the child, in the queue

    page.set_viewport_size(PHONE)
    page.goto(site.url("/supervision"))
    _no_sideways_scroll(page, f"supervision on a phone ({language})")
    _clean(page, f"supervision on a phone ({language})")
    _shoot(page, f"supervision-{language}-phone")
