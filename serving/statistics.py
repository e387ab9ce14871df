"""The division's statistics in the service: published from the store's case histories,
read by supervisors and analysts (audited), handed on as files.

Publishing counts the store's latest export with the definitions
(``features/default_statistics.toml`` or the deployment's own), suppresses the counts
(``features.statistics.suppression``) and keeps the report: the page, the API and the
files read that report, so no exit sees a count before suppression.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from features.deployment import Deployment
from features.statistics.definitions import load_definitions
from features.statistics.report import statistics_report
from serving.access import Caller
from serving.audit import Action
from serving.clock import utc_now
from serving.errors import ConflictError, NotFoundError
from serving.service import Service
from serving.store.batch import store_case_histories
from serving.store.children import exported_at
from serving.store.statistics import latest_statistics, record_statistics


def publish_statistics(
    engine: Engine, deployment: Deployment, by: str, definitions: Path | None = None
) -> dict[str, Any]:
    """Count, suppress and keep the statistics of the store's latest export; the report
    kept, with its id. ConflictError when the store holds no export."""
    with engine.connect() as connection:
        until = exported_at(connection)
    if until is None:
        message = "the store holds no loaded export: run `riskflag db load DIR` first"
        raise ConflictError(message, code="no_data")
    histories = store_case_histories(engine, deployment, until.date())
    report = statistics_report(histories, load_definitions(definitions))
    with engine.begin() as connection:
        report_id = record_statistics(connection, report, utc_now(), by)
    return {**report, "id": report_id}


def read_statistics(service: Service, caller: Caller) -> dict[str, Any]:
    """The latest published statistics; audited. NotFoundError before the first."""
    with service.engine.begin() as connection:
        found = latest_statistics(connection)
        caller.audit.allowed(connection, Action.READ_STATISTICS)
    if found is None:
        raise NotFoundError("no statistics published yet: run `riskflag stats publish`")
    return found
