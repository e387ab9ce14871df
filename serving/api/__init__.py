"""The HTTP API (FastAPI), versioned under /v1: one router per resource.

Access: a bearer token names a user and role; every route admits the roles it lists
(serving.api.deps.allow) and reaches only what serving.access allows; every read of a
child's data and every decision writes an audit record in the same transaction.
Errors are JSON, their status taken from the domain error's class (serving.api.errors).
Logs carry the route template, status and time: never a child id, a query string, a body
or a token. This package and serving.pages never import each other: both call the
domain (serving.access, serving.risk, serving.cases, serving.store).
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter

from serving.api import (
    admin,
    children,
    corrections,
    decisions,
    family,
    model,
    monitoring,
    operations,
    queue,
    review,
    scores,
    separations,
    statistics,
    supervision,
    whatif,
)

ROUTERS: Final[tuple[APIRouter, ...]] = (
    operations.router,
    scores.router,
    children.router,
    whatif.router,
    family.router,
    queue.router,
    decisions.router,
    corrections.router,
    separations.router,
    review.router,
    supervision.router,
    model.router,
    monitoring.router,
    statistics.router,
    admin.router,
)
