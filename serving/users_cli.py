"""`riskflag users ...`: create users and API tokens, list, revoke, disable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from features.deployment import DeploymentError, load_deployment
from serving.signin import set_password
from serving.store import StoreError, make_engine
from serving.users import (
    ROLES,
    UserError,
    add_user,
    disable_user,
    issue_token,
    list_users,
    revoke_tokens,
)

app = typer.Typer(help="Users, roles, districts and API tokens.", no_args_is_help=True)
URL_HELP = "Database URL (default: $RISKFLAG_DATABASE_URL, else sqlite:///riskflag.db)."
Url = Annotated[str | None, typer.Option(help=URL_HELP)]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _show_token(name: str, token: str) -> None:
    typer.echo(f"token for {name} (shown once; only its hash is stored):")
    typer.echo(token)


@app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")],
    district: Annotated[
        list[str] | None, typer.Option(help="A district the user works in; repeatable.")
    ] = None,
    expires_days: Annotated[int, typer.Option(min=1, help="Token lifetime in days.")] = 90,
    deployment: Annotated[Path | None, typer.Option(help="Deployment TOML.")] = None,
    url: Url = None,
) -> None:
    """Create a user and print their first API token."""
    try:
        engine = make_engine(url)
        add_user(engine, name, role, district or [], load_deployment(deployment))
        token = issue_token(engine, name, expires_days)
    except (UserError, StoreError, DeploymentError) as exc:
        raise _fail(str(exc)) from exc
    _show_token(name, token)


@app.command("token")
def token_command(
    name: Annotated[str, typer.Argument(help="User name.")],
    expires_days: Annotated[int, typer.Option(min=1, help="Token lifetime in days.")] = 90,
    url: Url = None,
) -> None:
    """Issue another token for a user."""
    try:
        token = issue_token(make_engine(url), name, expires_days)
    except (UserError, StoreError) as exc:
        raise _fail(str(exc)) from exc
    _show_token(name, token)


@app.command("password")
def password_command(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    url: Url = None,
) -> None:
    """Set a user's password for the pages (asked twice, or read from stdin); unlocks."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        set_password(make_engine(url), name, password)
    except (UserError, StoreError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"password set for {name} (only its scrypt hash is stored)")


@app.command("revoke")
def revoke_command(name: Annotated[str, typer.Argument()], url: Url = None) -> None:
    """Revoke every live token of a user."""
    try:
        count = revoke_tokens(make_engine(url), name)
    except (UserError, StoreError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"revoked {count} token(s) of {name}")


@app.command("disable")
def disable_command(name: Annotated[str, typer.Argument()], url: Url = None) -> None:
    """Disable a user (kept for the audit trail) and revoke their tokens."""
    try:
        disable_user(make_engine(url), name)
    except (UserError, StoreError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"disabled {name}")


@app.command("list")
def list_command(url: Url = None) -> None:
    """Users with role, districts, state and number of live tokens (never a secret)."""
    try:
        users = list_users(make_engine(url))
    except StoreError as exc:
        raise _fail(str(exc)) from exc
    for user in users:
        districts = ",".join(user["districts"]) or "-"  # type: ignore[arg-type]
        state = "active" if user["active"] else "disabled"
        typer.echo(
            f"{user['name']:20s} {user['role']:11s} {state:8s} "
            f"tokens {user['live_tokens']}  districts {districts}"
        )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="users")
