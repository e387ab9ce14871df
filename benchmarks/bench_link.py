"""Record linkage: riskflag's beside the deterministic rule agencies apply, and on Spark.

    python -m benchmarks.bench_link [--children 100000 1000000] [--spark-children 100000]
                                    [--auc-children 100000]

For each size: synthetic children with their seven sources' person records and the truth
(`riskflag synth --sources`, seed 11, cached in .bench/); then, each in a fresh process
(wall time with start-up, peak resident memory of the process tree):

- riskflag: `link_sources` on DuckDB with the default policy;
- the peer: the deterministic rule agencies usually apply, the same valid ID number, else
  the same name, full birth date and sex (names standardised as riskflag's are, which
  only helps the peer), joined transitively;
- on Spark local[2] (sizes in --spark-children): the same linkage with `--engine spark`,
  and the share of records whose cluster equals DuckDB's.

Quality against the truth: pairwise precision, recall, F1, B-cubed, split and merged
shares, and recall by hukou. Then, for --auc-children, the scorecard's test AUC trained
(`riskflag train`) on the linked folder beside the same on the true linkage. Prints
tables; never passes or fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.measure import BENCH, ROOT, measure_tree

SOURCES = """
from pathlib import Path
from features.synth import SynthConfig, generate
from features.synth.sources import write_sources
if __name__ == "__main__":
    generate(SynthConfig(children={n}, seed=11), Path({truth!r}))
    write_sources(Path({truth!r}), Path({sources!r}), seed=11)
"""

LINK = """
import json
from pathlib import Path
from features.deployment import load_deployment
from features.linkage.engines import LinkEngine
from features.linkage.link import LinkRequest, link_sources
from features.linkage.policy import load_linkage_policy
request = LinkRequest(sources=Path({sources!r}), out=Path({out!r}),
                      policy=load_linkage_policy(), deployment=load_deployment(None),
                      engine=LinkEngine({engine!r}))
written = link_sources(request)
print(json.dumps(request.timings))
"""

PEER = """
import polars as pl
from pathlib import Path
from features.deployment import load_deployment
from features.linkage.sources import load_sources
from features.linkage.standardise import standardise_persons
from features.linkage.graph import components
sources = load_sources(Path({sources!r}), load_deployment(None))
std = standardise_persons(sources.persons).with_row_index("uid")
keys = [
    std.filter(pl.col("id_valid")).select("uid", key=pl.col("id_std")),
    std.filter(~pl.col("id_valid") & pl.col("name_std").is_not_null()
               & (pl.col("birth_precision") == "day") & pl.col("sex").is_in(["F", "M"]))
       .select("uid", key=pl.concat_str("name_std", "birth_date", "sex", separator="|")),
]
edges = pl.concat(keys).with_columns(pl.col("uid").min().over("key").alias("first"))
label = components(std.height, edges["uid"].cast(pl.Int64).to_numpy(),
                   edges["first"].cast(pl.Int64).to_numpy())
std.select("source", "record_id", child_id=pl.Series(label).cast(pl.String)).write_parquet({out!r})
"""


PEER_NAME = "same valid ID, else name + birth date + sex"


def _ensure_sources(children: int) -> tuple[Path, Path]:
    base = BENCH / f"sources-{children}"
    truth, sources = base / "truth", base / "sources"
    if not (truth / "records.parquet").exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        print(f"generating {children:,} children and their sources into {base} ...", flush=True)
        seconds, peak, _ = measure_tree(
            SOURCES.format(n=children, truth=str(truth), sources=str(sources))
        )
        print(f"  {seconds:.0f} s, {peak:,.0f} MB peak", flush=True)
    return truth, sources


def _quality(links: pl.DataFrame, truth: Path) -> dict[str, Any]:
    from features.contract import load_case_histories
    from features.linkage.quality import linkage_quality

    histories = load_case_histories(truth)
    records = pl.read_parquet(truth / "records.parquet")
    return linkage_quality(
        links, records, histories.children.collect(), histories.deployment, histories.exported_at
    )


def _run(name: str, script: str, out: Path, truth: Path) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    seconds, peak, printed = measure_tree(script)
    links_path = out / "links.parquet" if out.is_dir() else out
    report = _quality(pl.read_parquet(links_path), truth)
    return {"name": name, "seconds": seconds, "peak_mb": peak, "quality": report,
            "printed": printed.strip()}  # fmt: skip


def _row(result: dict[str, Any]) -> str:
    q = result["quality"]["overall"]
    hukou = result["quality"]["hukou"]
    recall = {k: hukou.get(k, {}).get("pairwise_recall", float("nan")) for k in
              ("local", "nonlocal", "none")}  # fmt: skip
    return (
        f"| {result['name']} | {q['pairwise_precision']:.4f} | {q['pairwise_recall']:.4f} | "
        f"{q['pairwise_f1']:.4f} | {q['bcubed_precision']:.4f} | {q['bcubed_recall']:.4f} | "
        f"{q['split_share']:.4f} | {q['merged_share']:.4f} | {recall['local']:.4f} | "
        f"{recall['nonlocal']:.4f} | {recall['none']:.4f} | {result['seconds']:.0f} s | "
        f"{result['peak_mb']:,.0f} MB |"
    )


HEADER = (
    "| linkage | precision | recall | F1 | B3 precision | B3 recall | split | merged | "
    "recall local | recall nonlocal | recall no hukou | time | peak |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _same_clusters(a: Path, b: Path) -> float:
    """The share of records whose whole cluster (as a set of records) is the same in both."""

    def sets(path: Path) -> pl.DataFrame:
        links = pl.read_parquet(path / "links.parquet")
        key = pl.concat_str("source", "record_id", separator="/")
        members = links.group_by("child_id").agg(key.sort().str.join(",").alias("members"))
        return links.join(members, on="child_id").select("source", "record_id", "members")

    joined = sets(a).join(sets(b), on=["source", "record_id"], suffix="_b")
    return float((joined["members"] == joined["members_b"]).mean() or 0.0)


def _auc(data: Path, tracking: Path) -> float:
    command = [str(Path(sys.executable).parent / "riskflag"), "train", "--data", str(data),
               "--model", "scorecard", "--tracking-uri", f"sqlite:///{tracking}"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
    return float(json.loads(result.stdout.strip().splitlines()[-1])["metrics"]["roc_auc"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--spark-children", type=int, nargs="*", default=[100_000])
    parser.add_argument("--auc-children", type=int, nargs="*", default=[100_000])
    args = parser.parse_args()
    for children in args.children:
        truth, sources = _ensure_sources(children)
        runs = BENCH / f"link-{children}"
        runs.mkdir(exist_ok=True)
        duck = LINK.format(sources=str(sources), out=str(runs / "duckdb"), engine="duckdb")
        peer = PEER.format(sources=str(sources), out=str(runs / "peer.parquet"))
        results = [
            _run("riskflag (DuckDB)", duck, runs / "duckdb", truth),
            _run(PEER_NAME, peer, runs / "peer.parquet", truth),
        ]
        if children in args.spark_children:
            results.append(_run("riskflag (Spark local[2])", LINK.format(
                sources=str(sources), out=str(runs / "spark"), engine="spark"),
                runs / "spark", truth))  # fmt: skip
        print(f"\n## {children:,} children, "
              f"{pl.scan_parquet(truth / 'records.parquet').select(pl.len()).collect().item():,} "
              "source records\n")  # fmt: skip
        print(HEADER)
        for result in results:
            print(_row(result))
        print(f"\nriskflag's stages (s): {results[0]['printed']}")
        if children in args.spark_children:
            share = _same_clusters(runs / "duckdb", runs / "spark")
            print(f"records whose cluster is the same on Spark as on DuckDB: {share:.4%}")
        for name in ("age_band", "area"):
            recall = {k: v["pairwise_recall"] for k, v in results[0]["quality"][name].items()}
            print(f"riskflag's pairwise recall by {name}: {json.dumps(recall)}")
        if children in args.auc_children:
            linked = _auc(runs / "duckdb", runs / "mlflow-linked.db")
            true = _auc(truth, runs / "mlflow-true.db")
            print(
                f"\nscorecard test AUC: trained on the linked folder {linked:.4f}, "
                f"on the true linkage {true:.4f}"
            )


if __name__ == "__main__":
    main()
