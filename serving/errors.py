"""The domain's errors: what went wrong, in the domain's words, never in HTTP's.

The service's functions (serving.access, serving.risk, the store) raise these; the API
(serving.api.errors) and the pages (serving.pages.errors) each translate them, the API
into a status and a JSON body, the pages into a page in the reader's language. No status
is ever worked out from an exception's text: the class says what happened, ``field`` and
``rule`` say where and which rule, and the message is for people.
"""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Something the caller asked that the service will not or cannot do.

    ``code`` is a stable machine-readable name (the API's ``error``, the pages' reason);
    subclasses fix it unless the raiser gives a more precise one."""

    code = "error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFoundError(DomainError):
    """No such thing among what the caller may see (a child of another district and one
    that does not exist look the same)."""

    code = "not_found"


class ForbiddenError(DomainError):
    """The caller is known, but their role or districts do not admit this; ``reason``
    says which (``role``, ``district``, ``csrf``)."""

    code = "forbidden"

    def __init__(self, message: str, reason: str = "role") -> None:
        super().__init__(message)
        self.reason = reason


class ConflictError(DomainError):
    """The request clashes with what is stored (a user name taken, no data loaded yet)."""

    code = "conflict"


class NotReadyError(DomainError):
    """The service cannot answer this now (no model loaded, too busy): try again later;
    ``retry_after`` seconds, when known."""

    code = "not_ready"
    retry_after: int | None = None

    def __init__(
        self, message: str, code: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message, code)
        if retry_after is not None:
            self.retry_after = retry_after


class InvalidError(DomainError):
    """A value that breaks a rule: ``field`` names the input as the caller knows it
    (``action``, ``note``, ``cursor``), ``where`` where it came (``body``, ``query``) when
    the raiser knows, ``rule`` the rule broken. The value itself is never repeated (it
    may be a child's data)."""

    code = "invalid_request"

    def __init__(
        self,
        field: str | None,
        rule: str,
        message: str,
        where: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code)
        self.field, self.rule, self.where = field, rule, where
        located = f"{where}.{field}" if where and field else field
        self.problems: list[Problem] = [Problem(located, rule, message)]


@dataclass(frozen=True)
class Problem:
    """One broken rule of an invalid request: where, which rule, what (and how often)."""

    field: str | None
    rule: str
    message: str
    count: int | None = None


class ContractViolationError(InvalidError):
    """A posted case history that breaks the data contract: every problem listed."""

    code = "contract_violation"

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(None, "contract", message, where="body")
        self.problems = problems


class NotScorableError(InvalidError):
    """A child the model cannot score on the date asked (outside its population)."""

    code = "not_scorable"

    def __init__(self, message: str) -> None:
        super().__init__(None, "not_scorable", message)
        self.problems = []
