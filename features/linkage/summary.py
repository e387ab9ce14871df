"""How a linked folder's children were linked, in the few figures a model card carries.

Read from what ``riskflag link`` recorded (linkage.json, and quality.json where the
linkage was measured against a synthetic truth); kept apart from the linker so that
training reads it without loading Splink. No record's data is in it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from features.linkage import schema as ls

QUALITY_FILE = "quality.json"  # written by `riskflag link --truth` (synthetic data only)


def linkage_summary(folder: Path) -> dict[str, Any] | None:
    """How a data folder's children were linked, for a model card: the counts and policy
    digest of linkage.json, and the quality against the truth where it was measured
    (quality.json). None for a folder riskflag did not link. No record's data.

    ``share_by_how_by_hukou`` and ``share_by_how_by_area``: per group of the records'
    children, the share of its records joined each way; absent for a linkage.json written
    before the linker counted by group."""
    manifest = folder / ls.LINKAGE_FILE
    if not manifest.is_file():
        return None
    recorded = json.loads(manifest.read_text(encoding="utf-8"))
    counts = recorded["counts"]
    records = max(int(counts["records"]), 1)
    summary: dict[str, Any] = {
        "records": counts["records"],
        "children": counts["children"],
        "held_back_children": counts["held_back_children"],
        "share_by_how": {how: round(n / records, 4) for how, n in counts["records_by_how"].items()},
        "family_only_records": counts.get("records_family_only", 0),
        "review_pairs_open": counts["review_pairs"],
        "policy_sha256": recorded["policy_sha256"],
    }
    for group in ("hukou", "area"):  # absent from a linkage.json older than these counts
        by_group = counts.get(f"records_by_how_by_{group}")
        if by_group is not None:
            summary[f"share_by_how_by_{group}"] = _shares_by_group(by_group)
    quality = folder / QUALITY_FILE
    if quality.is_file():
        measured = json.loads(quality.read_text(encoding="utf-8"))
        summary["quality_against_truth"] = measured["overall"]
        summary["recall_by_hukou"] = {
            group: values["pairwise_recall"] for group, values in measured["hukou"].items()
        }
    return summary


def _shares_by_group(by_group: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    """Per group: each ``how``'s share of the group's records (every ``how``, zeros too)."""
    shares: dict[str, dict[str, float]] = {}
    for group, by_how in by_group.items():
        records = max(sum(by_how.values()), 1)
        shares[group] = {how: round(by_how.get(how, 0) / records, 4) for how in ls.HOW_VALUES}
    return shares


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """What linkage did, in the three lines `make demo` prints (no record's data)."""
    how = {name: summary["share_by_how"].get(name, 0.0) for name in ls.HOW_VALUES}
    lines = [
        f"{summary['records']:,} source records -> {summary['children']:,} children "
        f"({summary['held_back_children']:,} held back); "
        f"{summary['review_pairs_open']:,} pairs await review",
        f"records joined by ID number {how[ls.HOW_ID_NUMBER]:.1%}, by the model "
        f"{how[ls.HOW_MATCH]:.1%}, by review {how[ls.HOW_REVIEW]:.1%}; "
        f"left single {how[ls.HOW_SINGLE]:.1%}",
    ]
    quality = summary.get("quality_against_truth")
    if quality:
        lines.append(
            f"against the synthetic truth: pairwise precision "
            f"{quality['pairwise_precision']:.4f}, recall {quality['pairwise_recall']:.4f}"
        )
    return lines


if __name__ == "__main__":  # `python -m features.linkage.summary LINKED`: what make demo prints
    import sys

    found = linkage_summary(Path(sys.argv[1]))
    print("\n".join(f"   {line}" for line in summary_lines(found)) if found else "   not linked")
