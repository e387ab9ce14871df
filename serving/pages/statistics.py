"""The statistics page, for supervisors and analysts: the children of each population
the division serves and the support recorded, in a month, by the whole city, its areas
and its districts; the city's counts over the months as charts; the files to hand on;
and every figure's definition, which each column links to. The same report as ``GET
/v1/statistics``: its counts were suppressed before they were kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from features.config import Policy
from features.registry import Registry, build_registry
from features.statistics.definitions import load_definitions
from features.vocabulary import DETAIL_LABELS, EVENT_LABELS
from serving.access import admit
from serving.audit import Action
from serving.errors import NotFoundError
from serving.pages.charts import Chart, Series, line_chart
from serving.pages.errors import PageError
from serving.pages.render import language_of, render
from serving.pages.session import Session
from serving.service import service_of
from serving.statistics import read_statistics
from serving.statistics_files import FILE_TYPES, Words, file_bytes
from serving.vocabulary import STATISTICS_ROLES

router = APIRouter(include_in_schema=False)
SUPPRESSED_MARK: Final = "—"


@dataclass(frozen=True)
class Cell:
    """One figure as shown: the count, or the mark of a suppressed one; and its flows."""

    text: str
    suppressed: bool
    detail: str = ""


@dataclass(frozen=True)
class Row:
    level: str
    place: str
    cells: tuple[Cell, ...]


@router.get("/statistics", response_class=HTMLResponse)
def statistics_page(
    request: Request,
    signed_in: Session,
    month: Annotated[date | None, Query(description="a month's first day")] = None,
) -> Response:
    """A month's statistics (default: the latest month counted), with charts over time."""
    caller = signed_in.caller
    admit(caller, Action.READ_STATISTICS, STATISTICS_ROLES)
    language = language_of(request)
    try:
        report: dict[str, Any] | None = read_statistics(service_of(request), caller)
    except NotFoundError:
        report = None
    context: dict[str, Any] = {"report": report}
    if report is not None:
        months = [date.fromisoformat(m) for m in report["months"]]
        shown = month or months[-1]
        if shown not in months:
            raise PageError(404, "month")
        words = Words(report, language)
        context |= {
            "month": shown,
            "months": months[::-1],
            "groups": words.groups,
            "populations": _table(report, "populations", shown, words, "total"),
            "support": _table(report, "support", shown, words, "children"),
            "charts": _charts(report, words),
            "definitions": _definitions(report, language),
        }
    return render(request, "statistics.html", user=caller.principal, csrf=signed_in.csrf, **context)


@router.get("/statistics/files/{file_name}")
def statistics_file(request: Request, signed_in: Session, file_name: str) -> Response:
    """One of the files (CSV, Excel, PNG) in the page's language; audited as a read."""
    caller = signed_in.caller
    admit(caller, Action.READ_STATISTICS, STATISTICS_ROLES)
    if file_name not in FILE_TYPES:
        raise PageError(404, "file")
    try:
        report = read_statistics(service_of(request), caller)
    except NotFoundError as exc:
        raise PageError(404, "statistics") from exc
    language = language_of(request)
    filename = f"{report['exported_at'][:10]}-{language}-{file_name}"
    return Response(
        file_bytes(report, file_name, language),
        media_type=FILE_TYPES[file_name],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _table(
    report: dict[str, Any], table: str, month: date, words: Words, main: str
) -> tuple[tuple[str, ...], tuple[Row, ...]]:
    """A month's figures of one table: a column per group, a row per place (the city,
    then each area followed by its districts); a cell holds ``main`` and the others."""
    day = month.isoformat()
    figures: dict[tuple[str, str, str], dict[str, Any]] = {
        (r["place"], r["group"], r["measure"]): r for r in report[table] if r["month"] == day
    }
    groups = tuple(item["key"] for item in report["definitions"][table])
    places: dict[str, tuple[str, str]] = {}
    for r in report[table]:
        if r["month"] == day:
            places.setdefault(r["place"], (r["level"], r["area"]))
    order = sorted(places, key=lambda p: _place_order(places[p], p))
    rows = tuple(
        Row(places[p][0], words(p), tuple(_cell(figures, p, g, main, words) for g in groups))
        for p in order
    )
    return groups, rows


def _place_order(where: tuple[str, str], place: str) -> tuple[int, str, int, str]:
    level, area = where
    if level == "city":
        return (0, "", 0, "")
    return (1, area, 0 if level == "area" else 1, place)


def _cell(
    figures: dict[tuple[str, str, str], dict[str, Any]],
    place: str,
    group: str,
    main: str,
    words: Words,
) -> Cell:
    found = figures.get((place, group, main))
    if found is None or found["suppressed"]:
        return Cell(SUPPRESSED_MARK, True)
    others = []
    for measure in ("new", "ended", "records", "yuan"):
        other = figures.get((place, group, measure))
        if other is not None:
            value = SUPPRESSED_MARK if other["suppressed"] else f"{other['count']:,.0f}"
            others.append(f"{words(measure)} {value}")
    return Cell(f"{found['count']:,.0f}", False, "; ".join(others))


def _charts(report: dict[str, Any], words: Words) -> list[Chart]:
    """The whole city's counts month by month: a line per population, per support area."""
    months = report["months"]
    charts = []
    for table, measure in (("populations", "total"), ("support", "children")):
        city = {
            (r["group"], r["month"]): r["count"]
            for r in report[table]
            if r["level"] == "city" and r["measure"] == measure
        }
        series = [
            Series(words.groups[item["key"]], tuple(city.get((item["key"], m)) for m in months))
            for item in report["definitions"][table]
        ]
        charts.append(line_chart(words(f"chart_{table}"), [m[:7] for m in months], series))
    return charts


@cache
def _registry() -> Registry:
    """The pipeline's descriptions of the features a population may name."""
    return build_registry(load_definitions().feature_config(), Policy())


def _condition(text: str, zh: bool) -> str:
    """A population's condition (``feature``, ``feature = code``, ``feature >= n``) in
    the registry's words, the feature's name kept for the reader who checks."""
    feature, sign, value = text.partition(" = ") if " = " in text else text.partition(" >= ")
    try:
        spec = _registry()[feature]
        said = spec.description_zh if zh else spec.description_en
    except KeyError:
        said = feature
    if sign.strip() == "=":
        code = DETAIL_LABELS.get(value)
        said += f": {(code.zh if zh else code.en) if code else value}"
    elif sign:
        said += f" {sign.strip()} {value}"
    return f"{said} ({feature})"


def _definitions(report: dict[str, Any], language: str) -> dict[str, list[dict[str, Any]]]:
    """Each population's conditions and each support area's records, in words."""
    zh = language.startswith("zh")
    described = report["definitions"]
    populations = [
        {
            "key": item["key"],
            "name": item["zh" if zh else "en"],
            "any": [_condition(text, zh) for text in item["any"]],
        }
        for item in described["populations"]
    ]
    support = []
    for item in described["support"]:
        kinds = []
        for kind in item["kinds"]:
            event_type, _, detail = kind.partition(" (")
            label = EVENT_LABELS[event_type].zh if zh else EVENT_LABELS[event_type].en
            if detail:
                code = DETAIL_LABELS[detail.rstrip(")")]
                label += f" ({code.zh if zh else code.en})"
            kinds.append(label)
        support.append({"key": item["key"], "name": item["zh" if zh else "en"], "kinds": kinds})
    return {"populations": populations, "support": support}
