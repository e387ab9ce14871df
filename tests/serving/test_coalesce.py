"""Coalesced scoring answers every request exactly as scoring it alone would, keeps
requests with the same child id apart, and fails only the request that fails."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from features.build import build_features
from features.contract import CaseHistories, load_case_histories
from models.flagging import load_flagging_policy
from models.registry import load_version, use_tracking
from serving.coalesce import Coalescer
from serving.explain import (
    Ask,
    Language,
    NotScorableError,
    RiskView,
    explain_child,
    store_histories,
)
from tests.serving.conftest import Trained

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]
AS_OF = date(2025, 12, 1)


def test_a_batch_answers_each_request_as_alone(trained: Trained) -> None:
    use_tracking(trained.tracking_uri)
    model = load_version(trained.version)
    policy = load_flagging_policy(None)
    histories = load_case_histories(trained.data)
    children, events = histories.children.collect(), histories.events.collect()
    cohort = build_features(histories, model.config, model.policy, [AS_OF]).frame
    scorable = cohort.select("child_id").collect()["child_id"]
    busy = (
        events.filter(pl.col("child_id").is_in(scorable.implode()))
        .group_by("child_id")
        .len()
        .sort("len", "child_id", descending=True)["child_id"]
        .head(12)
        .to_list()
    )

    def one(child: str, reports: int | None = None) -> CaseHistories:
        """The child's history, keeping only its first ``reports`` concern reports."""
        mine = events.filter(pl.col("child_id") == child)
        if reports is not None:
            concern = pl.col("event_type") == "report.concern"
            mine = mine.filter(~concern | (concern.cum_sum() <= reports))
        return store_histories(
            children.filter(pl.col("child_id") == child), mine, histories.exported_at,
            histories.deployment,
        )  # fmt: skip

    requests: list[tuple[str, CaseHistories, Language]] = [(c, one(c), "en") for c in busy]
    # the same child id twice more, with fewer concern reports, one of them in Chinese
    requests += [(busy[0], one(busy[0], 1), "zh-CN"), (busy[0], one(busy[0], 0), "en")]
    newborn = children.filter(pl.col("birth_date") > AS_OF)["child_id"].head(1).to_list()
    if newborn:  # a child born after the date: not scorable, and only that request fails
        requests.append((newborn[0], one(newborn[0]), "en"))

    alone: list[RiskView | Exception] = []
    for child, history, lang in requests:
        try:
            alone.append(explain_child(model, history, child, AS_OF, policy, lang, None))
        except NotScorableError as exc:
            alone.append(exc)

    coalescer = Coalescer(max_batch=64)
    futures = [
        coalescer.submit(model, history, Ask(child, lang, None), AS_OF, policy)
        for child, history, lang in requests
    ]
    coalescer.start()  # every request is queued: one batch takes them all
    together: list[RiskView | Exception] = []
    for future in futures:
        try:
            together.append(future.result(timeout=600))
        except NotScorableError as exc:
            together.append(exc)
    coalescer.close()
    assert coalescer.batches == 1
    assert coalescer.requests == len(requests)
    for expected, got in zip(alone, together, strict=True):
        if isinstance(expected, Exception):
            assert isinstance(got, NotScorableError)
            assert str(got) == str(expected)
            continue
        assert got == expected  # probability, score, every factor, value and record
    first, half, quarter = together[0], together[len(busy)], together[len(busy) + 1]
    assert isinstance(first, RiskView)
    assert isinstance(half, RiskView)
    assert isinstance(quarter, RiskView)
    assert first.probability != half.probability or first.factors != half.factors
    sent = set(one(busy[0], 1).events.collect()["event_id"].to_list())
    assert {e for f in half.factors for e in f.event_ids} <= sent  # never the other request's
    assert {e for f in quarter.factors for e in f.event_ids}.isdisjoint(
        set(events.filter(pl.col("event_type") == "report.concern")["event_id"].to_list())
    )
