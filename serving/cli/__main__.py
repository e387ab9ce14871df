"""``python -m serving.cli``: the `riskflag` command."""

from serving.cli import app

app()
