"""What a string from outside may hold, declared once and applied at every edge.

Every string that reaches the service (a path id, a query filter, a body field, a form
field, a cursor, a command's argument) is held to one of these rules before any
database statement sees it. The store's columns are at most 64 characters and
PostgreSQL's text cannot hold NUL, so a value over the length or holding NUL would
otherwise fail inside the database: as a 500, after the refusal's own audit record was
lost, with the statement's parameters in the log. Here it is a 422 naming the field.

- An identifier (a child, a district, a user name as typed) is 1-64 characters with no
  control character: it is shown, logged in the audit and compared, never formatted.
- Text a person writes (a decision's note) may hold line breaks but never NUL.

The API's path, query and body declarations and the pages' forms are built from these
rules (``path``, ``query``, ``field``, ``form``); code that receives a string by another
road (a cursor's content, a command's argument) calls ``check``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from fastapi import Form, Path, Query
from pydantic import Field

from features.schema import MAX_CHILD_ID_LENGTH
from serving.errors import InvalidError


@dataclass(frozen=True)
class Rule:
    """A string rule: its length bounds and a pattern over the whole value."""

    name: str
    min_length: int
    max_length: int
    pattern: str
    says: str

    def matches(self, value: object) -> bool:
        return (
            isinstance(value, str)
            and self.min_length <= len(value) <= self.max_length
            and re.fullmatch(self.pattern, value) is not None
        )

    def at_most(self, most: int) -> Rule:
        """The same rule up to ``most`` characters."""
        says = self.says.replace(f"-{self.max_length} characters", f"-{most} characters")
        return Rule(self.name, self.min_length, most, self.pattern, says)

    @property
    def _bounds(self) -> dict[str, Any]:
        return {
            "min_length": self.min_length,
            "max_length": self.max_length,
            "pattern": f"^{self.pattern}$",
        }


class InvalidValueError(InvalidError):
    """A value that breaks its rule; ``field`` says where (``query.cursor``), ``rule``
    which rule."""

    def __init__(self, field: str, rule: Rule) -> None:
        super().__init__(field, rule.name, f"{field}: {rule.says}")


_NO_CONTROL: Final = r"[^\x00-\x1f\x7f]"

IDENTIFIER: Final = Rule(
    "identifier",
    1,
    MAX_CHILD_ID_LENGTH,
    f"{_NO_CONTROL}*",
    f"1-{MAX_CHILD_ID_LENGTH} characters, no control character (NUL, tab, line break)",
)
# a filter or a sign-in name a form may leave empty
OPTIONAL_IDENTIFIER: Final = Rule(
    "identifier",
    0,
    MAX_CHILD_ID_LENGTH,
    f"{_NO_CONTROL}*",
    f"at most {MAX_CHILD_ID_LENGTH} characters, no control character",
)
USER_NAME: Final = Rule(
    "user_name",
    1,
    64,
    r"[A-Za-z0-9][A-Za-z0-9._-]*",
    "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
)
NOTE: Final = Rule("text", 0, 4000, r"[^\x00]*", "at most 4000 characters, no NUL")
CURSOR: Final = Rule("cursor", 0, 512, r"[A-Za-z0-9_-]*", "a next_cursor this service issued")
# what a page form field that is a code (an action, a reason, a token) may hold
CODE: Final = Rule("code", 0, 128, r"[A-Za-z0-9_-]*", "at most 128 letters, digits, '_' or '-'")
SECRET: Final = Rule("secret", 0, 1024, r"[^\x00]*", "at most 1024 characters, no NUL")
RETURN_PATH: Final = Rule("path", 0, 2048, r"[^\x00]*", "at most 2048 characters, no NUL")


def check(value: str, rule: Rule, field: str) -> str:
    """``value`` if it keeps ``rule``; otherwise InvalidValueError naming ``field``."""
    if not rule.matches(value):
        raise InvalidValueError(field, rule)
    return value


def path(rule: Rule, description: str | None = None) -> Any:
    """A path parameter held to ``rule`` (FastAPI answers 422 naming it)."""
    return Path(description=description or rule.says, **rule._bounds)


def query(rule: Rule, description: str | None = None) -> Any:
    return Query(description=description or rule.says, **rule._bounds)


def form(rule: Rule) -> Any:
    return Form(**rule._bounds)


def field(rule: Rule, default: Any = ..., description: str | None = None) -> Any:
    """A body field (pydantic) held to ``rule``."""
    return Field(default, description=description or rule.says, **rule._bounds)
