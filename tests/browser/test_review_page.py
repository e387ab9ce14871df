"""The review pages in a real Chromium: a records officer signs in, lands on the queue,
opens a pair and decides it, in English and in Chinese, with no serious accessibility
violation (axe-core) on the queue, the pair, a request and the child page's request form;
and the screenshots in docs/ (when RISKFLAG_SCREENSHOTS names a folder)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BROWSER, Site, axe, describe, serious
from tests.browser.test_pages import sign_in

pytestmark = BROWSER

WORDS = {  # what each language calls the page's parts
    "en": {"queue": "Review queue", "same": "Same child", "note": "Note", "decided": "recorded"},
    "zh-CN": {"queue": "复核队列", "same": "同一儿童", "note": "备注", "decided": "已记录"},
}


def _check(page: Any, where: str) -> None:
    found = serious(axe(page))
    assert not found, f"{where}: {describe(found)}"


def _shoot(page: Any, name: str) -> None:
    shots = os.environ.get("RISKFLAG_SCREENSHOTS")
    if shots:
        folder = Path(shots)
        folder.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_records_officer_decides_a_pair(site: Site, page: Any, language: str) -> None:
    said = WORDS[language]
    sign_in(page, site, "records")
    assert page.url.endswith("/review")
    page.goto(site.url(f"/lang/{language}?next=/review"))
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("h1").inner_text() == said["queue"]
    cards = page.locator("article.pair")
    assert cards.count() > 0
    first = cards.first
    assert first.locator("table.pair tbody tr").count() == 8  # the records, 7 comparisons
    _check(page, f"/review ({language})")
    _shoot(page, f"review-{language}")

    first.locator("a[href^='/review/']").click()
    page.wait_for_load_state()
    pair_url = page.url
    assert re.search(r"/review/\d+$", pair_url)
    _check(page, f"{pair_url} ({language})")
    _shoot(page, f"review-pair-{language}")
    page.get_by_label(said["same"]).check()
    page.get_by_label(said["note"]).fill("同一监护人，同一地址")
    page.locator("form.decision button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.endswith("/review?notice=decided")
    assert said["decided"] in page.locator("[role=status]").inner_text()
    pair_id = pair_url.rsplit("/", 1)[1]
    assert f"/review/{pair_id}" not in [
        link.get_attribute("href") for link in page.locator("article.pair a").all()
    ]
    page.goto(pair_url)  # decided: it says so, and may be decided again
    assert "同一监护人，同一地址" in page.locator("main").inner_text()


def test_a_caseworkers_request_and_its_page_are_accessible(site: Site, page: Any) -> None:
    flagged = page.request.get(site.url("/v1/flags?limit=1"), headers=site.headers("cw"))
    child = flagged.json()["items"][0]["child_id"]
    sign_in(page, site, "cw")
    page.goto(site.url(f"/children/{child}"))
    form = page.locator("#link-request")
    form.get_by_label(re.compile("This child is two children")).check()
    form.get_by_label(re.compile("^Why")).fill("two boys share this child's school records")
    form.get_by_role("button", name="Send the request").click()
    page.wait_for_load_state()
    assert "link_request=sent" in page.url
    assert "records officers" in page.locator("#link-request [role=status]").inner_text()
    _check(page, f"/children/{child}")

    page.context.clear_cookies()
    sign_in(page, site, "records")
    page.locator("table.requests a").last.click()
    page.wait_for_load_state()
    assert re.search(r"/review/requests/\d+$", page.url)
    assert child in page.locator("main").inner_text()
    _check(page, page.url)
