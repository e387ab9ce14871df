"""Monitoring, as the service shows it: a batch's checks (serving.store.monitoring, judged
by the monitoring policy when the batch was written) and the batches before it, for the
monitoring API, the queue's warning and the model page.

Who: supervisors, analysts and admins (the checks hold no child's data: counts per
source and district, features' PSI, flags per district); each read is audited.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any, Final

from models.monitoring import is_problem
from models.outcomes import labels, outcome_report
from serving.access import Caller
from serving.audit import Action
from serving.errors import ConflictError, NotFoundError
from serving.service import Service
from serving.store import monitoring as stored
from serving.store.batch import store_case_histories
from serving.store.queue import latest_batch

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
    """How a past batch's scores turned out (models.outcomes), judged by the model that
    scored it, on the store's records as they are now; audited. NotFoundError for no
    such batch; ConflictError (``not_matured``) before its horizon has passed."""
    with service.engine.begin() as connection:
        batch = stored.batch_row(connection, batch_id)
        scored = stored.batch_rows(connection, batch_id) if batch else None
        caller.audit.allowed(connection, Action.READ_MONITORING)
    if batch is None or scored is None:
        raise NotFoundError("no such batch")
    model = service.champion.model_of(str(batch["model_version"]), str(batch["model_sha256"]))
    histories = store_case_histories(service.engine, service.deployment, batch["as_of"])
    labelled = labels(histories, model, batch["as_of"])
    report = outcome_report(scored, labelled, batch["as_of"], model.horizon_days)
    if report is None:
        known = batch["as_of"] + timedelta(days=model.horizon_days)
        message = f"the batch's outcomes are known once its horizon has passed ({known})"
        raise ConflictError(message, code="not_matured")
    found = report.evaluation
    return {
        "batch_id": batch_id,
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
