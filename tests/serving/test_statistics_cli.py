"""`riskflag stats`: publish from the store, export from a publication or a data folder,
and a clear error (exit status, message) for each way it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.synth import SynthConfig, generate
from serving.cli import app

pytestmark = pytest.mark.slow
FILES = ("statistics.csv", "statistics.xlsx", "populations.png", "support.png")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stats-cli") / "data"
    generate(SynthConfig(children=1200, seed=5, workers=1), folder)
    return folder


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout + result.stderr


def test_publish_then_export_both_languages(data: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert _run("db", "migrate", "--url", url)[0] == 0
    code, said = _run("stats", "publish", "--url", url)
    assert code == 2
    assert "no loaded export" in said
    code, said = _run("stats", "export", "--url", url, "--out", str(tmp_path / "none"))
    assert code == 2
    assert "no statistics published yet" in said
    assert _run("db", "load", str(data), "--url", url)[0] == 0
    code, said = _run("stats", "publish", "--url", url, "--by", "li")
    assert code == 0, said
    assert "statistics 1 published" in said
    out = tmp_path / "files"
    code, said = _run("stats", "export", "--url", url, "--out", str(out))
    assert code == 0, said
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(
        f"{name.split('.')[0]}-{lang}.{name.split('.')[1]}"
        for name in FILES
        for lang in ("en", "zh-CN")
    )
    assert (out / "statistics-zh-CN.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (out / "support-en.png").read_bytes().startswith(b"\x89PNG")


def test_export_from_a_folder_equals_export_from_its_publication(
    data: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    for args in (("db", "migrate"), ("db", "load", str(data)), ("stats", "publish")):
        assert _run(*args, "--url", url)[0] == 0
    assert (
        _run("stats", "export", "--url", url, "--out", str(tmp_path / "a"), "--lang", "en")[0] == 0
    )
    code, said = _run("stats", "export", "--data", str(data), "--out", str(tmp_path / "b"),
                      "--lang", "en")  # fmt: skip
    assert code == 0, said
    assert (tmp_path / "a" / "statistics-en.csv").read_bytes() == (
        tmp_path / "b" / "statistics-en.csv"
    ).read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--lang", "fr"), "--lang 'fr'"),
        (("--data", "/nonexistent/folder"), "no such folder"),
        (("--definitions", "BAD"), "counting.suppress_below"),
    ],
)
def test_a_bad_export_is_a_clear_error(
    data: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[counting]\nsuppress_below = "ten"\n', encoding="utf-8")
    given = [str(bad) if a == "BAD" else a for a in args]
    if "--data" not in given:
        given += ["--data", str(data)]
    code, said = _run("stats", "export", "--out", str(tmp_path / "out"), *given)
    assert code in (1, 2)
    assert message in said
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
