"""`riskflag validate-sources`: exit codes, summary, named violations, no identity values."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from features.linkage import schema as ls
from serving.cli import app
from tests.features.linkage.sources_cases import valid_sources, write_sources_folder

runner = CliRunner()


def test_help_lists_the_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "validate-sources" in result.output


def test_valid_folder_exits_0_with_a_summary_per_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate-sources", str(write_sources_folder(tmp_path))])
    assert result.exit_code == 0, result.output
    assert f"VALID: {tmp_path}" in result.output
    assert "absent: community, social_aid, health" in result.output
    assert "police: 1 person records (police/persons.csv), 2 events (police/events.csv)" in (
        result.output
    )
    assert "birth_date:         1 day, 1 month, 1 year, 1 missing" in result.output


def test_invalid_folder_exits_1_naming_file_row_rule_and_value(tmp_path: Path) -> None:
    sources = valid_sources()
    sources["police"][ls.EVENTS][0]["event_type"] = "report.concern"
    result = runner.invoke(app, ["validate-sources", str(write_sources_folder(tmp_path, sources))])
    assert result.exit_code == 1
    assert (
        "police/events.csv: row 1: column event_type: rule event_type.source: must be an event "
        "type of this source's own (police.*): 'report.concern'"
    ) in result.output
    assert "INVALID" in result.output
    assert "Traceback" not in result.output


def test_identity_values_are_never_printed(tmp_path: Path) -> None:
    sources = valid_sources()
    sources["welfare"][ls.PERSONS][0][ls.ID_NUMBER] = "11010820150301"
    folder = write_sources_folder(tmp_path, sources)
    for output in ("text", "json"):
        result = runner.invoke(app, ["validate-sources", str(folder), "--format", output])
        assert result.exit_code == 0, result.output
        assert "11010820150301" not in result.output
        assert "李晓梅" not in result.output
        assert "14 characters: 14 digits" in result.output


def test_json_output(tmp_path: Path) -> None:
    folder = write_sources_folder(tmp_path)
    result = runner.invoke(app, ["validate-sources", str(folder), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["ok"] is True
    assert data["summary"]["sources"]["welfare"]["persons"] == 4


def test_deployment_file(tmp_path: Path) -> None:
    folder = write_sources_folder(tmp_path / "sources")
    deployment = tmp_path / "deployment.toml"
    deployment.write_text('timezone = "Asia/Shanghai"\n[districts]\nHaidian = "inner"\n')
    result = runner.invoke(app, ["validate-sources", str(folder), "--deployment", str(deployment)])
    assert result.exit_code == 1
    assert "rule district.known" in result.output


def test_bad_deployment_file_is_a_usage_error(tmp_path: Path) -> None:
    deployment = tmp_path / "deployment.toml"
    deployment.write_text('[districts]\nHaidian = "suburb"\n')
    result = runner.invoke(
        app, ["validate-sources", str(tmp_path), "--deployment", str(deployment)]
    )
    assert result.exit_code == 2
    assert "districts.Haidian: area must be one of core, inner, outlying" in result.output
