"""No page in Chinese shows an untranslated word of its catalogues: every word of the
message catalogue's English, of the pages' vocabularies (serving.pages.words), of the
features' names and values (features.vocabulary) and every district code is either
translated or inside an element marked lang="en" (a record's own English, the model
card's text). Testers found "Chaoyang区", "取值：grandparent / inner / nonlocal"."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources
from urllib.parse import quote

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from features.deployment import BEIJING_DISTRICTS
from features.vocabulary import CATEGORY_LABELS, DETAIL_LABELS, EVENT_LABELS, SOURCE_LABELS
from serving.pages import words
from serving.store.tables import EVENTS
from tests.serving.conftest import Api, password_of
from tests.serving.test_pages import _browser, _sign_in
from tests.serving.test_provenance import _scored_child

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]
SKIPPED = {"script", "style", "title"}
VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
# words that are the same in both languages here: names of things, not catalogue words
KEPT = {"riskflag", "english", "auc", "roc", "scorecard", "dibao", "hukou", "cubed"}


class _Visible(HTMLParser):
    """The page's visible text outside elements marked lang="en" (the <html> element's
    own lang is the page's language)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: is it hidden from the check?
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        hidden = tag in SKIPPED or (tag != "html" and dict(attrs).get("lang") == "en")
        self.stack.append(hidden or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.text.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(parser.text)


def catalogue_words() -> set[str]:
    """Every English word (3 letters or more) the catalogues would translate."""
    po = resources.files("serving") / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        texts = [str(message.id) for message in read_po(handle) if message.id]
    for vocabulary in words.catalogue.values():
        texts += [*vocabulary.values(), *vocabulary.keys()]
    for labels in (EVENT_LABELS, DETAIL_LABELS, SOURCE_LABELS):
        texts += [label.en for label in labels.values()] + list(labels)
    for values in CATEGORY_LABELS.values():
        texts += [label.en for label in values.values()] + list(values)
    texts += list(BEIJING_DISTRICTS)
    found = {w.lower() for text in texts for w in re.findall(r"[A-Za-z]{3,}", text)}
    return found - KEPT - {"%(", "s"}


WORDS = catalogue_words()


def untranslated(html: str) -> list[str]:
    """The catalogue's words a Chinese page shows outside lang="en" (placeholders and
    identifiers such as C000000527 or R-12 are not words)."""
    text = re.sub(r"[\w:-]*\d[\w:-]*", " ", visible_text(html))  # ids (welfare:0042), dates
    return sorted({w for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() in WORDS})


def test_the_checker_finds_what_testers_found() -> None:
    page = '<html lang="zh-CN"><body><p>Chaoyang区</p><p>取值：grandparent</p></body></html>'
    assert untranslated(page) == ["Chaoyang", "grandparent"]
    marked = '<html lang="zh-CN"><body><p lang="en">Chaoyang <b>grandparent</b></p></body></html>'
    assert untranslated(marked) == []


def _chinese(api: Api, name: str) -> TestClient:
    client = _browser(api)
    assert _sign_in(client, name, password_of(name)) == 303
    client.get("/lang/zh-CN")
    return client


@pytest.mark.parametrize(
    ("user", "paths"),
    [
        (
            "cw",
            [
                "/queue",
                "/queue?tier=high",
                "/children/{child}",
                "/children/nobody",
                "/children/{child}/family-summary",
            ],
        ),
        ("sup", ["/records/{record}/correct"]),
        ("sup", ["/queue", "/model", "/supervision", "/monitoring"]),
        ("records", ["/review"]),
    ],
)
def test_no_chinese_page_shows_an_untranslated_catalogue_word(
    api: Api, user: str, paths: list[str]
) -> None:
    client = _chinese(api, user)
    child = _scored_child(api)
    with api.engine.connect() as connection:
        record = connection.execute(
            select(func.min(EVENTS.c.event_id)).where(EVENTS.c.child_id == child)
        ).scalar()
    for path in paths:
        answer = client.get(path.format(child=child, record=quote(str(record), safe="")))
        if answer.status_code == 404 and path == "/supervision":
            continue  # no supervisor page in this build
        assert 'lang="zh-CN"' in answer.text, path
        assert untranslated(answer.text) == [], path


def test_the_sign_in_page_in_chinese(api: Api) -> None:
    client = _browser(api)
    client.get("/lang/zh-CN")
    assert untranslated(client.get("/login").text) == []
