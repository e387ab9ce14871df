"""Administration: the audit log, batches (the queue), the model, users and tokens.
Admins only, and no child's data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from serving import users
from serving.access import Caller
from serving.api.deps import NamePath, Svc, allow
from serving.api.schemas import (
    AuditOut,
    BatchOut,
    BatchRequest,
    ErrorOut,
    ReloadOut,
    RevokedOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from serving.audit import Action, entries
from serving.errors import ConflictError, InvalidError
from serving.limits import IDENTIFIER, query
from serving.monitoring import judge_matured
from serving.store.batch import write_batch
from serving.store.children import exported_at
from serving.vocabulary import Role

router = APIRouter(tags=["admin"])
Admin = Role.ADMIN


@router.get("/v1/audit", response_model=list[AuditOut])
def audit_log(
    caller: Annotated[Caller, allow(Action.READ_AUDIT, Admin)],
    service: Svc,
    child_id: Annotated[str | None, query(IDENTIFIER, "a child's id")] = None,
    user: Annotated[str | None, query(IDENTIFIER, "a user name")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[AuditOut]:
    """Admins: the audit log, newest first, for a child or a user."""
    found = entries(service.engine, child_id, user, limit)
    caller.audit.done(Action.READ_AUDIT)
    return [AuditOut(**entry.__dict__) for entry in found]


@router.post(
    "/v1/admin/batches",
    status_code=201,
    response_model=BatchOut,
    responses={409: {"model": ErrorOut}},
)
def batch(
    caller: Annotated[Caller, allow(Action.BATCH_SCORE, Admin)],
    service: Svc,
    body: BatchRequest | None = None,
) -> BatchOut:
    """Admins: score every child in the store into a new batch (the queue)."""
    served = service.served()
    with service.engine.connect() as connection:
        until = exported_at(connection)
    day = (body.as_of if body else None) or (until.date() if until else None)
    if day is None:
        raise ConflictError("the store holds no loaded export", code="no_data")
    summary = write_batch(
        service.engine,
        served,
        service.flagging,
        service.deployment,
        day,
        caller.principal.name,
        service.monitoring,
    )
    caller.audit.done(Action.BATCH_SCORE)
    judged = judge_matured(service.engine, service.deployment, service.champion.model_of)
    return BatchOut(**summary.__dict__, outcomes_judged=judged)


@router.post("/v1/admin/model/reload", response_model=ReloadOut)
def reload_model(
    caller: Annotated[Caller, allow(Action.MODEL_RELOAD, Admin)], service: Svc
) -> ReloadOut:
    """Admins: load the registry's current champion now if it changed (verified)."""
    changed = service.champion.refresh()
    caller.audit.done(Action.MODEL_RELOAD)
    version = service.champion.current().version if service.champion.ready else None
    return ReloadOut(version=version, changed=changed, error=service.champion.last_error)


@router.get("/v1/admin/users", response_model=list[UserOut])
def users_list(
    caller: Annotated[Caller, allow(Action.READ_USERS, Admin)], service: Svc
) -> list[UserOut]:
    """Admins: every user with role, districts, state and live tokens (no secret)."""
    found = users.list_users(service.engine)
    caller.audit.done(Action.READ_USERS)
    return [UserOut.model_validate(user) for user in found]


@router.post(
    "/v1/admin/users",
    status_code=201,
    response_model=TokenOut,
    responses={409: {"model": ErrorOut}},
)
def users_add(
    caller: Annotated[Caller, allow(Action.USER_ADD, Admin)], service: Svc, body: UserIn
) -> TokenOut:
    """Admins: create a user and their first token (shown once)."""
    users.add_user(service.engine, body.name, body.role, body.districts, service.deployment)
    token = users.issue_token(service.engine, body.name, body.expires_days)
    caller.audit.done(Action.USER_ADD)
    return TokenOut(name=body.name, token=token)


@router.post(
    "/v1/admin/users/{name}/tokens",
    status_code=201,
    response_model=TokenOut,
    responses={404: {"model": ErrorOut}},
)
def users_token(
    name: NamePath,
    caller: Annotated[Caller, allow(Action.TOKEN_ISSUE, Admin)],
    service: Svc,
    body: TokenIn | None = None,
) -> TokenOut:
    """Admins: a new token for an active user (shown once)."""
    token = users.issue_token(service.engine, name, body.expires_days if body else 90)
    caller.audit.done(Action.TOKEN_ISSUE)
    return TokenOut(name=name, token=token)


@router.post(
    "/v1/admin/users/{name}/revoke",
    response_model=RevokedOut,
    responses={404: {"model": ErrorOut}},
)
def users_revoke(
    name: NamePath, caller: Annotated[Caller, allow(Action.TOKEN_REVOKE, Admin)], service: Svc
) -> RevokedOut:
    """Admins: revoke every live token of a user."""
    revoked = users.revoke_tokens(service.engine, name)
    caller.audit.done(Action.TOKEN_REVOKE)
    return RevokedOut(name=name, revoked=revoked)


@router.post(
    "/v1/admin/users/{name}/disable",
    response_model=RevokedOut,
    responses={404: {"model": ErrorOut}},
)
def users_disable(
    name: NamePath, caller: Annotated[Caller, allow(Action.USER_DISABLE, Admin)], service: Svc
) -> RevokedOut:
    """Admins: disable a user (kept for the audit trail) and revoke their tokens."""
    if name == caller.principal.name:
        raise InvalidError("name", "not_self", "an admin cannot disable themselves", "path")
    revoked = users.revoke_tokens(service.engine, name)
    users.disable_user(service.engine, name)
    caller.audit.done(Action.USER_DISABLE)
    return RevokedOut(name=name, revoked=revoked)
