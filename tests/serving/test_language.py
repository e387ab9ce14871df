"""One language negotiation for the API and the pages (serving.i18n.choose): the explicit
choice, then Accept-Language by its q-values, then English."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serving.i18n import LANGUAGES, choose


@pytest.mark.parametrize(
    ("explicit", "accept", "chosen"),
    [
        (None, "fr,zh-CN", "zh-CN"),  # the first range we do not serve is passed over
        (None, "zh;q=0.5, en", "en"),
        (None, "en;q=0.1, zh-CN;q=0.9", "zh-CN"),
        (None, "zh-TW", "zh-CN"),
        (None, "EN-gb", "en"),
        (None, "zh;q=0", "en"),  # q=0: not acceptable
        (None, "zh;q=2", "en"),  # not a q-value
        (None, "zh;q=abc, en;q=0.2", "en"),
        (None, "zhuang, en", "en"),  # a tag that only starts like ours
        (None, "*", "en"),
        (None, "", "en"),
        (None, None, "en"),
        ("zh-CN", "en", "zh-CN"),  # the explicit choice first
        ("en", "zh-CN", "en"),
        ("fr", "zh-CN", "zh-CN"),  # an explicit choice we do not serve is passed over
    ],
)
def test_the_negotiation(explicit: str | None, accept: str | None, chosen: str) -> None:
    assert choose(explicit, accept) == chosen


@given(st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text(max_size=5000)))
def test_any_header_chooses_a_language_we_serve(explicit: str | None, accept: str | None) -> None:
    assert choose(explicit, accept) in LANGUAGES
