"""The statistics page (issue 22, point 5) in a real Chromium, in both languages, with
axe-core finding no serious violation: an analyst opens it from the navigation, reads a
month by city, area and district with suppressed cells marked, follows a column to its
definition, picks an earlier month, and downloads the CSV in the page's language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from features.deployment import Deployment
from serving.statistics import publish_statistics
from tests.browser.conftest import BROWSER, Site, site_of
from tests.browser.test_mornings import DESKTOP, _clean, _shoot
from tests.browser.test_pages import sign_in
from tests.serving.conftest import Trained

pytestmark = BROWSER
WORDS = {
    "en": {"nav": "Statistics", "caption": "Children served at the end of", "orphans": "Orphans"},
    "zh-CN": {"nav": "统计", "caption": "月末服务的儿童", "orphans": "孤儿"},
}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, trained: Trained) -> Iterator[Site]:
    with site_of(tmp_path_factory, trained) as served:
        publish_statistics(served.engine, Deployment(), "tests")
        yield served


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_an_analyst_reads_a_month_and_takes_the_file(
    published: Site, page: Any, language: str
) -> None:
    words = WORDS[language]
    page.set_viewport_size(DESKTOP)
    sign_in(page, published, "analyst")
    page.goto(published.url(f"/lang/{language}?next=/model"))
    page.get_by_role("navigation", name="Main" if language == "en" else "主菜单").get_by_role(
        "link", name=words["nav"]
    ).click()
    page.wait_for_load_state()
    assert page.url.endswith("/statistics")
    assert words["caption"] in page.locator("#populations-heading").inner_text()
    table = page.locator("#populations table")
    assert table.locator("tbody tr").count() == 1 + 3 + 16  # the city, its areas, districts
    assert table.locator("td.suppressed abbr").count() > 0  # small counts are marked, not shown
    _clean(page, f"statistics ({language})")
    _shoot(page, f"statistics-{language}")
    header = table.locator("thead a").first
    assert words["orphans"] in header.inner_text()
    header.click()
    assert page.url.endswith("#def-orphans_abandoned")
    assert page.locator("#def-orphans_abandoned").is_visible()
    months = page.locator("#month option")
    earliest = months.nth(months.count() - 1).get_attribute("value")
    page.select_option("#month", earliest)
    page.locator("form.inline button").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"?month={earliest}")
    assert earliest[:7] in page.locator("#populations-heading").inner_text()
    with page.expect_download() as waiting:
        page.locator("#files a").first.click()
    body = Path(waiting.value.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    assert words["orphans"] in body.decode("utf-8-sig")
    _clean(page, f"statistics, an earlier month ({language})")
