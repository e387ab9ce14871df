"""Who is calling and what they may reach: deny by default.

A principal is a user a valid token or session names: a role (serving.vocabulary.Role)
and, for caseworkers and supervisors, districts. A role reaches only what its routes
admit (``admit``); a district role reaches only its districts (``districts_asked``) and
their children (``reach_child``): a child elsewhere answers exactly as a child that does
not exist. Every refusal is audited before it is raised, in a transaction of its own,
so that answering it rolls nothing back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.engine import Connection

from serving.audit import Action, Audit
from serving.errors import ForbiddenError, NotFoundError
from serving.store.children import ChildRef, find_child
from serving.store.tables import User, UserDistrict

NOT_FOUND_MESSAGE: Final = "no such child among your districts"


@dataclass(frozen=True)
class Principal:
    """Who a valid token or session belongs to."""

    user_id: int
    name: str
    role: str
    districts: frozenset[str]


def principal(connection: Connection, user_id: int) -> Principal | None:
    """The active user ``user_id`` with their districts, or None (unknown or disabled):
    the one reading of a user for a token, a password and a session alike."""
    row = connection.execute(
        select(User.name, User.role).where(User.id == user_id, User.disabled_at.is_(None))
    ).first()
    if row is None:
        return None
    districts = connection.execute(
        select(UserDistrict.district).where(UserDistrict.user_id == user_id)
    ).scalars()
    return Principal(user_id, row.name, row.role, frozenset(districts))


@dataclass(frozen=True)
class Caller:
    """A principal at work: who they are, and the audit trail of what they do."""

    principal: Principal
    audit: Audit


def admit(caller: Caller, action: Action, roles: Iterable[str]) -> None:
    """Nothing if the caller's role is one of ``roles``; otherwise ForbiddenError (reason
    ``role``), the refusal audited as a denied ``action``."""
    admitted = tuple(roles)
    if caller.principal.role not in admitted:
        caller.audit.refused(action)
        raise ForbiddenError(
            f"the {caller.principal.role} role may not do this ({', '.join(admitted)})",
            reason="role",
        )


def districts_asked(caller: Caller, district: str | None, action: Action) -> list[str]:
    """The districts a request covers: the one asked, if it is the caller's, else all of
    theirs. A district not theirs is ForbiddenError (reason ``district``), audited."""
    if district is None:
        return sorted(caller.principal.districts)
    if district not in caller.principal.districts:
        caller.audit.refused(action, district=district)
        raise ForbiddenError(f"district {district!r} is not among yours", reason="district")
    return [district]


def reach_child(caller: Caller, child_id: str, action: Action) -> ChildRef:
    """The child if it is in one of the caller's districts; otherwise NotFoundError (a
    child that exists elsewhere and one that does not exist look the same), the refusal
    audited as ``not_found`` or ``denied``."""
    with caller.audit.engine.connect() as connection:
        child = find_child(connection, child_id)
    if child is not None and child.district in caller.principal.districts:
        return child
    outcome = "not_found" if child is None else "denied"
    caller.audit.refused(action, outcome, child_id)
    raise NotFoundError(NOT_FOUND_MESSAGE)
