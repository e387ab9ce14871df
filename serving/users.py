"""Users, roles, districts and API tokens.

A token reads ``rf_<id>_<secret>``: the id (12 hex characters) finds the row, the secret
(43 URL-safe characters, 256 random bits from ``secrets``) proves it. Only the secret's
SHA-256 is stored, compared in constant time (``hmac.compare_digest``). A secret of 256
random bits needs no key stretching (that is for passwords people choose); a plain hash
keeps authentication fast on every request. The token is shown once, when issued.

Roles (serving.vocabulary.Role): caseworkers and supervisors act within their districts
(at least one, each a district of the deployment); analysts see model metrics and
de-identified aggregates; admins manage users and read the audit log. What each role may
do is enforced by serving.access; here a token only says who is calling. These functions
expect a store at the latest schema (migrated at start-up or by `riskflag db migrate`).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Final

from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from features.deployment import Deployment
from serving.access import Principal, principal
from serving.clock import utc_now
from serving.errors import ConflictError, InvalidError, NotFoundError
from serving.hashing import digest
from serving.limits import USER_NAME
from serving.store.tables import Session, Token, User, UserDistrict
from serving.vocabulary import DISTRICT_ROLES, OPTIONAL_DISTRICT_ROLES, Role, codes

TOKEN_PATTERN: Final = re.compile(r"rf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


def _check_user(name: str, role: str, districts: Sequence[str], known: Collection[str]) -> None:
    if not USER_NAME.matches(name):
        raise InvalidError("name", USER_NAME.name, f"user name {name!r}: {USER_NAME.says}")
    if role not in codes(Role):
        raise InvalidError("role", "role", f"role {role!r}: one of {', '.join(codes(Role))}")
    unknown = [d for d in districts if d not in known]
    if unknown:
        raise InvalidError(
            "districts",
            "district",
            f"district(s) {unknown} not in the deployment ({', '.join(known)})",
        )
    if role in DISTRICT_ROLES and not districts:
        raise InvalidError("districts", "district", f"a {role} needs at least one --district")
    if role not in (*DISTRICT_ROLES, *OPTIONAL_DISTRICT_ROLES) and districts:
        raise InvalidError(
            "districts", "district", f"an {role} is not scoped by district: give no --district"
        )


def add_user(
    engine: Engine,
    name: str,
    role: str,
    districts: Sequence[str] = (),
    deployment: Deployment | None = None,
) -> int:
    """Create a user; districts are required for caseworkers and supervisors."""
    _check_user(name, role, districts, (deployment or Deployment()).districts)
    try:
        with engine.begin() as connection:
            user_id = connection.execute(
                insert(User).values(name=name, role=role, created_at=utc_now()).returning(User.id)
            ).scalar_one()
            for district in sorted(set(districts)):
                connection.execute(insert(UserDistrict).values(user_id=user_id, district=district))
    except IntegrityError as exc:
        raise ConflictError(f"user {name!r} exists already") from exc
    return int(user_id)


def issue_token(engine: Engine, name: str, expires_days: int | None = 90) -> str:
    """A new token for an active user; the only time its secret exists in the clear."""
    if expires_days is not None and expires_days < 1:
        raise InvalidError(
            "expires_days", "minimum", "expires_days must be at least 1 (or None for no expiry)"
        )
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    now = utc_now()
    with engine.begin() as connection:
        user = connection.execute(
            select(User.id).where(User.name == name, User.disabled_at.is_(None))
        ).first()
        if user is None:
            raise NotFoundError(f"no active user {name!r}")
        connection.execute(
            insert(Token).values(
                id=token_id,
                user_id=user.id,
                secret_sha256=digest(secret),
                created_at=now,
                expires_at=now + timedelta(days=expires_days) if expires_days else None,
            )
        )
    return f"rf_{token_id}_{secret}"


def authenticate(engine: Engine, token: str) -> Principal | None:
    """The principal a token belongs to, or None for anything not a valid live token.

    Never raises for a bad token (malformed, unknown, revoked, expired, a disabled user):
    the caller answers 401 without saying which.
    """
    match = TOKEN_PATTERN.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        return None
    token_id, secret = match.groups()
    with engine.connect() as connection:
        row = connection.execute(
            select(Token.secret_sha256, Token.expires_at, Token.revoked_at, Token.user_id).where(
                Token.id == token_id
            )
        ).first()
        # compare even when the id is unknown, so timing does not tell ids apart
        expected = row.secret_sha256 if row is not None else digest("")
        valid = hmac.compare_digest(expected, digest(secret))
        if row is None or not valid or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= utc_now():
            return None
        return principal(connection, row.user_id)


def revoke_tokens(engine: Engine, name: str) -> int:
    """Revoke every live token of a user, and end their page sessions (their credentials
    changed); returns how many tokens."""
    with engine.begin() as connection:
        user_id = connection.execute(select(User.id).where(User.name == name)).scalar()
        if user_id is None:
            raise NotFoundError(f"no user {name!r}")
        result = connection.execute(
            update(Token)
            .where(Token.user_id == user_id, Token.revoked_at.is_(None))
            .values(revoked_at=utc_now())
            .returning(Token.id)
        )
        end_sessions(connection, user_id)
        return len(result.all())


def end_sessions(connection: Connection, user_id: int) -> None:
    """End every open page session of a user (in the caller's transaction)."""
    connection.execute(
        update(Session)
        .where(Session.user_id == user_id, Session.ended_at.is_(None))
        .values(ended_at=utc_now())
    )


def disable_user(engine: Engine, name: str) -> None:
    """Disable a user (kept for the audit trail, never deleted) and revoke their tokens."""
    revoke_tokens(engine, name)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.name == name).values(disabled_at=utc_now()))


def list_users(engine: Engine) -> list[dict[str, object]]:
    """Users with role, districts, state and live token count; never a secret or hash."""
    now = utc_now()
    with engine.connect() as connection:
        users = connection.execute(
            select(User.id, User.name, User.role, User.disabled_at).order_by(User.name)
        ).all()
        out: list[dict[str, object]] = []
        for user in users:
            districts = connection.execute(
                select(UserDistrict.district).where(UserDistrict.user_id == user.id)
            ).scalars()
            live = connection.execute(
                select(Token.id).where(
                    Token.user_id == user.id,
                    Token.revoked_at.is_(None),
                    or_(Token.expires_at.is_(None), Token.expires_at > now),
                )
            ).all()
            out.append(
                {
                    "name": user.name,
                    "role": user.role,
                    "districts": sorted(districts),
                    "active": user.disabled_at is None,
                    "live_tokens": len(live),
                }
            )
    return out
