"""`riskflag link`: a sources folder in, a linked contract v1 folder out (a thin wrapper)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from features.console import fail
from features.contract import load_case_histories
from features.deployment import Deployment, DeploymentError, load_deployment
from features.linkage import schema as ls
from features.linkage.policy import LinkagePolicyError, load_linkage_policy


class LinkEngine(StrEnum):
    """Where Splink scores pairs (``features.linkage.engines.LinkEngine`` by value)."""

    duckdb = "duckdb"
    spark = "spark"


def link(
    sources: Annotated[Path, typer.Argument(help="Sources folder (source-exports.md).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (new or empty).")],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Linkage policy TOML over the defaults.")
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option("--previous", help="The last run's output: every earlier child keeps its id."),
    ] = None,
    decisions: Annotated[
        Path | None,
        typer.Option("--decisions", help="Clerical decisions on pairs (CSV or Parquet)."),
    ] = None,
    engine: Annotated[
        LinkEngine, typer.Option("--engine", help="Where Splink scores pairs.")
    ] = LinkEngine.duckdb,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="A trained model.json to reuse instead of training."),
    ] = None,
    memory: Annotated[
        float, typer.Option("--memory", help="DuckDB's memory limit in GB (it spills past it).")
    ] = 4.0,
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth", help="A synthetic truth folder: report linkage quality (quality.json)."
        ),
    ] = None,
    deployment: Annotated[
        Path | None, typer.Option(help="Deployment TOML (time zone, districts).")
    ] = None,
) -> None:
    """Link the sources' person records into children: a contract 1.1 folder plus links,
    identities (owner-readable only), review pairs and the change log."""
    # Splink and DuckDB load only for this command, not for every `riskflag` command
    from features.linkage import engines
    from features.linkage.edges import DecisionsError
    from features.linkage.link import LinkRequest, link_sources
    from features.linkage.sources import SourcesError

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise fail(f"--out {out}: exists and is not an empty folder")
    try:
        settings = load_deployment(deployment)
        request = LinkRequest(
            sources=sources, out=out, policy=load_linkage_policy(policy), deployment=settings,
            previous=_folder("--previous", previous), decisions=decisions,
            engine=engines.LinkEngine(engine.value),
            model=_model(model), memory_gb=memory,
        )  # fmt: skip
        written = link_sources(request)
    except SourcesError as exc:
        typer.echo(exc.report.format_text(), err=True)
        raise fail(f"{sources}: the sources break their contract", code=1) from exc
    except (DeploymentError, LinkagePolicyError, DecisionsError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"wrote {out}")
    typer.echo(json.dumps({"counts": written.counts, "seconds": request.timings}, indent=2))
    if truth is not None:
        from features.linkage.summary import QUALITY_FILE

        quality = _quality(out, truth, settings)
        text = json.dumps(quality, indent=2)
        (out / QUALITY_FILE).write_text(text + "\n", encoding="utf-8")
        (out / QUALITY_FILE).chmod(0o600)
        typer.echo(text)


def _folder(option: str, path: Path | None) -> Path | None:
    if path is not None and not (path / ls.LINKS_FILE).is_file():
        raise fail(f"{option} {path}: not a linkage output (no {ls.LINKS_FILE})")
    return path


def _model(path: Path | None) -> dict[str, object] | None:
    if path is None:
        return None
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise fail(f"--model {path}: cannot be read as a model ({exc})") from exc
    if not isinstance(loaded, dict) or "comparisons" not in loaded:
        raise fail(f"--model {path}: not a Splink model (no comparisons)")
    return loaded


def _quality(out: Path, truth: Path, deployment: Deployment) -> dict[str, object]:
    from features.linkage.quality import linkage_quality

    histories = load_case_histories(truth, deployment)
    links = pl.read_parquet(out / ls.LINKS_FILE)
    records = pl.read_parquet(truth / ls.TRUTH_FILE)
    return linkage_quality(
        links, records, histories.children.collect(), histories.deployment, histories.exported_at
    )
