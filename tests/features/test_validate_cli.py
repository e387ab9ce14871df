"""`riskflag validate`: exit codes, summary, named violations, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serving.cli import app
from tests.features.contract_cases import valid_events, write_folder

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "validate" in result.output


def test_valid_folder_exits_0_with_a_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(write_folder(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output
    assert "children: 4 rows (children.csv) in 4 districts" in result.output
    assert "events:   6 rows (events.csv)" in result.output
    assert "health.injury" in result.output
    assert "occurred: 2023-05-01 00:00:00 .. 2024-05-01 00:00:00" in result.output


def test_invalid_folder_exits_1_naming_rule_row_and_value(tmp_path: Path) -> None:
    events = valid_events()
    events[2]["detail"] = "bruise"
    result = runner.invoke(app, ["validate", str(write_folder(tmp_path, events=events))])
    assert result.exit_code == 1
    assert (
        "events.csv: row 3: column detail: rule detail.code: must be a code of the event "
        "kind's list: 'bruise' (health.injury allows accidental, suspicious, unknown)"
    ) in result.output
    assert "INVALID" in result.output


@pytest.mark.parametrize("damage", ["corrupt", "missing", "both"])
def test_unreadable_input_gets_one_line_and_no_traceback(tmp_path: Path, damage: str) -> None:
    folder = write_folder(tmp_path, fmt="parquet")
    if damage == "corrupt":
        (folder / "events.parquet").write_bytes(b"PAR1 this is not parquet")
    elif damage == "missing":
        (folder / "children.parquet").unlink()
    else:
        write_folder(tmp_path, fmt="csv")
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == (2 if damage == "both" else 1)


def test_json_output(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(write_folder(tmp_path)), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["ok"] is True
    assert data["summary"]["events"] == 6


def test_deployment_file(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "data")
    deployment = tmp_path / "deployment.toml"
    deployment.write_text('timezone = "Asia/Shanghai"\n[districts]\nHaidian = "inner"\n')
    result = runner.invoke(app, ["validate", str(folder), "--deployment", str(deployment)])
    assert result.exit_code == 1
    assert "rule district.known" in result.output


def test_bad_deployment_file_is_a_usage_error(tmp_path: Path) -> None:
    deployment = tmp_path / "deployment.toml"
    deployment.write_text('[districts]\nHaidian = "suburb"\n')
    result = runner.invoke(app, ["validate", str(tmp_path), "--deployment", str(deployment)])
    assert result.exit_code == 2
    assert "districts.Haidian: area must be one of core, inner, outlying" in result.output
