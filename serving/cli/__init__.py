"""The one console command, `riskflag`: a thin Typer app gathering each package's commands.

It lives in serving because imports flow serving -> models -> features: the top of that
chain is the only place that may import every package's commands. It also reads where
the store and the registry are (serving.settings, ``RISKFLAG_DATABASE_URL`` and
``RISKFLAG_TRACKING_URI``) and makes them the defaults of every command's ``--url`` and
``--tracking-uri``: one setting, whichever command or package reads it.

- serve: the service; queue: the caseworkers' queue; db: the store; users: users and
  tokens; stats: the division's statistics; the features and models packages add theirs
  (validate, synth, features, train, promote, score).
"""

from __future__ import annotations

from typing import Any

import typer

from features import cli as features_cli
from models import cli as models_cli
from serving.cli import db, queue, serve, stats, users
from serving.cli.common import reported
from serving.settings import load_locations

app = typer.Typer(
    name="riskflag",
    help="Interpretable, auditable risk flags for child welfare case histories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(context: typer.Context) -> None:
    """riskflag: case histories in, explained risk flags out. Each command's --help says more."""
    with reported():
        locations = load_locations()
    given = {"url": locations.database_url, "tracking_uri": locations.tracking_uri}
    context.default_map = option_defaults(context.command, given)


def option_defaults(command: Any, given: dict[str, str]) -> dict[str, Any]:
    """``given`` for every option of that name, in every command under ``command`` (a
    click command or group, as Typer builds them)."""
    found: dict[str, Any] = {
        name: option_defaults(sub, given) for name, sub in getattr(command, "commands", {}).items()
    }
    for parameter in command.params:
        if parameter.param_type_name == "option" and parameter.name in given:
            found[parameter.name] = given[parameter.name]
    return found


features_cli.register(app)
models_cli.register(app)
app.command("serve")(serve.serve_command)
app.add_typer(queue.app, name="queue")
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(stats.app, name="stats")
