"""Synthetic source exports: each division's own person records, with realistic noise.

``write_sources(truth_dir, out_dir, seed)`` turns a truth folder (``generate``'s, where
every record carries its true ``child_id``) into a sources folder as the divisions would
hand it over (docs/source-exports.md): per source, persons with names, ID numbers and
birth dates typed by different people, and events with the source's own record ids; and
writes the truth of every record beside the truth folder (``records.parquet``). See
docs/synthetic-data.md, "Source exports: identity and noise".
"""

from features.synth.sources.rates import SourceNoise, SourceNoiseError
from features.synth.sources.write import SourcesSummary, generate_with_sources, write_sources

__all__ = [
    "SourceNoise",
    "SourceNoiseError",
    "SourcesSummary",
    "generate_with_sources",
    "write_sources",
]
