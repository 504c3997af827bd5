"""Per-domain shard sets (`shards.per_domain: true`): each domain's documents, once each, as
its own shard set beside the mixed one, so that a trainer can mix at train time with any
weights (`curator mix export`) without re-sharding.

Each set is written by the same writer as the mixed shards (`stages.shards.write_shards`), to
`<shards>/domains/<domain>/<seq_len>/`, with its own `manifest.json` listing its files.
"""

from __future__ import annotations

import json
from pathlib import Path

from stages.mix import shard_count
from stages.shards import write_shards


def write_domain_sets(df, out: Path, cfg, vocab_size: int, available: dict[str, int], write_atomic,
                      packing: dict | None = None) -> dict:
    """Write one shard set per domain with tokens from `df` (the kept, tokenized documents),
    packed as the mixed set is (`packing`, see stages/shards.write_shards); returns
    {domain: {tokens, documents, manifest}} for the shards manifest."""
    from pyspark.sql import functions as F

    sets = {}
    df = df.persist()  # read once for all the domains' sets
    for domain in sorted(d for d, t in available.items() if t > 0):
        folder = out / "domains" / domain
        folder.mkdir(parents=True, exist_ok=True)
        rows = write_shards(
            df.where(F.col("domain") == domain).withColumn("repeats", F.lit(1)), str(folder), cfg.seq_lens,
            vocab_size, shard_count(available[domain], cfg.tokens_per_shard), cfg.seed, cfg.formats,
            packing=packing,
        )
        per_len = {}
        for n in cfg.seq_lens:
            shards = [{k: v for k, v in r.items() if k != "seq_len"} for r in rows if r["seq_len"] == n]
            per_len[str(n)] = {"shards": shards, "tokens": sum(r["tokens"] for r in shards),
                               "documents": sum(r["documents"] for r in shards)}
        entry = {"domain": domain, "seq_lens": per_len, "formats": list(cfg.formats)}
        write_atomic(folder / "manifest.json", json.dumps(entry, indent=1, sort_keys=True) + "\n")
        first = per_len[str(cfg.seq_lens[0])]
        sets[domain] = {"tokens": first["tokens"], "documents": first["documents"],
                        "manifest": f"domains/{domain}/manifest.json"}
    df.unpersist()
    return sets
