"""The division's statistics in the service, on both stores: published from the store,
equal to the counts of the folder it was loaded from, suppressed at every exit (the API,
the page, CSV, Excel, PNG), for supervisors and analysts only, audited."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import text

from features.contract import load_case_histories
from features.deployment import Deployment
from features.statistics.definitions import load_definitions
from features.statistics.report import statistics_report
from serving.statistics import publish_statistics
from tests.serving.conftest import Api, Trained, password_of, served
from tests.serving.test_pages import _browser, _sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]
PEOPLE = ("total", "new", "ended", "children")  # the measures that count children


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, trained: Trained
) -> Iterator[Api]:
    yield from served(request.param, tmp_path_factory, trained)


def _get(api: Api, path: str, user: str = "analyst", **params: Any) -> Any:
    return api.client.get(path, params=params, headers=api.headers(user))


def _published(api: Api) -> dict[str, Any]:
    response = _get(api, "/v1/statistics")
    if response.status_code == 404:
        publish_statistics(api.engine, Deployment(), "tests")
        response = _get(api, "/v1/statistics")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _no_small_count(rows: list[dict[str, Any]], below: int) -> None:
    people = [r for r in rows if r["measure"] in PEOPLE]
    assert people
    for row in people:
        if row["suppressed"]:
            assert row["count"] is None
        else:
            assert row["count"] >= below, row


def test_published_statistics_are_the_folders_counts_suppressed(api: Api) -> None:
    found = _published(api)
    expected = statistics_report(load_case_histories(api.trained.data), load_definitions())
    assert found["months"] == expected["months"]
    assert found["definitions_sha256"] == expected["definitions_sha256"]
    for table in ("populations", "support"):
        got = {(r["month"], r["place"], r["group"], r["measure"]): r for r in found[table]}
        want = {(r["month"], r["place"], r["group"], r["measure"]): r for r in expected[table]}
        assert got.keys() == want.keys()
        assert all(got[k]["count"] == want[k]["count"] for k in want)
        assert all(got[k]["suppressed"] == want[k]["suppressed"] for k in want)
        _no_small_count(found[table], found["suppress_below"])


def test_a_lower_threshold_shows_counts_equal_to_the_folders(api: Api, tmp_path: Path) -> None:
    own = tmp_path / "statistics.toml"
    own.write_text("[counting]\nsuppress_below = 2\n", encoding="utf-8")
    report = publish_statistics(api.engine, Deployment(), "tests", own)
    found = _get(api, "/v1/statistics", month=report["months"][-1], level="city").json()
    assert found["id"] == report["id"]
    assert {r["level"] for r in found["populations"]} == {"city"}
    assert {r["month"] for r in found["populations"]} == {report["months"][-1]}
    shown = [r for r in found["populations"] if not r["suppressed"]]
    assert shown, "a city total of 2 or more children is shown"
    _no_small_count(found["populations"], 2)
    publish_statistics(api.engine, Deployment(), "tests")  # back to the shipped definitions


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _xlsx_rows(body: bytes) -> dict[str, list[list[str]]]:
    """Each sheet's rows as text (the workbook read as the XML it is)."""
    ns = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    book = zipfile.ZipFile(io.BytesIO(body))
    strings = [
        "".join(t.text or "" for t in si.iter(f"{{{ns['x']}}}t"))
        for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("x:si", ns)
    ]
    names = [
        s.get("name") for s in ElementTree.fromstring(book.read("xl/workbook.xml")).iter(
            f"{{{ns['x']}}}sheet"
        )
    ]  # fmt: skip
    sheets = {}
    for i, name in enumerate(names, start=1):
        root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{i}.xml"))
        rows = []
        for row in root.iter(f"{{{ns['x']}}}row"):
            cells: dict[int, str] = {}
            for cell in row.findall("x:c", ns):
                value = cell.find("x:v", ns)
                raw = "" if value is None else str(value.text)
                column = re.sub(r"\d", "", str(cell.get("r")))  # A..Z: the sheets are narrow
                cells[ord(column) - ord("A")] = strings[int(raw)] if cell.get("t") == "s" else raw
            rows.append([cells.get(i, "") for i in range(max(cells, default=-1) + 1)])
        sheets[str(name)] = rows
    return sheets


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_files_hold_no_small_count(api: Api, lang: str) -> None:
    found = _published(api)
    below = found["suppress_below"]
    response = _get(api, "/v1/statistics/files/statistics.csv", lang=lang)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = _csv_rows(response.content)
    body, people = rows[1:], _words(PEOPLE, lang)
    assert len(body) == len(found["populations"]) + len(found["support"])
    measure, count = 6, 7  # table, month, level, place, area, group, measure, count, ...
    small = [r for r in body if r[measure] in people and r[count] and float(r[count]) < below]
    assert not small
    assert sum(r[measure] in people and not r[count] for r in body) > 0  # some suppressed
    workbook = _get(api, "/v1/statistics/files/statistics.xlsx", lang=lang)
    assert workbook.status_code == 200
    sheets = _xlsx_rows(workbook.content)
    assert len(sheets) == 3
    tables = list(sheets.values())[:2]
    assert sum(len(rows) - 1 for rows in tables) == len(body)
    for rows in tables:  # the sheets have no "table" column: one place to the left
        for row in rows[1:]:
            if row[measure - 1] in people and len(row) > count - 1 and row[count - 1]:
                assert float(row[count - 1]) >= below, row
    for name in ("populations.png", "support.png"):
        chart = _get(api, f"/v1/statistics/files/{name}", lang=lang)
        assert chart.status_code == 200
        assert chart.content.startswith(b"\x89PNG")


def _words(keys: tuple[str, ...], lang: str) -> set[str]:
    from serving.i18n import translations
    from serving.statistics_files import WORDS

    gettext = translations(lang).gettext
    return {gettext(WORDS[key]) for key in keys}


def test_only_supervisors_and_analysts_read_them_and_every_read_is_audited(api: Api) -> None:
    _published(api)
    assert _get(api, "/v1/statistics", "sup").status_code == 200
    for user in ("cw", "admin"):
        assert _get(api, "/v1/statistics", user).status_code == 403
        assert _get(api, "/v1/statistics/files/statistics.csv", user).status_code == 403
    with api.engine.connect() as connection:
        kinds = dict(
            connection.execute(
                text("SELECT outcome, COUNT(*) FROM audit WHERE action = 'read_statistics' "
                     "GROUP BY outcome")
            ).all()
        )  # fmt: skip
    assert kinds.get("allowed", 0) >= 1
    assert kinds.get("denied", 0) >= 4
    assert _get(api, "/v1/statistics/files/secrets.txt").status_code == 422
    assert _get(api, "/v1/statistics", month="2025-13-01").status_code == 422


def test_the_page_shows_the_month_its_definitions_and_its_files(api: Api) -> None:
    found = _published(api)
    analyst = _browser(api)
    assert _sign_in(analyst, "analyst", password_of("analyst")) == 303
    page = analyst.get("/statistics")
    assert page.status_code == 200
    assert 'href="/statistics"' in page.text
    for item in found["definitions"]["populations"] + found["definitions"]["support"]:
        assert f'href="#def-{item["key"]}"' in page.text
        assert f'id="def-{item["key"]}"' in page.text
    assert page.text.count("<svg viewBox") == 2
    shown = re.findall(r"<td>([\d,]+)(?:<br>|</td>)", page.text)
    assert all(int(n.replace(",", "")) >= found["suppress_below"] for n in shown)
    first = analyst.get("/statistics", params={"month": found["months"][0]})
    assert first.status_code == 200
    assert f'value="{found["months"][0]}" selected' in first.text
    assert analyst.get("/statistics", params={"month": "1999-01-01"}).status_code == 404
    assert analyst.get("/statistics/files/statistics.csv").content.startswith(b"\xef\xbb\xbf")
    assert analyst.get("/statistics/files/other.txt").status_code == 404
    chinese = _browser(api)
    chinese.cookies.set("rf_lang", "zh-CN")
    assert _sign_in(chinese, "sup", password_of("sup")) == 303
    assert "统计" in chinese.get("/statistics").text
    assert "孤儿" in chinese.get("/statistics/files/statistics.csv").content.decode("utf-8-sig")
    caseworker = _browser(api)
    assert _sign_in(caseworker, "cw", password_of("cw")) == 303
    assert caseworker.get("/statistics").status_code == 403
    assert caseworker.get("/statistics/files/statistics.csv").status_code == 403
