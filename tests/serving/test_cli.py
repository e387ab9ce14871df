"""The `riskflag` command's one reading of where the store and the registry are: the
settings (RISKFLAG_DATABASE_URL, RISKFLAG_TRACKING_URI) become the default of every
``--url`` and ``--tracking-uri``, whichever package the command comes from."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from serving.cli import app, option_defaults

GIVEN = {"url": "sqlite:///store.db", "tracking_uri": "sqlite:///registry.db"}


def test_every_command_that_names_a_store_or_a_registry_gets_the_setting() -> None:
    found = option_defaults(typer.main.get_command(app), GIVEN)
    for command in ("train", "promote", "score"):
        assert found[command]["tracking_uri"] == GIVEN["tracking_uri"], command
    assert found["queue"]["build"] == GIVEN
    for command in ("migrate", "load", "status", "grant"):
        assert found["db"][command] == {"url": GIVEN["url"]}, command
    for command in ("add", "token", "password", "revoke", "disable", "list"):
        assert found["users"][command] == {"url": GIVEN["url"]}, command
    assert found["validate"] == {}  # reads a folder: neither setting


def test_the_environment_names_the_store_and_an_option_overrides_it(tmp_path: Path) -> None:
    runner = CliRunner()
    from_env = f"sqlite:///{tmp_path / 'from-env.db'}"
    given = f"sqlite:///{tmp_path / 'given.db'}"
    done = runner.invoke(app, ["db", "migrate"], env={"RISKFLAG_DATABASE_URL": from_env})
    assert done.exit_code == 0, done.stderr
    assert (tmp_path / "from-env.db").exists()
    done = runner.invoke(
        app, ["db", "migrate", "--url", given], env={"RISKFLAG_DATABASE_URL": from_env}
    )
    assert done.exit_code == 0, done.stderr
    assert (tmp_path / "given.db").exists()
