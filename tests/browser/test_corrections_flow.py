"""Correcting a record, what would change the score, and the family summary (issue 21), in
a real Chromium, in both languages, with axe-core finding no serious violation: a
supervisor reads what would change a child's score, corrects a record (a refused form
first, nothing typed lost), sees the score before and after, and prints the summary for
the family."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import BROWSER, Site
from tests.browser.test_mornings import DESKTOP, _clean, _shoot
from tests.browser.test_pages import sign_in

pytestmark = BROWSER
WORDS = {
    "en": {"record": "Record the correction", "saved": "Correction saved at",
           "unsaved": "The correction was not recorded", "disputed": "Disputed",
           "without": "the score would"},
    "zh-CN": {"record": "保存更正", "saved": "更正已于", "unsaved": "更正未保存",
              "disputed": "有异议", "without": "分数"},
}  # fmt: skip


@pytest.mark.parametrize(("language", "row"), [("en", 0), ("zh-CN", 1)])
def test_a_supervisor_corrects_a_record_and_prints_the_family_summary(
    site: Site, page: Any, language: str, row: int
) -> None:
    words = WORDS[language]
    page.set_viewport_size(DESKTOP)
    sign_in(page, site, "sup")
    page.goto(site.url(f"/lang/{language}?next=/queue"))
    page.locator("table.queue tbody tr").nth(row).locator("h2.child a").click()
    page.wait_for_load_state()
    child_page = page.url
    factor = page.locator("ul.factors details:has(p.whatif)").first
    factor.locator("summary").click()
    assert words["without"] in factor.locator("p.whatif").inner_text()
    _clean(page, f"child with what-if ({language})")
    _shoot(factor, f"whatif-{language}")

    page.locator("ol.timeline a[href$='/correct']").first.click()
    page.wait_for_load_state()
    _clean(page, f"correction form ({language})")
    _shoot(page, f"correction-{language}")
    page.locator("#kind-corrected").check()
    page.locator("#severity").fill("4")  # the contract's scale stops at 3
    page.locator("#reason").fill("the school confirms it was another pupil")
    page.locator("#confirmed_by").fill("the school's head teacher")
    page.locator("#reference").fill("call 2025-12-01 #77")
    page.get_by_role("button", name=words["record"]).click()
    page.wait_for_load_state()
    assert words["unsaved"] in page.locator(".error-summary").inner_text()
    assert page.locator("#reason").input_value() == "the school confirms it was another pupil"
    _clean(page, f"refused correction ({language})")
    page.locator("#kind-disputed").check()
    page.locator("#severity").fill("")
    page.get_by_role("button", name=words["record"]).click()
    page.wait_for_load_state()
    assert page.url.startswith(child_page.split("?")[0])
    assert words["saved"] in page.locator("#corrections .saved").inner_text()
    assert words["disputed"] in page.locator("#corrections ol").inner_text()
    assert page.locator("ol.timeline strong.corrected").count() == 1
    _clean(page, f"corrected ({language})")

    page.locator("a[href$='/family-summary']").click()
    page.wait_for_load_state()
    assert page.locator("article.family h1").is_visible()
    _clean(page, f"family summary ({language})")
    _shoot(page, f"family-{language}")
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()  # printed without the site's header
    assert page.locator("article.family").is_visible()
