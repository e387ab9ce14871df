"""Concurrent scorings share one feature build.

Building features for one household costs about as much as for fifty: the pipeline's
cost is its plan (hundreds of window sums), not its rows. So requests that arrive while
a build is running wait for the next one, and that one builds them all together. Nothing
changes for a request but the wait.

Each request's case history is kept apart from the others. Its child, household and
event ids get a prefix unique within the batch (``<n>\\x1f``), and the prefix is taken
off the answers. Two requests for the same child id with different histories never see
each other's records: a test sends exactly that. A batch that fails as a whole is run
again request by request, so one request cannot fail another.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Final

import polars as pl

from features import schema as s
from features.contract import CaseHistories, ValidationReport
from models.flagging import FlaggingPolicy
from models.riskmodel import RiskModel
from serving.errors import NotScorableError
from serving.explain import (
    Ask,
    RiskView,
    explain_child,
    explain_children,
)
from serving.i18n import Language

SEPARATOR: Final = "\x1f"


@dataclass
class _Job:
    model: RiskModel
    histories: CaseHistories
    ask: Ask
    as_of: date
    policy: FlaggingPolicy
    done: Future[RiskView] = field(default_factory=Future)


class Coalescer:
    """A worker thread that explains queued requests in batches of up to ``max_batch``."""

    def __init__(self, max_batch: int = 32) -> None:
        self.max_batch = max_batch
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        self.requests = 0

    def explain(
        self,
        model: RiskModel,
        histories: CaseHistories,
        child_id: str,
        as_of: date,
        policy: FlaggingPolicy,
        lang: Language = "en",
        top: int | None = 10,
    ) -> RiskView:
        """As ``explain_child``, in the next batch; raises NotScorableError likewise."""
        done = self.submit(model, histories, Ask(child_id, lang, top), as_of, policy)
        self.start()
        return done.result()

    def submit(
        self,
        model: RiskModel,
        histories: CaseHistories,
        ask: Ask,
        as_of: date,
        policy: FlaggingPolicy,
    ) -> Future[RiskView]:
        """Queue a request; the worker (once started) answers it."""
        job = _Job(model, histories, ask, as_of, policy)
        self._jobs.put(job)
        return job.done

    def start(self) -> None:
        """Start the worker unless it runs (explain starts it too)."""
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, name="riskflag-scoring", daemon=True
                )
                self._worker.start()

    def close(self) -> None:
        """Stop the worker once the queued requests are answered."""
        with self._lock:
            worker, self._worker = self._worker, None
            if worker is not None and worker.is_alive():
                self._jobs.put(None)
                worker.join(timeout=60)

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)  # finish this batch, then stop
                    break
                batch.append(job)
            self.batches += 1
            self.requests += len(batch)
            groups: dict[tuple[int, date, int], list[_Job]] = {}
            for job in batch:
                groups.setdefault((id(job.model), job.as_of, id(job.policy)), []).append(job)
            for jobs in groups.values():
                _settle(jobs)


def _settle(jobs: list[_Job]) -> None:
    try:
        views = _together(jobs) if len(jobs) > 1 else None
    except Exception:
        views = None
    if views is None:
        for job in jobs:
            try:
                job.done.set_result(
                    explain_child(
                        job.model,
                        job.histories,
                        job.ask.child_id,
                        job.as_of,
                        job.policy,
                        job.ask.lang,
                        job.ask.top,
                    )
                )
            except Exception as exc:
                job.done.set_exception(exc)
        return
    for index, (job, view) in enumerate(zip(jobs, views, strict=True)):
        if isinstance(view, NotScorableError):
            job.done.set_exception(NotScorableError(str(view).replace(_tag(index), "", 1)))
        else:
            job.done.set_result(view)


def _tag(index: int) -> str:
    return f"{index}{SEPARATOR}"


def _prefixed(column: str, tag: str) -> pl.Expr:
    return pl.when(pl.col(column).is_not_null()).then(pl.lit(tag) + pl.col(column)).alias(column)


def _together(jobs: Sequence[_Job]) -> list[RiskView | NotScorableError]:
    children, events = [], []
    for index, job in enumerate(jobs):
        tag = _tag(index)
        children.append(
            job.histories.children.with_columns(
                _prefixed(s.CHILD_ID, tag), _prefixed(s.HOUSEHOLD_ID, tag)
            )
        )
        events.append(
            job.histories.events.with_columns(
                _prefixed(s.CHILD_ID, tag), _prefixed(s.EVENT_ID, tag)
            )
        )
    first = jobs[0]
    combined = CaseHistories(
        children=pl.concat(children),
        events=pl.concat(events),
        exported_at=max(job.histories.exported_at for job in jobs),  # labels only
        deployment=first.histories.deployment,
        source=Path("batch"),
        report=ValidationReport(Path("batch")),
    )
    asks = [
        replace(job.ask, child_id=_tag(index) + job.ask.child_id) for index, job in enumerate(jobs)
    ]
    views = explain_children(first.model, combined, asks, first.as_of, first.policy)
    out: list[RiskView | NotScorableError] = []
    for job, view in zip(jobs, views, strict=True):
        if isinstance(view, NotScorableError):
            out.append(view)
            continue
        out.append(
            replace(
                view,
                child_id=job.ask.child_id,
                factors=tuple(
                    replace(
                        factor,
                        event_ids=tuple(e.split(SEPARATOR, 1)[1] for e in factor.event_ids),
                    )
                    for factor in view.factors
                ),
            )
        )
    return out
