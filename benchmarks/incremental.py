"""A corpus that lives on: what changing a built run costs against building it.

Takedown (`curator takedown`, curator/takedown.py): the real-web bench corpus
(../shared/corpus/bench-warc) runs through extract -> dedup (url, exact) -> tokenize -> mix
-> shards with 20 shards (Megatron + Parquet, best_fit at 2048); the site with the most
tokens whose documents all sit in one shard is then taken down. The peer is the shards
phase of the same run (the time to write all shards, from its stats). Reported:
takedown_seconds_ratio = takedown seconds / shards-phase seconds (goal <= 0.1 with one shard
in 20 affected), the tokens removed, and that the other 19 shards are byte-identical.

Run from the repository root: `.venv/bin/python benchmarks/incremental.py [--quick]`
(--quick: one WARC file instead of three). Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TAKEDOWN_WARC = ROOT.parent / "shared" / "corpus" / "bench-warc"
TAKEDOWN_SHARDS = 20


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

    import pyarrow.parquet as pq
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one WARC file instead of three")
    args = ap.parse_args()
    out = takedown_figures(args)
    print(f"{'figure':<36} {'value':>14}")
    for k, v in out.items():
        print(f"{k:<36} {v!s:>14}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
