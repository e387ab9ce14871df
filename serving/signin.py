"""Sign-in for the pages: passwords, throttled failures and sessions. Same users and roles
as the API.

- A password is stored only as an scrypt hash (``hashlib.scrypt``: N=2^15, r=8, p=1, a
  16-byte random salt); a person's password, unlike a 256-bit API token, needs a slow,
  salted hash. It is compared in constant time, and an unknown name costs the same hash,
  so timing does not tell names apart.
- Failures are throttled per client and per name from a client (serving.throttle), the
  same for a name that exists and one that does not; no account is ever locked.
- Every attempt is audited: signed in, wrong name or password, or throttled.
- A session is a random 256-bit secret in an HttpOnly cookie; the store keeps its
  SHA-256 and the session's CSRF token (every form posts it back). Sessions end at
  sign-out, on expiry (``SESSION_HOURS``), when the user's password is set or their
  tokens are revoked (their credentials changed), or when the user is disabled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection

from serving import throttle
from serving.access import Principal, principal
from serving.audit import ANONYMOUS, Action, Actor, Someone, record
from serving.clock import utc_now
from serving.errors import InvalidError, NotFoundError
from serving.hashing import digest
from serving.store.tables import Session, User
from serving.users import end_sessions

MIN_PASSWORD: Final = 12
SESSION_HOURS: Final = 8
THROTTLED: Final = "sign_in"  # the throttle's kind for sign-in failures
_N, _R, _P = 2**15, 8, 1
_DUMMY: Final = "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 << 20)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def _matches(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 << 20,
            dklen=len(expected) or 32,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def set_password(engine: Engine, name: str, password: str) -> None:
    """Set a user's password (at least MIN_PASSWORD characters); the user's sessions end."""
    if len(password) < MIN_PASSWORD:
        raise InvalidError(
            "password", "min_length", f"a password needs at least {MIN_PASSWORD} characters"
        )
    if len(password) > 1024 or "\x00" in password:
        raise InvalidError(
            "password", "secret", "a password has at most 1024 characters and no NUL"
        )
    hashed = hash_password(password)
    with engine.begin() as connection:
        user_id = connection.execute(
            update(User)
            .where(User.name == name, User.disabled_at.is_(None))
            .values(password_hash=hashed)
            .returning(User.id)
        ).scalar()
        if user_id is None:
            raise NotFoundError(f"no active user {name!r}")
        end_sessions(connection, user_id)


Outcome = Literal["ok", "wrong", "throttled"]


@dataclass(frozen=True)
class SignIn:
    outcome: Outcome
    principal: Principal | None = None
    retry_after: int | None = None  # seconds, when throttled


def sign_in(
    engine: Engine, name: str, password: str, client: str | None, limits: throttle.Limits
) -> SignIn:
    """Whether ``password`` signs ``name`` in from ``client``: throttled first (even the
    right password), then checked; the attempt is audited either way."""
    now = utc_now()
    with engine.begin() as connection:
        wait = throttle.retry_after(connection, THROTTLED, client, name, limits, now)
        if wait is not None:
            record(connection, ANONYMOUS, Action.SIGN_IN, "throttled", client=client)
            return SignIn("throttled", retry_after=wait)
        principal, who = _check_password(connection, name, password)
        if principal is None:
            throttle.count_failure(connection, THROTTLED, client, name, limits, now)
            record(connection, who, Action.SIGN_IN, "denied", client=client)
            return SignIn("wrong")
        throttle.forgive(connection, THROTTLED, client, name)
        record(connection, principal, Action.SIGN_IN, "allowed", client=client)
        return SignIn("ok", principal)


def _check_password(
    connection: Connection, name: str, password: str
) -> tuple[Principal | None, Actor]:
    """The principal ``password`` signs in as ``name`` (or None), and who the attempt is
    audited as: the user when the name is one, else ANONYMOUS. An unknown name costs the
    same hash as a known one."""
    row = connection.execute(
        select(User.id, User.name, User.role, User.password_hash).where(
            User.name == name, User.disabled_at.is_(None)
        )
    ).first()
    valid = _matches(password, row.password_hash if row and row.password_hash else _DUMMY)
    if row is None:
        return None, ANONYMOUS
    if row.password_hash is None or not valid:
        return None, Someone(row.name, row.role)
    return principal(connection, row.id), Someone(row.name, row.role)


def start_session(engine: Engine, principal: Principal) -> tuple[str, str]:
    """A new session: (the cookie's secret, shown only to the browser; its CSRF token)."""
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            insert(Session).values(
                id=digest(secret),
                user_id=principal.user_id,
                csrf=csrf,
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        )
    return secret, csrf


def session_of(engine: Engine, secret: str | None) -> tuple[Principal, str] | None:
    """The signed-in principal and the session's CSRF token, or None."""
    if not secret or len(secret) > 128:
        return None
    now = utc_now()
    with engine.connect() as connection:
        row = connection.execute(
            select(Session.csrf, Session.expires_at, Session.ended_at, Session.user_id).where(
                Session.id == digest(secret)
            )
        ).first()
        if row is None or row.ended_at is not None or row.expires_at <= now:
            return None
        found = principal(connection, row.user_id)  # None once the user is disabled
        return (found, row.csrf) if found is not None else None


def end_session(engine: Engine, secret: str | None) -> None:
    if not secret:
        return
    with engine.begin() as connection:
        connection.execute(
            update(Session)
            .where(Session.id == digest(secret), Session.ended_at.is_(None))
            .values(ended_at=utc_now())
        )


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
