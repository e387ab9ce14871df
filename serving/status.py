"""The one table from a domain error (serving.errors) to an HTTP status, for the API's
answers and the pages' alike: each translates the error its own way (JSON, a page in the
reader's language), but a refusal is a refusal whichever door it came through. The first
class an error is an instance of gives its status."""

from __future__ import annotations

from typing import Final

from serving.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    NotReadyError,
)

STATUS: Final[tuple[tuple[type[DomainError], int], ...]] = (
    (InvalidError, 422),
    (NotFoundError, 404),
    (ForbiddenError, 403),
    (ConflictError, 409),
    (NotReadyError, 503),
    (DomainError, 400),
)


def status_of(exc: DomainError) -> int:
    """The HTTP status that answers ``exc``."""
    return next(status for kind, status in STATUS if isinstance(exc, kind))
