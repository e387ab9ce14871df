"""The model card's Linkage section: how well the training data's records were joined
into children (features.linkage.summary.linkage_summary; no record's data)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from features.linkage.schema import HOW_VALUES
from models.markdown import count as _count
from models.markdown import num as _num
from models.markdown import table as _table


def linkage_lines(linkage: Mapping[str, Any] | None) -> list[str]:
    """How well the training data's records were linked into children."""
    if not linkage:
        return ["The data folder was not linked by riskflag (no linkage.json): how well its "
                "records were joined into children is not known here."]  # fmt: skip
    lines = [
        f"{_count(linkage['records'])} source records linked into "
        f"{_count(linkage['children'])} children ({_count(linkage['held_back_children'])} "
        f"held back without a birth date or district); {_count(linkage['review_pairs_open'])} "
        f"pairs awaiting review; {_count(linkage['family_only_records'])} records joined on "
        "family evidence alone. Policy "
        f"{linkage['policy_sha256'][:12]}.",
        "",
    ]
    shares = [(how, _num(share, 4)) for how, share in linkage["share_by_how"].items()]
    lines += _table(("joined by", "share of records"), shares)
    for group in ("hukou", "area"):  # absent when linked before the linker counted by group
        by_group = linkage.get(f"share_by_how_by_{group}") or {}
        rows = [
            (v, *(_num(by.get(how, 0.0), 4) for how in HOW_VALUES)) for v, by in by_group.items()
        ]
        if rows:
            lines += ["", f"Share of records joined each way, by the child's {group}:", ""]
            lines += _table((group, *HOW_VALUES), rows)
    quality = linkage.get("quality_against_truth")
    if quality:
        lines += ["", "Against the synthetic truth:", ""]
        lines += _table(("measure", "value"), [(k, _num(v, 4)) for k, v in quality.items()])
        recall = ", ".join(f"{k} {_num(v, 4)}" for k, v in linkage["recall_by_hukou"].items())
        lines += ["", f"Pairwise recall by hukou: {recall}."]
    return lines
