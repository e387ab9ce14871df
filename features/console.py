"""What every `riskflag` command prints when it cannot go on."""

from __future__ import annotations

import typer


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: <message>`` on stderr; return the exit to raise.

    Parameters
    ----------
    message
        What went wrong, on one line, naming the option, file or key.
    code
        The exit status: 2 for a usage error (the default), 1 when the input was read but
        refused.

    Returns
    -------
    typer.Exit
        Raise it: ``raise fail("...") from exc``.
    """
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
