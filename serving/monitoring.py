"""Monitoring, as the service shows it: a batch's checks (serving.store.monitoring, judged
by the monitoring policy when the batch was written) and the batches before it, for the
monitoring API and page, the queue's warning and the model page; and the outcomes of
past batches, judged and kept once their horizon has passed (``judge_matured``).

Who: supervisors, analysts and admins (the checks hold no child's data: counts per
source and district, features' PSI, flags per district); each read is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Final

from sqlalchemy.engine import Engine

from features.contract import CaseHistories
from features.deployment import Deployment
from models.monitoring import is_problem
from models.outcomes import labels, outcome_report
from models.riskmodel import RiskModel
from serving.access import Caller
from serving.audit import Action
from serving.champion import ModelUnavailableError
from serving.clock import utc_now
from serving.errors import ConflictError, NotFoundError
from serving.service import Service
from serving.store import monitoring as stored
from serving.store.batch import store_case_histories
from serving.store.children import exported_at
from serving.store.queue import latest_batch

ModelOf = Callable[[str, str], RiskModel]  # (version, sha256) -> the model (Champion.model_of)

HISTORY: Final = 26  # the batches whose problem counts the answer lists (half a year weekly)


def read_monitoring(service: Service, caller: Caller, batch_id: int | None) -> dict[str, Any]:
    """A batch's checks (default: the latest batch's), its problems first, and the recent
    batches with their problem counts; audited. No batch: NotFoundError."""
    with service.engine.begin() as connection:
        batch = batch_id if batch_id is not None else _latest_id(connection)
        history = stored.problems_by_batch(connection, HISTORY)
        checks = stored.checks_of(connection, batch) if batch is not None else []
        known = {row["batch_id"] for row in history} | ({batch} if checks else set())
        caller.audit.allowed(connection, Action.READ_MONITORING)
    if batch is None or (batch not in known and not checks):
        raise NotFoundError("no such batch")
    problems = [c for c in checks if is_problem(c["problem"])]
    return {
        "batch_id": batch,
        "policy_sha256": checks[0]["policy_sha256"] if checks else None,
        "checked": len(checks),
        "problems": problems,
        "checks": checks,
        "batches": history,
    }


def read_outcomes(service: Service, caller: Caller, batch_id: int) -> dict[str, Any]:
    """How a past batch's scores turned out: the report kept when it was judged
    (``judge_matured``), else judged now by the model that scored it, on the store's
    records as they are now; audited. NotFoundError for no such batch; ConflictError
    (``not_matured``) before its horizon has passed."""
    with service.engine.begin() as connection:
        batch = stored.batch_row(connection, batch_id)
        kept = stored.outcome_of(connection, batch_id) if batch else None
        caller.audit.allowed(connection, Action.READ_MONITORING)
    if batch is None:
        raise NotFoundError("no such batch")
    if kept is not None:
        return kept
    model = service.champion.model_of(str(batch["model_version"]), str(batch["model_sha256"]))
    histories = store_case_histories(service.engine, service.deployment, batch["as_of"])
    answer = judge(service.engine, histories, model, batch)
    if answer is None:
        known = batch["as_of"] + timedelta(days=model.horizon_days)
        message = f"the batch's outcomes are known once its horizon has passed ({known})"
        raise ConflictError(message, code="not_matured")
    return {**answer, "judged_at": None}


def judge_matured(engine: Engine, deployment: Deployment, model_of: ModelOf) -> list[int]:
    """Judge and keep the outcomes of every batch whose horizon has passed by the store's
    latest export and whose outcomes are not kept yet (run after each new batch: labels
    mature as exports arrive). A batch whose model cannot be had (``model_of`` raises
    ModelUnavailableError) waits for a later run. Returns the batches judged."""
    with engine.connect() as connection:
        until = exported_at(connection)
        waiting = stored.unjudged(connection)
    if until is None:
        return []
    histories, judged = None, []
    for batch in waiting:
        try:
            model = model_of(str(batch["model_version"]), str(batch["model_sha256"]))
        except ModelUnavailableError:
            continue
        if batch["as_of"] + timedelta(days=model.horizon_days) > until.date():
            continue
        histories = histories or store_case_histories(engine, deployment, until.date())
        answer = judge(engine, histories, model, batch)
        if answer is not None:
            with engine.begin() as connection:
                stored.record_outcome(connection, batch["id"], answer, utc_now())
            judged.append(int(batch["id"]))
    return judged


def judge(
    engine: Engine, histories: CaseHistories, model: RiskModel, batch: Mapping[str, Any]
) -> dict[str, Any] | None:
    """A batch's outcome report (models.outcomes) as the API answers it, or None before
    its horizon has passed."""
    with engine.connect() as connection:
        scored = stored.batch_rows(connection, int(batch["id"]))
    labelled = labels(histories, model, batch["as_of"])
    report = outcome_report(scored, labelled, batch["as_of"], model.horizon_days)
    if report is None:
        return None
    found = report.evaluation
    return {
        "batch_id": int(batch["id"]),
        "as_of": batch["as_of"],
        "model_version": batch["model_version"],
        "horizon_days": report.horizon_days,
        "n": found.n,
        "positives": found.positives,
        "base_rate": found.base_rate,
        "roc_auc": found.roc_auc,
        "average_precision": found.average_precision,
        "brier": found.brier,
        "ece": found.ece,
        "flagged": found.policy.flagged,
        "precision_at_flags": found.policy.precision,
        "recall_at_flags": found.policy.recall,
        "by_score": [asdict(row) for row in found.by_score],
        "groups": [asdict(group) for group in report.groups],
    }


@dataclass(frozen=True)
class OverTime:
    """The recent batches (oldest first, with their checks and problem counts), their
    charted checks (``values[(kind, subject)][batch_id]``: store.monitoring.
    checks_over_time) and the outcome reports kept (oldest batch first)."""

    batches: list[dict[str, Any]]
    values: dict[tuple[str, str], dict[int, float]]
    outcomes: list[dict[str, Any]]


def read_over_time(service: Service) -> OverTime:
    """What the monitoring page charts over the last HISTORY batches (read with the page's
    batch, under the audit record ``read_monitoring`` wrote: one record per page)."""
    with service.engine.connect() as connection:
        batches = stored.problems_by_batch(connection, HISTORY)[::-1]
        rows = stored.checks_over_time(connection, [b["batch_id"] for b in batches])
        outcomes = stored.outcomes_latest(connection, HISTORY)[::-1]
    values: dict[tuple[str, str], dict[int, float]] = {}
    for row in rows:
        values.setdefault((row["kind"], row["subject"]), {})[row["batch_id"]] = row["value"]
    return OverTime(batches, values, outcomes)


def latest_problems(service: Service) -> list[dict[str, Any]]:
    """The latest batch's problems (for the queue's warning: read with the queue, under
    its audit record)."""
    with service.engine.connect() as connection:
        batch = _latest_id(connection)
        checks = stored.checks_of(connection, batch) if batch is not None else []
    return [c for c in checks if is_problem(c["problem"])]


def _latest_id(connection: Any) -> int | None:
    batch = latest_batch(connection)
    return batch.id if batch is not None else None
