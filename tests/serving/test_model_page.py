"""The model page a supervisor reads: a table per district, every disparity outside the
tolerance listed and linked to its row, the capacity's effect on flag rates explained,
and the model card as HTML with its headings in the reader's language."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from serving.pages.card import read_card
from tests.serving.conftest import OWN, Api, password_of
from tests.serving.test_pages import _browser, _sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]


@pytest.fixture(scope="module")
def supervisor(api: Api) -> TestClient:
    client = _browser(api)
    assert _sign_in(client, "sup", password_of("sup")) == 303
    return client


def test_the_districts_have_their_table(supervisor: TestClient) -> None:
    html = supervisor.get("/model").text
    table = html[html.index('class="fairness districts"') :]
    table = table[: table.index("</table>")]
    assert f'id="policy-group-district-{OWN}"' in table
    assert "per batch, whatever its number of children" in html  # the capacity explained


def test_every_disparity_is_listed_and_linked_to_its_row(supervisor: TestClient) -> None:
    html = supervisor.get("/model").text
    links = re.findall(r'<li><a href="#([^"]+)" lang="en">', html)
    ids = re.findall(r'<tr id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "a row id twice"
    assert set(links) <= set(ids), sorted(set(links) - set(ids))
    if not links:
        assert "No disparity of the model lies outside the tolerance" in html


def test_the_model_alone_is_judged_apart_from_the_policy(supervisor: TestClient) -> None:
    html = supervisor.get("/model").text
    alone = html[html.index('id="alone-heading"') : html.index('id="policy-heading"')]
    assert "Mean rate / observed" in alone
    assert re.search(r"within tolerance|uncertain|too few to judge", alone)
    policy = html[html.index('id="policy-heading"') :]
    assert "was accepted when the policy was set" in policy
    assert "staffs every district office" in policy  # the accepted statement, quoted


def test_the_model_card_is_html_with_translated_headings(supervisor: TestClient) -> None:
    supervisor.get("/lang/zh-CN")
    html = supervisor.get("/model").text
    supervisor.get("/lang/en")
    card = html[html.index('id="card-heading"') :]
    assert "<h3>模型详情</h3>" in card
    assert "<h3>预期用途</h3>" in card
    assert "## " not in html
    assert "<pre" not in card


def test_the_card_reader_keeps_every_block() -> None:
    title, sections = read_card(
        "# Model card: x\n\n## Data\n\n| block | rows |\n|---|---|\n| train | 10 |\n\n"
        "## Limitations\n\n- one\n- two\n\nA paragraph\non two lines.\n"
    )
    assert title == "Model card: x"
    data, limits = sections
    assert data.heading == "Data"
    assert data.blocks[0].kind == "table"
    assert data.blocks[0].rows == [["block", "rows"], ["train", "10"]]
    assert [b.kind for b in limits.blocks] == ["ul", "p"]
    assert limits.blocks[0].lines == ["one", "two"]
    assert limits.blocks[1].lines == ["A paragraph", "on two lines."]
