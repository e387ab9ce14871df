"""Monitoring, as the service shows it: a batch's checks (serving.store.monitoring, judged
by the monitoring policy when the batch was written) and the batches before it, for the
monitoring API, the queue's warning and the model page.

Who: supervisors, analysts and admins (the checks hold no child's data: counts per
source and district, features' PSI, flags per district); each read is audited.
"""

from __future__ import annotations

from typing import Any, Final

from models.monitoring import is_problem
from serving.access import Caller
from serving.audit import Action
from serving.errors import NotFoundError
from serving.service import Service
from serving.store import monitoring as stored
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
