"""The one way the linkage tests link a sources folder."""

from __future__ import annotations

from pathlib import Path

from features.deployment import load_deployment
from features.linkage.link import LinkRequest, link_sources
from features.linkage.policy import load_linkage_policy


def link(sources: Path, out: Path, **options: object) -> Path:
    """Link ``sources`` into ``out`` with the default policy (options: LinkRequest's)."""
    settings: dict[str, object] = {"policy": load_linkage_policy()} | options
    request = LinkRequest(
        sources=sources,
        out=out,
        deployment=load_deployment(None),
        **settings,  # type: ignore[arg-type]
    )
    link_sources(request)
    return out
