"""The monitoring page (issue 22, point 4) in a real Chromium, in both languages, with
axe-core finding no serious violation: an admin signs in and lands on it; after a
matured batch, a healthy one and one scored on a doubled feed, the page names the
broken check, draws the charts over the three batches and the kept outcomes, and opens
the healthy batch from the recent batches' table."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import BROWSER, Site, site_of
from tests.browser.test_mornings import DESKTOP, _clean, _shoot
from tests.browser.test_pages import sign_in
from tests.serving.conftest import Trained
from tests.serving.test_monitoring import DAY

pytestmark = BROWSER
WORDS = {
    "en": {"broke": "broke 1 check", "healthy": "no check is broken", "doubled": "doubled",
           "outcomes": "How the scores turned out"},
    "zh-CN": {"broke": "有 1 项检查未通过", "healthy": "没有未通过的检查", "doubled": "翻倍",
              "outcomes": "分数的结果"},
}  # fmt: skip


def _batch(site: Site, day: str) -> int:
    asked = urllib.request.Request(
        site.url("/v1/admin/batches"),
        data=json.dumps({"as_of": day}).encode(),
        headers={**site.headers("admin"), "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(asked, timeout=120) as answer:
        return int(json.loads(answer.read())["id"])


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory, trained: Trained) -> Iterator[Site]:
    """A site with a matured batch (2025-03-01), the fixture's healthy one, and one
    scored after the health partner's records of the week before were sent twice."""
    from sqlalchemy import insert, select, text

    from serving.store.tables import EVENTS

    with site_of(tmp_path_factory, trained) as served:
        _batch(served, "2025-03-01")
        week = f"recorded_at >= '{DAY - timedelta(days=7)}' AND recorded_at < '{DAY}'"
        with served.engine.begin() as connection:
            rows = connection.execute(
                select(EVENTS).where(text(f"event_type LIKE 'health.%' AND {week}"))
            ).mappings()
            copies = [{**row, "event_id": f"{row['event_id']}-again"} for row in rows]
            connection.execute(insert(EVENTS), copies)
        _batch(served, DAY.isoformat())
        yield served


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_an_admin_sees_the_broken_check_first(watched: Site, page: Any, language: str) -> None:
    words = WORDS[language]
    page.set_viewport_size(DESKTOP)
    sign_in(page, watched, "admin")
    assert page.url.endswith("/monitoring")  # an admin's home
    page.goto(watched.url(f"/lang/{language}?next=/monitoring"))
    heading = page.locator("#batch-heading").inner_text()
    assert words["broke"] in heading
    assert words["doubled"] in page.locator("#batch table").first.inner_text()
    assert page.locator("figure.chart svg").count() >= 6  # the five checks' and the outcomes'
    assert page.locator("#outcomes").get_by_text(words["outcomes"]).count() == 1
    _clean(page, f"monitoring ({language})")
    _shoot(page, f"monitoring-{language}")
    page.locator("figure.chart details summary").first.click()
    _clean(page, f"monitoring, a chart's figures open ({language})")
    healthy = page.locator("#batch tbody tr th a").nth(1)  # the batch before the latest
    healthy.click()
    page.wait_for_load_state()
    assert words["healthy"] in page.locator("#batch-heading").inner_text()
