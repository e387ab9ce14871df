"""The monitoring page, for supervisors, analysts and admins (an admin's home: a batch
that broke a check is the first thing an admin sees on signing in): a batch's checks,
its broken ones first, and charts over the recent batches of what the checks measure
(problems, each partner's records, the scores' and features' stability, the children
reaching the flagging tier) and of how the matured batches' scores turned out (kept
outcome reports). The same domain functions as ``GET /v1/monitoring``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from features.vocabulary import SOURCE_LABELS
from models.monitoring import MonitoringPolicy
from serving.access import admit
from serving.audit import Action
from serving.errors import NotFoundError
from serving.i18n import translations
from serving.monitoring import OverTime, read_monitoring, read_over_time
from serving.pages.charts import Chart, Series, line_chart
from serving.pages.checks import served_registry, subject_words
from serving.pages.errors import PageError
from serving.pages.render import language_of, render
from serving.pages.session import Session
from serving.pages.words import CHART
from serving.service import service_of
from serving.vocabulary import MONITORING_ROLES

router = APIRouter(include_in_schema=False)


@router.get("/monitoring", response_class=HTMLResponse)
def monitoring_page(
    request: Request,
    signed_in: Session,
    batch_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """A batch's checks (default: the latest batch's) and the charts over time."""
    caller = signed_in.caller
    admit(caller, Action.READ_MONITORING, MONITORING_ROLES)
    service = service_of(request)
    try:
        found: dict[str, Any] | None = read_monitoring(service, caller, batch_id)
    except NotFoundError as exc:
        if batch_id is not None:
            raise PageError(404, "batch") from exc
        found = None
    language = language_of(request)
    over = read_over_time(service)
    gettext = translations(language).gettext
    return render(
        request,
        "monitoring.html",
        user=caller.principal,
        csrf=signed_in.csrf,
        monitoring=found,
        charts=charts(over, service.monitoring, gettext, language),
        outcomes=over.outcomes[::-1],
        subject=subject_words(language, served_registry(service)),
    )


def charts(
    over: OverTime, policy: MonitoringPolicy, gettext: Callable[[str], str], language: str
) -> list[Chart]:
    """The page's charts, one point per batch (the outcomes: per matured batch)."""
    ids = [batch["batch_id"] for batch in over.batches]
    days = [batch["as_of"].isoformat() for batch in over.batches]

    def per_batch(kind: str, subject: str) -> tuple[float | None, ...]:
        found = over.values.get((kind, subject), {})
        return tuple(found.get(batch) for batch in ids)

    def say(key: str) -> str:
        return gettext(CHART[key])

    major = (policy.drift.feature_psi, say("major"))
    moderate = (policy.drift.notice_psi, say("moderate"))
    problems = tuple(float(batch["problems"]) for batch in over.batches)
    return [
        line_chart(say("problems"), days, [Series(say("problems_line"), problems)]),
        line_chart(say("volume"), days, _sources(over, per_batch, language)),
        line_chart(
            say("scores"),
            days,
            [Series(say("scores_line"), per_batch("scores", "1-20"))],
            [(policy.drift.score_psi, say("major"))],
            digits=2,
        ),
        line_chart(
            say("drift"),
            days,
            [Series(say("drift_line"), per_batch("drift", "largest"))],
            [major, moderate],
            digits=2,
        ),
        line_chart(say("flags"), days, [Series(say("flags_line"), _flags(over, ids))]),
        *_outcomes(over, say),
    ]


def _sources(
    over: OverTime, per_batch: Callable[[str, str], tuple[float | None, ...]], language: str
) -> list[Series]:
    """One line per partner system: its records in the week before each batch."""
    zh = language == "zh-CN"
    sources = sorted({subject for kind, subject in over.values if kind == "volume"})
    return [
        Series(_source(code, zh), per_batch("volume", code))
        for code in sources
        if "/" not in code  # a source's districts are in the table, not drawn
    ]


def _source(code: str, zh: bool) -> str:
    label = SOURCE_LABELS.get(code)
    return (label.zh if zh else label.en) if label else code


def _flags(over: OverTime, ids: list[int]) -> tuple[float | None, ...]:
    """Per batch, the children reaching the flagging tier in every district judged."""
    totals: dict[int, float] = {}
    for (kind, _), found in over.values.items():
        if kind == "flags":
            for batch, value in found.items():
                totals[batch] = totals.get(batch, 0.0) + value
    return tuple(totals.get(batch) for batch in ids)


def _outcomes(over: OverTime, say: Callable[[str], str]) -> list[Chart]:
    """AUC, precision at the flags, and the observed beside the predicted rate, per
    matured batch (none kept yet: no chart)."""
    if not over.outcomes:
        return []
    days = [str(report["as_of"]) for report in over.outcomes]

    def figure(key: str) -> tuple[float | None, ...]:
        return tuple(report.get(key) for report in over.outcomes)

    return [
        line_chart(
            say("outcomes"),
            days,
            [
                Series(say("auc"), figure("roc_auc")),
                Series(say("precision"), figure("precision_at_flags")),
                Series(say("observed"), figure("base_rate")),
                Series(say("predicted"), tuple(_predicted(r) for r in over.outcomes)),
            ],
            digits=2,
        )
    ]


def _predicted(report: dict[str, Any]) -> float | None:
    """The batch's mean predicted rate, from its calibration rows (score by score)."""
    rows = [r for r in report.get("by_score", []) if r.get("mean_probability") is not None]
    n = sum(r["n"] for r in rows)
    return sum(r["mean_probability"] * r["n"] for r in rows) / n if n else None
