"""The division's statistics: children served by population, district and area, month
by month, and the support recorded in five areas; for supervisors and analysts. Every
count was suppressed before it was kept (a count under the threshold, or one that would
reveal such a count, is null with ``suppressed``): no child's data."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from serving.access import Caller
from serving.api.deps import Svc, allow
from serving.api.schemas import ErrorOut, UtcDateTime
from serving.audit import Action
from serving.statistics import read_statistics
from serving.statistics_files import FILE_TYPES, file_bytes
from serving.vocabulary import STATISTICS_ROLES

router = APIRouter(tags=["statistics"])
Level = Literal["district", "area", "city"]


class FigureOut(BaseModel):
    """One count: of ``group`` (a population's or support area's key, defined in
    ``definitions``), ``measure`` (populations: total, new, ended; support: children,
    records, yuan) in ``place`` (a district, an area or ``all``) for ``month``."""

    month: date
    level: Level
    place: str
    area: str
    group: str
    measure: str
    count: float | None = Field(description="null: suppressed")
    suppressed: bool


class StatisticsOut(BaseModel):
    """The latest published statistics (``riskflag stats publish``)."""

    id: int
    exported_at: str = Field(description="the export counted, local time")
    published_at: UtcDateTime
    months: list[date]
    suppress_below: int
    definitions_sha256: str
    definitions: dict[str, Any] = Field(
        description="each population's conditions on the pipeline's statuses and each "
        "support area's kinds of record, as counted (docs/statistics.md)"
    )
    populations: list[FigureOut]
    support: list[FigureOut]


@router.get("/v1/statistics", response_model=StatisticsOut, responses={404: {"model": ErrorOut}})
def statistics(
    caller: Annotated[Caller, allow(Action.READ_STATISTICS, *STATISTICS_ROLES)],
    service: Svc,
    month: Annotated[date | None, Query(description="only this month (its first day)")] = None,
    level: Annotated[Level | None, Query(description="only this level")] = None,
) -> StatisticsOut:
    """Supervisors and analysts: the children of each population the division serves and
    the support recorded, per month, by district, area and the whole city; suppressed
    counts null. 404 before the first publication. Audited."""
    found = read_statistics(service, caller)
    for table in ("populations", "support"):
        found[table] = [
            row
            for row in found[table]
            if (month is None or row["month"] == month.isoformat())
            and (level is None or row["level"] == level)
        ]
    found.pop("published_by", None)
    return StatisticsOut(**found)


@router.get(
    "/v1/statistics/files/{file_name}",
    responses={
        404: {"model": ErrorOut},
        200: {"content": {t: {} for t in set(FILE_TYPES.values())}},
    },
    response_class=Response,
)
def statistics_file(
    caller: Annotated[Caller, allow(Action.READ_STATISTICS, *STATISTICS_ROLES)],
    service: Svc,
    file_name: Literal["statistics.csv", "statistics.xlsx", "populations.png", "support.png"],
    lang: Annotated[Literal["en", "zh-CN"], Query(description="the files' language")] = "en",
) -> Response:
    """The latest statistics as a file to hand on: CSV (UTF-8 with a byte-order mark),
    an Excel workbook, or the whole city's counts as a PNG chart; in English or Chinese.
    Audited."""
    found = read_statistics(service, caller)
    filename = f"{found['exported_at'][:10]}-{lang}-{file_name}"
    return Response(
        file_bytes(found, file_name, lang),
        media_type=FILE_TYPES[file_name],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
