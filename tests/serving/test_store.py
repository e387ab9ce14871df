"""The case-history store on SQLite and on PostgreSQL: a folder loaded and read back is the
folder; loading is all or nothing and idempotent; nothing is deleted by a later export."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

import features.schema as s
import serving.store.load as load_module
from features.contract import ContractError, load_case_histories
from features.synth import SynthConfig, generate
from serving.cli import app
from serving.store import StoreError, load_folder, make_engine, read_frames
from serving.store.tables import Child, Event, Load


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("store") / "data"
    generate(SynthConfig(children=600, seed=41, workers=1), out)
    return out


def _counts(url: str) -> tuple[int, int, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (Child, Event, Load)
        )


def test_a_folder_read_back_is_the_folder(store_url: str, folder: Path) -> None:
    result = load_folder(make_engine(store_url), folder)
    histories = load_case_histories(folder)
    children = histories.children.collect().sort(s.CHILD_ID)
    events = histories.events.collect().sort(s.EVENT_ID)
    assert (result.children, result.events) == (children.height, events.height)
    assert result.inserted == children.height + events.height
    assert result.updated == 0
    stored_children, stored_events = read_frames(make_engine(store_url))
    assert stored_children.equals(children)
    assert stored_events.equals(events)
    one = children[s.CHILD_ID][0]
    only_children, only_events = read_frames(make_engine(store_url), [one])
    assert only_children[s.CHILD_ID].to_list() == [one]
    assert set(only_events[s.CHILD_ID]) <= {one}


def test_the_same_export_again_changes_nothing(store_url: str, folder: Path) -> None:
    first = load_folder(make_engine(store_url), folder)
    counts = _counts(store_url)
    again = load_folder(make_engine(store_url), folder)
    assert again.already_loaded
    assert again.sha256 == first.sha256
    assert _counts(store_url) == counts


def test_a_later_export_updates_and_adds_but_never_deletes(
    store_url: str, folder: Path, tmp_path: Path
) -> None:
    load_folder(make_engine(store_url), folder)
    later = tmp_path / "later"
    shutil.copytree(folder, later)
    events = pl.read_parquet(later / "events.parquet")
    kept = events.slice(1)  # the first event is missing from the later export
    changed_id = kept[s.EVENT_ID][0]
    kept = kept.with_columns(
        pl.when(pl.col(s.EVENT_ID) == changed_id)
        .then(pl.col(s.RECORDED_AT) + pl.duration(minutes=1))
        .otherwise(pl.col(s.RECORDED_AT))
        .alias(s.RECORDED_AT)
    )
    kept.write_parquet(later / "events.parquet")
    result = load_folder(make_engine(store_url), later)
    assert not result.already_loaded
    assert (result.inserted, result.updated) == (0, 1)
    _, stored = read_frames(make_engine(store_url))
    assert events[s.EVENT_ID][0] in stored[s.EVENT_ID].to_list()  # not deleted
    row = stored.filter(pl.col(s.EVENT_ID) == changed_id)
    assert row[s.RECORDED_AT][0] == kept.filter(pl.col(s.EVENT_ID) == changed_id)[s.RECORDED_AT][0]
    assert _counts(store_url)[2] == 2  # two loads recorded


def test_an_invalid_folder_writes_nothing(store_url: str, folder: Path, tmp_path: Path) -> None:
    load_folder(make_engine(store_url), folder)
    counts = _counts(store_url)
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    events = pl.read_parquet(broken / "events.parquet")
    events.with_columns(pl.lit("nobody").alias(s.CHILD_ID)).head(3).vstack(events).write_parquet(
        broken / "events.parquet"
    )
    with pytest.raises(ContractError):
        load_folder(make_engine(store_url), broken)
    assert _counts(store_url) == counts


def test_a_failure_midway_rolls_everything_back(
    store_url: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = load_module._upsert

    def fail_on_events(connection: object, table: object, frame: pl.DataFrame, key: str) -> int:
        if key == s.EVENT_ID:
            connection.execute(text("SELECT * FROM no_such_table"))  # type: ignore[attr-defined]
        return real(connection, table, frame, key)  # type: ignore[arg-type]

    monkeypatch.setattr(load_module, "_upsert", fail_on_events)
    with pytest.raises(StoreError, match="rolled back, nothing written"):
        load_folder(make_engine(store_url), folder)
    assert _counts(store_url) == (0, 0, 0)  # the children written first were rolled back too


def test_cli_load_status_and_errors(store_url: str, folder: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["db", "load", str(folder), "--url", store_url])
    assert result.exit_code == 0, result.stderr
    assert "rows inserted" in result.stdout
    result = runner.invoke(app, ["db", "load", str(folder), "--url", store_url])
    assert "already loaded" in result.stdout
    result = runner.invoke(app, ["db", "status", "--url", store_url])
    assert "600 children" in result.stdout
    assert "1 load(s)" in result.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["db", "load", str(empty), "--url", store_url])
    assert result.exit_code == 1
    assert "nothing was loaded" in result.stderr


def test_an_unreachable_database_is_named_without_a_traceback(folder: Path) -> None:
    result = CliRunner().invoke(
        app, ["db", "load", str(folder), "--url", "postgresql://nobody@127.0.0.1:1/none"]
    )
    assert result.exit_code == 2
    assert "error:" in result.stderr
    assert "cannot be reached" in result.stderr
    result = CliRunner().invoke(app, ["db", "status", "--url", "nonsense://user:secret@x"])
    assert result.exit_code == 2
    assert "database URL cannot be used" in result.stderr
    assert "secret" not in result.stderr


def test_columns_empty_in_the_first_rows_read_back_typed(
    store_url: str, folder: Path, tmp_path: Path
) -> None:
    """Types are declared, not guessed from the first rows: here the first thousands of
    events (by id) have no amount, then some do."""
    histories = load_case_histories(folder)
    events = histories.events.collect()
    renamed = events.with_columns(
        pl.when(pl.col(s.AMOUNT).is_null())
        .then(pl.lit("a-") + pl.col(s.EVENT_ID))
        .otherwise(pl.lit("b-") + pl.col(s.EVENT_ID))
        .alias(s.EVENT_ID)
    )
    assert renamed.sort(s.EVENT_ID).head(1000)[s.AMOUNT].null_count() == 1000
    assert renamed[s.AMOUNT].null_count() < renamed.height
    shifted = tmp_path / "shifted"
    shifted.mkdir()
    histories.children.collect().write_parquet(shifted / "children.parquet")
    renamed.write_parquet(shifted / "events.parquet")
    for extra in folder.glob("export.json"):
        shutil.copy(extra, shifted / extra.name)
    load_folder(make_engine(store_url), shifted)
    _, stored = read_frames(make_engine(store_url))
    assert stored.equals(renamed.sort(s.EVENT_ID))


def test_only_the_migration_migrates(url: str, folder: Path) -> None:
    with pytest.raises(StoreError, match="riskflag db migrate"):
        load_folder(make_engine(url), folder)
    runner = CliRunner()
    refused = runner.invoke(app, ["db", "load", str(folder), "--url", url])
    assert refused.exit_code == 2
    assert "riskflag db migrate" in refused.stderr
    assert runner.invoke(app, ["db", "migrate", "--url", url]).exit_code == 0
    assert runner.invoke(app, ["db", "load", str(folder), "--url", url]).exit_code == 0
