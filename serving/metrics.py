"""Operators' metrics in Prometheus' text format, at ``GET /metrics``.

Why: the people who keep the service running need its request rates, latencies and
errors, the model it serves, how old the latest batch is and whether that batch broke
its monitoring checks, in the tool they already watch, without reading a child's page.
Nothing here may carry a child's data: requests are counted by route *template*
(``/v1/children/{child_id}``, never the path), and the batch's figures are the
aggregates of its checks (records per partner, stability indices, problems by kind).

How: each app has its own registry (prometheus-client's ``CollectorRegistry``, so two
apps in one process, as in the tests, never share counts). The access middleware feeds
``observe``; the model and the batch are read at scrape time by ``ServiceCollector``,
from the champion and the store, so a scrape always says what is true now.
``GET /metrics`` answers only a bearer token whose SHA-256 is the setting
``RISKFLAG_METRICS_TOKEN_SHA256`` (no setting: no metrics, 404); a wrong token is
refused and audited like any other.

With several worker processes (``riskflag serve --workers``), each keeps its own request
counts: a scrape sees the worker that answered it (the store's figures are the same in
each).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from models.monitoring import is_problem
from serving.clock import utc_now
from serving.service import Service
from serving.store.monitoring import checks_of
from serving.store.queue import latest_batch

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
KINDS: Final = ("volume", "late", "missing", "linkage", "scores", "flags", "drift")
# a client may send any method: others are counted as one, so no client grows the labels
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """One app's metrics: requests by method, route template and status, and their
    latencies; the service's own figures collected at scrape time."""

    def __init__(self, service: Service) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "riskflag_http_requests",
            "Requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "riskflag_http_request_duration_seconds",
            "Time to answer a request, by method and route template.",
            ("method", "route"),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.registry.register(ServiceCollector(service))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class ServiceCollector(Collector):
    """The model served and the latest batch, read when Prometheus scrapes."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # read at scrape time only: registering reads neither store nor model

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        yield from self._model()
        yield from self._batch()

    def _model(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        champion = self.service.champion
        yield GaugeMetricFamily(
            "riskflag_model_loaded", "1 when a verified model is served.", int(champion.ready)
        )
        if champion.ready:
            served = champion.current()
            info = InfoMetricFamily("riskflag_model", "The model served.")
            info.add_metric([], {"version": served.version, "family": served.model.family,
                                 "sha256": served.sha256[:12]})  # fmt: skip
            yield info

    def _batch(self) -> Iterator[GaugeMetricFamily]:
        with self.service.engine.connect() as connection:
            batch = latest_batch(connection)
            checks = checks_of(connection, batch.id) if batch is not None else []
        if batch is None:
            return
        age = (utc_now() - batch.created_at).total_seconds()
        yield GaugeMetricFamily("riskflag_batch_id", "The latest batch.", batch.id)
        yield GaugeMetricFamily("riskflag_batch_age_seconds", "Since it was written.", age)
        yield GaugeMetricFamily(
            "riskflag_batch_children_flagged", "Children it flagged.", batch.flagged
        )
        yield from _checks(checks)


def _checks(checks: list[dict[str, Any]]) -> Iterator[GaugeMetricFamily]:
    """The latest batch's checks: how many ran and broke by kind; records per partner in
    the week before; the scores' and the largest feature's stability index."""
    ran = GaugeMetricFamily("riskflag_batch_checks", "Checks run, by kind.", labels=["kind"])
    broke = GaugeMetricFamily(
        "riskflag_batch_check_problems", "Checks broken, by kind.", labels=["kind"]
    )
    for kind in KINDS:
        mine = [c for c in checks if c["kind"] == kind]
        ran.add_metric([kind], len(mine))
        broke.add_metric([kind], sum(1 for c in mine if is_problem(c["problem"])))
    records = GaugeMetricFamily(
        "riskflag_source_records_week",
        "Records of each partner in the week before the batch.",
        labels=["source"],
    )
    for c in checks:
        if c["kind"] == "volume" and "/" not in str(c["subject"]):
            records.add_metric([str(c["subject"])], float(c["value"]))
    drift = [float(c["value"]) for c in checks if c["kind"] == "drift"]
    scores = [float(c["value"]) for c in checks if c["kind"] == "scores"]
    yield ran
    yield broke
    yield records
    if scores:
        yield GaugeMetricFamily("riskflag_scores_psi", "The 1-20 scores' PSI.", scores[0])
    if drift:
        yield GaugeMetricFamily("riskflag_feature_psi_max", "The largest feature PSI.", max(drift))
