"""The one console command, `riskflag`: a thin Typer app gathering each package's commands.

It lives in serving because imports flow serving -> models -> features: the top of that
chain is the only place that may import every package's commands.
"""

from __future__ import annotations

import typer

from features import cli as features_cli
from models import cli as models_cli
from serving import db_cli, serve_cli, users_cli

app = typer.Typer(
    name="riskflag",
    help="Interpretable, auditable risk flags for child welfare case histories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """riskflag: case histories in, explained risk flags out. Each command's --help says more."""


features_cli.register(app)
models_cli.register(app, score=False)  # serve_cli's score adds --store
db_cli.register(app)
users_cli.register(app)
serve_cli.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
