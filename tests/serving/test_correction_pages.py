"""Correcting a record from the pages, and what would change the score (issue 21, points
1 to 3): a supervisor corrects a record from the child's history; the form refuses bad
values keeping what was typed; the child page then shows the correction with the score
before and after, marks the record, and beside each factor says the score without its
records. A caseworker sees no correction link and cannot open the form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.serving.attacks.common import csrf_of
from tests.serving.conftest import Api, Trained, password_of, served
from tests.serving.test_pages import _browser, _sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, trained: Trained) -> Iterator[Api]:
    yield from served("sqlite", tmp_path_factory, trained)


def _signed_in(api: Api, name: str) -> TestClient:
    client = _browser(api)
    assert _sign_in(client, name, password_of(name)) == 303
    return client


def _flagged(api: Api, index: int = 0) -> str:
    page = api.client.get("/v1/flags", params={"limit": 5}, headers=api.headers("cw")).json()
    return str(page["items"][index]["child_id"])


def _raising_record(api: Api, child: str) -> str:
    risk = api.client.get(f"/v1/children/{child}/risk?top=500", headers=api.headers("cw")).json()
    return next(e for f in risk["factors"] if f["direction"] == "raises" for e in f["event_ids"])


def test_the_child_page_says_what_would_change_the_score(api: Api) -> None:
    child = _flagged(api)
    page = _signed_in(api, "cw").get(f"/children/{child}")
    assert page.status_code == 200
    found = api.client.get(f"/v1/children/{child}/what-if", headers=api.headers("cw")).json()
    for item in found["factors"]:
        assert item["statement"] in page.text.replace("&#39;", "'")
    assert "Score without it" in page.text
    assert "/correct" not in page.text  # a caseworker corrects nothing
    chinese = _signed_in(api, "cw")
    chinese.get("/lang/zh-CN")
    zh = chinese.get(f"/children/{child}")
    assert "分数将是" in zh.text or "分数仍是" in zh.text


def test_a_supervisor_corrects_a_record_and_sees_the_score_before_and_after(api: Api) -> None:
    child = _flagged(api, 1)
    record = _raising_record(api, child)
    supervisor = _signed_in(api, "sup")
    page = supervisor.get(f"/children/{child}")
    assert f"/records/{quote(record, safe='/')}/correct" in page.text
    score_before = api.client.get(f"/v1/children/{child}/risk", headers=api.headers("cw")).json()[
        "score_1_20"
    ]
    form = supervisor.get(f"/records/{record}/correct")
    assert form.status_code == 200
    assert "The record as it was loaded" in form.text
    fields = {"csrf": csrf_of(form.text), "kind": "corrected", "severity": "9",
              "reason": "the hospital wrote 3 for 1", "confirmed_by": "the hospital",
              "reference": "H-2025-7"}  # fmt: skip
    refused = supervisor.post(f"/records/{record}/corrections", data=fields)
    assert refused.status_code == 400
    assert "break the data contract" in refused.text
    assert "the hospital wrote 3 for 1" in refused.text
    fields = {**fields, "csrf": csrf_of(refused.text), "kind": "disputed", "severity": ""}
    done = supervisor.post(f"/records/{record}/corrections", data=fields, follow_redirects=False)
    assert done.status_code == 303, done.text
    after = supervisor.get(done.headers["location"])
    assert "Correction saved at" in after.text
    assert "Disputed: not used by the score" in after.text
    said = re.search(r"Score before: (\d+); after: (\d+)", after.text)
    assert said is not None
    assert int(said.group(1)) == score_before
    score_after = api.client.get(f"/v1/children/{child}/risk", headers=api.headers("cw")).json()[
        "score_1_20"
    ]
    assert int(said.group(2)) == score_after
    # a forged form (no CSRF token) and a caseworker's are refused, nothing stored
    forged = supervisor.post(f"/records/{record}/corrections", data={**fields, "csrf": "x"})
    assert forged.status_code == 403
    caseworker = _signed_in(api, "cw")
    assert caseworker.get(f"/records/{record}/correct").status_code == 403
    listed = api.client.get(f"/v1/children/{child}/corrections", headers=api.headers("cw"))
    assert len(listed.json()) == 1
    queue = caseworker.get("/queue").text  # the batch's score does not know it: said so
    row = queue[queue.index(f">{child}</a>") :]
    row = row[: row.index("</tr>")]
    assert "Records corrected since this batch" in row
    assert queue.count("Records corrected since this batch") == 1
