"""Users and tokens on SQLite and PostgreSQL: only hashes stored, constant-time checks,
hostile tokens answered with None (never an exception), revocation, expiry, scoping."""

from __future__ import annotations

import hmac
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from serving import users
from serving.cli import app
from serving.errors import DomainError
from serving.store import make_engine, upgrade
from serving.store.tables import Token
from serving.users import (
    add_user,
    authenticate,
    disable_user,
    issue_token,
    list_users,
    revoke_tokens,
)


def test_a_token_authenticates_its_user_with_districts(store_url: str) -> None:
    engine = make_engine(store_url)
    add_user(engine, "wang", "caseworker", ["Haidian", "Chaoyang"])
    token = issue_token(engine, "wang")
    principal = authenticate(engine, token)
    assert principal is not None
    assert (principal.name, principal.role) == ("wang", "caseworker")
    assert principal.districts == {"Haidian", "Chaoyang"}


def test_only_the_hash_of_a_secret_is_stored(store_url: str) -> None:
    engine = make_engine(store_url)
    add_user(engine, "li", "analyst")
    token = issue_token(engine, "li")
    secret = token.split("_", 2)[2]
    with engine.connect() as connection:
        for table in ("users", "user_districts", "tokens"):
            rows = connection.execute(text(f"SELECT * FROM {table}")).all()
            assert secret not in repr(rows)
    assert "secret" not in repr(list_users(engine))


def test_secrets_are_compared_in_constant_time(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(store_url)
    add_user(engine, "chen", "admin")
    token = issue_token(engine, "chen")
    calls: list[int] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(users.hmac, "compare_digest", spy)
    assert authenticate(engine, token) is not None
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert authenticate(engine, wrong) is None
    unknown_id = "rf_000000000000_" + token.split("_", 2)[2]
    assert authenticate(engine, unknown_id) is None
    assert len(calls) == 3  # an unknown id is compared too: timing tells nothing


@settings(max_examples=60, deadline=None)
@given(
    hostile=st.one_of(
        st.text(max_size=200),
        st.from_regex(r"rf_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", fullmatch=True),
        st.just("rf_' OR 1=1 --_" + "a" * 43),
    )
)
def test_hostile_tokens_are_refused_without_an_error(hostile: str) -> None:
    engine = make_engine("sqlite://")
    upgrade(engine)
    add_user(engine, "x", "analyst")
    assert authenticate(engine, hostile) is None


def test_revoked_expired_and_disabled_tokens_are_refused(store_url: str) -> None:
    engine = make_engine(store_url)
    add_user(engine, "zhao", "supervisor", ["Tongzhou"])
    first, second = issue_token(engine, "zhao"), issue_token(engine, "zhao")
    assert revoke_tokens(engine, "zhao") == 2
    assert authenticate(engine, first) is None
    assert authenticate(engine, second) is None
    third = issue_token(engine, "zhao", expires_days=1)
    assert authenticate(engine, third) is not None
    with engine.begin() as connection:  # a day passes
        connection.execute(update(Token).values(expires_at=datetime(2000, 1, 1)))
    assert authenticate(engine, third) is None
    fourth = issue_token(engine, "zhao")
    disable_user(engine, "zhao")
    assert authenticate(engine, fourth) is None
    with pytest.raises(DomainError, match="no active user 'zhao'"):
        issue_token(engine, "zhao")
    with engine.connect() as connection:
        assert len(connection.execute(select(Token.id)).all()) == 4  # kept, never deleted


@pytest.mark.parametrize(
    ("name", "role", "districts", "message"),
    [
        ("a b", "analyst", [], "user name 'a b'"),
        ("x", "boss", [], "role 'boss'"),
        ("x", "caseworker", [], "needs at least one --district"),
        ("x", "analyst", ["Haidian"], "not scoped by district"),
        ("x", "caseworker", ["Atlantis"], "not in the deployment"),
    ],
)
def test_bad_users_are_refused_by_name(
    name: str, role: str, districts: list[str], message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        add_user(make_engine("sqlite://"), name, role, districts)


def test_a_name_is_unique(store_url: str) -> None:
    engine = make_engine(store_url)
    add_user(engine, "sun", "analyst")
    with pytest.raises(DomainError, match="exists already"):
        add_user(engine, "sun", "admin")


def test_cli_add_list_revoke(store_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["users", "add", "wu", "--role", "caseworker", "--district", "Miyun", "--url", store_url],
    )
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert authenticate(make_engine(store_url), token) is not None
    listed = runner.invoke(app, ["users", "list", "--url", store_url]).stdout
    assert "wu" in listed
    assert "Miyun" in listed
    assert token not in listed
    result = runner.invoke(app, ["users", "revoke", "wu", "--url", store_url])
    assert "revoked 1 token(s)" in result.stdout
    assert authenticate(make_engine(store_url), token) is None
    result = runner.invoke(app, ["users", "add", "wu2", "--role", "caseworker", "--url", store_url])
    assert result.exit_code == 2
    assert "needs at least one --district" in result.stderr
