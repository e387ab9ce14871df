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
    (quality.json). None for a folder riskflag did not link. No record's data."""
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
    quality = folder / QUALITY_FILE
    if quality.is_file():
        measured = json.loads(quality.read_text(encoding="utf-8"))
        summary["quality_against_truth"] = measured["overall"]
        summary["recall_by_hukou"] = {
            group: values["pairwise_recall"] for group, values in measured["hukou"].items()
        }
    return summary
