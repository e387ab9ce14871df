"""Household control (issue 21, point 8) in a real Chromium, in both languages, with
axe-core finding no serious violation, on a model with association features on: a
caseworker reads which household members' records move a child's score, marks one as
not in contact (a refused date first, nothing typed lost), and sees the score before
and after."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import BROWSER, Site, site_of
from tests.browser.test_mornings import DESKTOP, _clean, _shoot
from tests.browser.test_pages import sign_in
from tests.serving.conftest import OWN, Trained

pytestmark = BROWSER
WORDS = {
    "en": {"record": "Record the marking", "saved": "Marking saved at",
           "unsaved": "The marking was not recorded", "marked": "no contact with the child",
           "mark": "Mark this member"},
    "zh-CN": {"record": "保存标记", "saved": "标记已于", "unsaved": "标记未保存",
              "marked": "与该儿童没有联系", "mark": "标记该成员"},
}  # fmt: skip


@pytest.fixture(scope="module")
def household_site(
    tmp_path_factory: pytest.TempPathFactory, associating: Trained
) -> Iterator[Site]:
    with site_of(tmp_path_factory, associating) as served:
        yield served


def _with_members(site: Site, count: int) -> list[str]:
    """Children of the caseworker's district whose scores count household members'
    records, as the API's what-if says."""
    from sqlalchemy import text

    with site.engine.connect() as connection:
        ids = connection.execute(
            text(
                "SELECT s.child_id FROM batch_scores s JOIN children c ON c.child_id = "
                "s.child_id WHERE c.household_id IS NOT NULL AND c.district = :d "
                "ORDER BY s.score_1_20 DESC, s.child_id LIMIT 100"
            ),
            {"d": OWN},
        ).scalars()
        candidates = list(ids)
    found = []
    for child in candidates:
        asked = urllib.request.Request(
            site.url(f"/v1/children/{child}/what-if"), headers=site.headers("cw")
        )
        with urllib.request.urlopen(asked, timeout=30) as answer:
            if json.loads(answer.read())["members"]:
                found.append(child)
        if len(found) == count:
            return found
    raise AssertionError("no child with household members behind its score")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_caseworker_marks_a_household_member_apart(
    household_site: Site, page: Any, language: str
) -> None:
    words = WORDS[language]
    site = household_site
    child = _with_members(site, 2)[0 if language == "en" else 1]
    page.set_viewport_size(DESKTOP)
    sign_in(page, site, "cw")
    page.goto(site.url(f"/lang/{language}?next=/children/{child}"))
    page.wait_for_load_state()
    section = page.locator("#household-control")
    assert section.locator("ul.members li").count() >= 1
    _clean(page, f"child with household members ({language})")
    _shoot(section, f"household-{language}")
    section.get_by_role("link", name=words["mark"]).first.click()
    page.wait_for_load_state()
    _clean(page, f"marking form ({language})")
    page.locator("#kind-no_contact").check()
    page.locator("#since").fill("2099-01-01")  # after today: refused
    page.locator("#reason").fill("the family confirms no contact since the move")
    page.get_by_role("button", name=words["record"]).click()
    page.wait_for_load_state()
    assert words["unsaved"] in page.locator(".error-summary").inner_text()
    assert page.locator("#since").get_attribute("aria-invalid") == "true"
    assert page.locator("#reason").input_value() == "the family confirms no contact since the move"
    _clean(page, f"refused marking ({language})")
    page.locator("#kind-no_contact").check()
    page.locator("#since").fill("2020-06-01")
    page.get_by_role("button", name=words["record"]).click()
    page.wait_for_load_state()
    assert page.url.split("?")[0].endswith(f"/children/{child}")
    saved = page.locator("#household-control .saved").inner_text()
    assert words["saved"] in saved
    assert words["marked"] in page.locator("#household-control ul.members").inner_text()
    _clean(page, f"marked ({language})")
