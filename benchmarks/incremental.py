"""A corpus that lives on: what adding a slice costs and whether it dedups as one combined run;
what a takedown costs against building the shards.

Documents are made of real text as in benchmarks/dedup.py: runs of lines of the Debian
documentation pages in ../shared/corpus/bench-warc. An old corpus O (4x the slice) has near
copies among itself; the new slice S holds, besides fresh documents, URL re-fetches, exact
copies (other case and spacing) and near copies of O's documents, and near copies among
itself. Every step is the dedup phase's own (stages/dedup_documents.py: URL, exact, MinHash
with default settings, verified), on local[2]:

- alone: S deduplicated by itself (read parquet -> dedup -> write parquet): the cost to beat.
- incremental: S deduplicated among itself and against the index of O (curator/dedup_index.py,
  saved once from O's dedup output; the save is timed and printed, not in the ratio).
- combined: O + S in one run where every old document wins (old ids sort first, old survivor
  scores are higher), the reference for agreement; its time is what re-running everything costs.

`incremental_cost_ratio` = incremental / alone seconds (goal <= 1.3); `prior_dedup_agreement`
= share of S's documents kept/removed alike in the incremental and the combined run (goal 1.0).
Each timed run is the best of two in a JVM warmed by one untimed run. Run from the repository
root: `.venv/bin/python benchmarks/incremental.py --quick` (S = 5,000) or without --quick
(S = 20,000, O = 80,000); --quick also takes the site down from a one-WARC-file run
instead of three.

Takedown (`curator takedown`, curator/takedown.py): the real-web bench corpus
(../shared/corpus/bench-warc) runs through extract -> dedup (url, exact) -> tokenize -> mix
-> shards with 20 shards (Megatron + Parquet, best_fit at 2048); the site with the most
tokens whose documents all sit in one shard is then taken down. The peer is the shards
phase of the same run (the time to write all shards, from its stats). Reported:
takedown_seconds_ratio = takedown seconds / shards-phase seconds (goal <= 0.1 with one shard
in 20 affected), the tokens removed, and that the other 19 shards are byte-identical.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from dedup import CACHE, mutate, real_lines  # noqa: E402

TAKEDOWN_WARC = ROOT.parent / "shared" / "corpus" / "bench-warc"
TAKEDOWN_SHARDS = 20
SHARES = {"url": 0.03, "exact": 0.03, "near_old": 0.06, "near_new": 0.04}
"""Shares of the new slice planted as copies of old documents (by URL, text, near text) and as
near copies of other new documents; the rest is fresh."""


# -- data ------------------------------------------------------------------------------------

def _table(ids, texts, urls, scores) -> pa.Table:
    n = len(ids)
    return pa.table({
        "id": pa.array(ids, pa.string()), "source": pa.array(["bench"] * n), "kind": pa.array(["warc"] * n),
        "domain": pa.array(["web"] * n), "url": pa.array(urls, pa.string()), "text": pa.array(texts, pa.string()),
        "lang": pa.array(["en"] * n), "lang_score": pa.array([1.0] * n),
        "meta": pa.nulls(n, pa.map_(pa.string(), pa.string())), "drop_reason": pa.nulls(n, pa.string()),
        "quality_score": pa.array(scores, pa.float64()),
    })


def make_corpora(n_new: int, n_old: int, seed: int = 21) -> tuple[pa.Table, pa.Table]:
    lines = real_lines()
    rng = np.random.default_rng(seed)
    vocab = sorted({w for line in lines[:20000] for w in line.split()})

    def fresh() -> str:
        return "\n".join(lines[int(j)] for j in rng.integers(len(lines), size=int(rng.integers(6, 21))))

    def near(text: str) -> str:
        return " ".join(mutate(text.split(), float(rng.uniform(0.005, 0.03)), rng, vocab))

    old_texts = [fresh() for _ in range(n_old)]
    for i in rng.choice(n_old, n_old // 20, replace=False):  # near copies inside the old corpus
        old_texts[int(i)] = near(old_texts[int(rng.integers(n_old))])
    old_ids = [f"a-{i:08d}" for i in range(n_old)]
    old_urls = [f"https://docs.example/{i}" for i in range(n_old)]
    old = _table(old_ids, old_texts, old_urls, rng.uniform(0, 1, n_old).tolist())

    texts, urls = [], []
    plan = {k: int(v * n_new) for k, v in SHARES.items()}
    picks = rng.choice(n_old, plan["url"] + plan["exact"] + plan["near_old"], replace=False)
    for j in picks[:plan["url"]]:
        texts.append(fresh())
        urls.append(old_urls[int(j)])
    for j in picks[plan["url"]:plan["url"] + plan["exact"]]:
        texts.append("  ".join(old_texts[int(j)].upper().split()))
        urls.append(None)
    for j in picks[plan["url"] + plan["exact"]:]:
        texts.append(near(old_texts[int(j)]))
        urls.append(None)
    while len(texts) < n_new - plan["near_new"]:
        texts.append(fresh())
        urls.append(None)
    for _ in range(plan["near_new"]):
        texts.append(near(texts[int(rng.integers(len(texts)))]))
        urls.append(None)
    ids = [f"b-{i:08d}" for i in range(n_new)]
    urls = [u or f"https://new.example/{i}" for i, u in enumerate(urls)]
    order = rng.permutation(n_new)
    new = _table([ids[i] for i in order], [texts[i] for i in order], [urls[i] for i in order],
                 rng.uniform(0, 1, n_new).tolist())
    return old, new


def dataset(n_new: int, n_old: int) -> Path:
    folder = CACHE / f"incremental-{n_new}-{n_old}"
    if not (folder / "done").is_file():
        old, new = make_corpora(n_new, n_old)
        shutil.rmtree(folder, ignore_errors=True)
        for name, table in (("old", old), ("new", new)):
            (folder / name).mkdir(parents=True)
            step = -(-table.num_rows // 8)
            for k in range(8):
                pq.write_table(table.slice(k * step, step), folder / name / f"part-{k:05d}.parquet")
        (folder / "done").write_text("")
    return folder


# -- runs ------------------------------------------------------------------------------------

def _dedup(spark, frame, out: Path, prior=()) -> float:
    from curator.manifest import DedupSettings, MinHashSettings
    from stages.dedup_documents import dedup_documents

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    schema = _arrow_schema(frame)
    df, _ = dedup_documents(frame, DedupSettings(minhash=MinHashSettings()), schema, prior)
    df.write.parquet(str(out))
    return time.perf_counter() - started


def _arrow_schema(frame) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(frame.schema)


def _kept(spark, path: Path, prefix: str) -> dict[str, bool]:
    from pyspark.sql import functions as F

    rows = spark.read.parquet(str(path)).where(F.col("id").startswith(prefix)).select("id", "drop_reason").collect()
    return {r[0]: r[1] is None for r in rows}


def dedup_figures(args) -> dict:
    """Time S alone, S against O's index and O + S combined; compare S's outcomes."""
    from pyspark.sql import functions as F

    from curator.dedup_index import open_indexes, write_index
    from curator.manifest import DedupSettings, MinHashSettings, SparkSettings
    from curator.spark import get_spark

    n_new = args.new or (5_000 if args.quick else 20_000)
    n_old = 4 * n_new
    t0 = time.perf_counter()
    data = dataset(n_new, n_old)
    print(f"== new slice S {n_new:,} documents, old corpus O {n_old:,} (data ready in {time.perf_counter() - t0:.0f}s)")
    work = CACHE / "incremental-work"
    shutil.rmtree(work, ignore_errors=True)
    spark = get_spark(SparkSettings(master="local[2]", driver_memory="6g", shuffle_partitions=8), "bench-incremental")
    new, old = spark.read.parquet(str(data / "new")), spark.read.parquet(str(data / "old"))

    old_seconds = _dedup(spark, old, work / "old")  # O's own run: also warms the JVM and workers
    started = time.perf_counter()
    index = write_index(spark.read.parquet(str(work / "old")), DedupSettings(minhash=MinHashSettings()),
                        work / "index", "bench-old")
    save_seconds = time.perf_counter() - started
    prior = open_indexes([str(index.path)], work, DedupSettings(minhash=MinHashSettings()))

    alone, incremental = [], []
    _dedup(spark, new, work / "alone")  # untimed warm-up of the slice's own plan
    for _ in range(args.repeat):
        alone.append(_dedup(spark, new, work / "alone"))
        incremental.append(_dedup(spark, new, work / "incremental", prior))
    boosted = old.withColumn("quality_score", F.col("quality_score") + 10.0)  # every old document wins
    combined_seconds = _dedup(spark, boosted.unionByName(new), work / "combined")

    inc, comb = _kept(spark, work / "incremental", "b-"), _kept(spark, work / "combined", "b-")
    agree = sum(inc[i] == comb.get(i) for i in inc) / max(1, len(inc))
    reasons = {r[0]: r[1] for r in spark.read.parquet(str(work / "incremental"))
               .groupBy("drop_reason").count().collect() if r[0] is not None}
    spark.stop()
    return {
        "new_docs": n_new, "old_docs": n_old,
        "alone_seconds": round(min(alone), 2), "incremental_seconds": round(min(incremental), 2),
        "combined_seconds": round(combined_seconds, 2), "old_run_seconds": round(old_seconds, 2),
        "index_save_seconds": round(save_seconds, 2),
        "index_mb": round(sum(p.stat().st_size for p in index.path.rglob("*") if p.is_file()) / 2**20, 1),
        "incremental_cost_ratio": round(min(incremental) / min(alone), 3),
        "prior_dedup_agreement": round(agree, 4),
        "new_kept": sum(inc.values()),
        "removed": dict(sorted(reasons.items())),
    }



# -- takedown ------------------------------------------------------------------------------



def _takedown_hashes(shards: Path) -> dict[str, str]:
    return {str(p.relative_to(shards)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(shards.rglob("*")) if p.is_file() and "lineage" not in p.parts and p.suffix != ".json"}


def takedown_figures(args) -> dict:
    """Build a 20-shard run of the bench corpus, take down one site, time both."""
    files = sorted(TAKEDOWN_WARC.glob("*.warc.gz"))[: 1 if args.quick else 3]
    if not files:
        raise SystemExit(f"no bench corpus at {TAKEDOWN_WARC}")
    work = Path(tempfile.mkdtemp(prefix="bench-incremental-"))
    try:
        return _takedown_run(files, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # made above, for this run only


def _takedown_run(files: list[Path], work: Path) -> dict:
    import subprocess

    import yaml

    manifest = {
        "run": "takedown",
        "sources": [{"name": "web", "kind": "warc", "inputs": [str(f) for f in files], "domain": "web"}],
        "extract": {"extractor": "trafilatura"},
        "stages": [],
        "dedup": {"exact": True, "url": True},
        "mixture": {"weights": {"web": 1.0}, "max_epochs": 1, "seed": 1},
        "tokenizer": {"path": "asset:gpt2", "add_eos": True},
        "shards": {"seq_lens": [2048], "packing": "best_fit", "formats": ["megatron", "parquet"],
                   "tokens_per_shard": 1 << 40, "seed": 1},
        "spark": {"master": "local[2]", "driver_memory": "2g", "shuffle_partitions": 4},
        "output": {"dir": str(work / "runs")},
    }
    curator = [sys.executable, "-m", "curator.cli"]
    path = work / "m.yaml"
    path.write_text(yaml.safe_dump(manifest))
    # first up to the mixture, to size the shards so that there are exactly TAKEDOWN_SHARDS of them
    subprocess.run([*curator, "-q", "run", str(path), "--until", "mix"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    run = work / "runs" / "takedown"
    tokens = json.loads((run / "stats" / "mixed.json").read_text())["tokens_out"]
    manifest["shards"]["tokens_per_shard"] = max(-(-tokens // TAKEDOWN_SHARDS), 4096)
    path.write_text(yaml.safe_dump(manifest))
    subprocess.run([*curator, "-q", "run", str(path)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    shards_seconds = json.loads((run / "stats" / "shards.json").read_text())["seconds"]
    top = json.loads((run / "shards" / "manifest.json").read_text())
    n_shards = len(top["seq_lens"]["2048"]["shards"])

    where: dict[str, set] = {}
    tokens_of: dict[str, int] = {}
    for k, p in enumerate(sorted((run / "shards" / "lineage" / "2048").glob("*.documents.parquet"))):
        for r in pq.read_table(p, columns=["host", "tokens"]).to_pylist():
            if r["host"]:
                where.setdefault(r["host"], set()).add(k)
                tokens_of[r["host"]] = tokens_of.get(r["host"], 0) + r["tokens"]
    site = max((h for h, s in where.items() if len(s) == 1), key=lambda h: (tokens_of[h], h))
    before = _takedown_hashes(run / "shards")

    from curator.takedown import selection, takedown

    started = time.perf_counter()
    rec = takedown(run, selection([site]))
    seconds = time.perf_counter() - started
    after = _takedown_hashes(run / "shards")
    changed = {k.split("/")[-1].split(".")[0] for k in before if before[k] != after[k]}
    lineage = sum(p.stat().st_size for p in (run / "shards" / "lineage").rglob("*.parquet"))
    shard_bytes = sum(p.stat().st_size for p in (run / "shards" / "2048").glob("shard-*"))
    return {
        "takedown_warc_files": len(files), "takedown_shards": n_shards, "takedown_tokens_total": tokens,
        "takedown_site_tokens": rec["tokens"], "takedown_documents": rec["documents"],
        "takedown_shards_rewritten": rec["shards_rewritten"], "takedown_shards_changed_on_disk": len(changed),
        "takedown_seconds": round(seconds, 3), "shards_phase_seconds": shards_seconds,
        "lineage_bytes_share": round(lineage / shard_bytes, 4) if shard_bytes else None,
        "takedown_seconds_ratio": round(seconds / shards_seconds, 4) if shards_seconds else None,
    }


# -- main ------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a 5,000-document slice (default 20,000)")
    ap.add_argument("--new", type=int, help="documents in the new slice (the old corpus has 4x)")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each side; the best counts")
    args = ap.parse_args()
    d = dedup_figures(args)
    t = takedown_figures(args)
    print(f"\nDedup of a new slice, 2 cores (load average {os.getloadavg()[0]:.1f})")
    print(f"{'run':<44}{'seconds':>10}")
    for label, key in (("S alone", "alone_seconds"), ("S against the index of O", "incremental_seconds"),
                       ("O + S combined (re-running everything)", "combined_seconds"),
                       ("O alone (the old run)", "old_run_seconds"), ("saving O's index", "index_save_seconds")):
        print(f"{label:<44}{d[key]:>10.1f}")
    print(f"index of O: {d['index_mb']} MB; S kept {d['new_kept']:,} of {d['new_docs']:,}; removed: {d['removed']}")
    print(f"incremental cost ratio (goal <= 1.3): {d['incremental_cost_ratio']:.3f}; "
          f"agreement with the combined run (goal 1.0): {d['prior_dedup_agreement']:.4f}")
    out = {k: v for k, v in d.items() if k != "removed"}
    out.update({f"removed_{k.replace('.', '_')}": v for k, v in d["removed"].items()})
    print(f"\nTakedown of one site from {t['takedown_shards']} shards ({t['takedown_warc_files']} WARC files)")
    for k, v in t.items():
        print(f"{k:<36} {v!s:>14}")
    out.update(t)
    out["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
