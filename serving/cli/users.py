"""`riskflag users ...`: create users and API tokens, set passwords, list, revoke, disable."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer

from features.deployment import load_deployment
from serving import users
from serving.cli.common import Url, current_store, reported
from serving.hashing import digest
from serving.signin import set_password
from serving.store import DEFAULT_DATABASE_URL
from serving.vocabulary import Role, codes

app = typer.Typer(help="Users, roles, districts and API tokens.", no_args_is_help=True)
Name = Annotated[str, typer.Argument(help="User name.")]
ExpiresDays = Annotated[int, typer.Option(min=1, help="Token lifetime in days.")]


def _show_token(name: str, token: str) -> None:
    typer.echo(f"token for {name} (shown once; only its hash is stored):")
    typer.echo(token)


@app.command("add")
def add_command(
    name: Name,
    role: Annotated[str, typer.Option(help=f"One of {', '.join(codes(Role))}.")],
    district: Annotated[
        list[str] | None, typer.Option(help="A district the user works in; repeatable.")
    ] = None,
    expires_days: ExpiresDays = 90,
    deployment: Annotated[Path | None, typer.Option(help="Deployment TOML.")] = None,
    url: Url = DEFAULT_DATABASE_URL,
) -> None:
    """Create a user and print their first API token."""
    with reported():
        engine = current_store(url)
        users.add_user(engine, name, role, district or [], load_deployment(deployment))
        token = users.issue_token(engine, name, expires_days)
    _show_token(name, token)


@app.command("token")
def token_command(
    name: Name, expires_days: ExpiresDays = 90, url: Url = DEFAULT_DATABASE_URL
) -> None:
    """Issue another token for a user."""
    with reported():
        token = users.issue_token(current_store(url), name, expires_days)
    _show_token(name, token)


@app.command("password")
def password_command(
    name: Name,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    url: Url = DEFAULT_DATABASE_URL,
) -> None:
    """Set a user's password for the pages (asked twice, or read from stdin); the user's
    sessions end."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with reported():
        set_password(current_store(url), name, password)
    typer.echo(f"password set for {name} (only its scrypt hash is stored)")


@app.command("revoke")
def revoke_command(name: Name, url: Url = DEFAULT_DATABASE_URL) -> None:
    """Revoke every live token of a user."""
    with reported():
        count = users.revoke_tokens(current_store(url), name)
    typer.echo(f"revoked {count} token(s) of {name}")


@app.command("disable")
def disable_command(name: Name, url: Url = DEFAULT_DATABASE_URL) -> None:
    """Disable a user (kept for the audit trail) and revoke their tokens."""
    with reported():
        users.disable_user(current_store(url), name)
    typer.echo(f"disabled {name}")


@app.command("list")
def list_command(url: Url = DEFAULT_DATABASE_URL) -> None:
    """Users with role, districts, state and number of live tokens (never a secret)."""
    with reported():
        found = users.list_users(current_store(url))
    for user in found:
        districts = ",".join(user["districts"]) or "-"  # type: ignore[arg-type]
        state = "active" if user["active"] else "disabled"
        typer.echo(
            f"{user['name']:20s} {user['role']:11s} {state:8s} "
            f"tokens {user['live_tokens']}  districts {districts}"
        )


@app.command("metrics-token")
def metrics_token_command() -> None:
    """Make a bearer token for Prometheus' scrapes of GET /metrics: the token for
    Prometheus' configuration, and the SHA-256 the service is given instead
    (RISKFLAG_METRICS_TOKEN_SHA256). Nothing is stored."""
    token = secrets.token_urlsafe(32)
    typer.echo("token for Prometheus (shown once; give the service only its SHA-256):")
    typer.echo(token)
    typer.echo(f"RISKFLAG_METRICS_TOKEN_SHA256={digest(token)}")
