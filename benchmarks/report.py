"""How long report.html's score histograms take on a big annotated phase, and at what memory.

The report streams the parquet with pyarrow, a few projected columns per batch
(curator.runstats.score_histograms). Peers on the same files and bins, each measured in a
fresh process for its peak RSS (Spark in this one; its JVM memory is not comparable):
- Spark (local[2]): min/max, then a groupBy on the bin index per column, as a Spark job would;
- pandas: read the columns whole and numpy.histogram them, as a notebook would.
Every peer's counts are checked against ours before a time is printed.

    .venv/bin/python benchmarks/report.py [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curator import runstats  # noqa: E402

SCORES = {
    "lang_score": "float", "gopher_words": "int", "gopher_avg_word_length": "float",
    "gopher_symbol_word_ratio": "float", "gopher_bullet_lines_ratio": "float",
    "gopher_alpha_words_ratio": "float", "quality_score": "float", "toxicity_score": "float",
}


def make_phase(root: Path, rows: int, files: int = 8) -> Path:
    rng = np.random.default_rng(0)
    out = root / "run" / "annotated"
    out.mkdir(parents=True)
    per = rows // files
    for f in range(files):
        n = per if f < files - 1 else rows - per * (files - 1)
        cols = {
            "id": pa.array([f"doc-{f}-{i:09d}" for i in range(n)]),
            "domain": pa.array(rng.choice(["web", "code", "books"], n)),
            "lang": pa.array(rng.choice(["en", "de", "fr", "zh"], n)),
            "text": pa.array(["x" * 40] * n),
        }
        drop = rng.random(n)
        cols["drop_reason"] = pa.array(np.where(drop < 0.3, "gopher_quality.word_count", None).tolist(), pa.string())
        for name, kind in SCORES.items():
            null = rng.random(n) < 0.1
            v = rng.integers(0, 5000, n) if kind == "int" else rng.beta(2, 5, n)
            cols[name] = pa.array(v, mask=null)
        pq.write_table(pa.table(cols), out / f"part-{f:05d}.parquet", compression="zstd")
    (root / "run" / "stats").mkdir()
    return root / "run"


def _timed(method: str, run: str, edges: dict | None):
    """In a fresh process: the histograms, seconds, and the process's peak RSS in MB."""
    import resource

    fn = {"ours": lambda: ours(Path(run)), "pandas": lambda: with_pandas(Path(run), edges)}[method]
    t = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t
    return out, secs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(method: str, run: Path, edges: dict | None = None):
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(_timed, (method, str(run), edges))


def ours(run: Path) -> dict:
    hists = runstats.score_histograms(run)
    return {h["column"]: {k: h[k] for k in ("edges", "kept", "dropped")} for h in hists}


def with_pandas(run: Path, edges: dict) -> dict:
    import pandas as pd

    df = pd.read_parquet(run / "annotated", columns=list(SCORES) + ["drop_reason"])
    kept = df["drop_reason"].isna().to_numpy()
    out = {}
    for c in SCORES:
        v = df[c].to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(v)
        out[c] = (np.histogram(v[ok & kept], edges[c])[0].tolist(), np.histogram(v[ok & ~kept], edges[c])[0].tolist())
    return out


def with_spark(spark, run: Path, edges: dict) -> dict:
    from pyspark.sql import functions as F

    df = spark.read.parquet(str(run / "annotated"))
    aggs = []
    for c in SCORES:
        aggs += [F.min(c).alias(f"{c}__lo"), F.max(c).alias(f"{c}__hi")]
    df.agg(*aggs).collect()  # the first pass a Spark job needs for the range
    out = {}
    for c in SCORES:
        e = np.asarray(edges[c])
        lo, width, n = float(e[0]), float(e[1] - e[0]), len(e) - 1
        b = F.least(F.floor((F.col(c) - F.lit(lo)) / F.lit(width)).cast("int"), F.lit(n - 1))
        rows = (df.where(F.col(c).isNotNull()).groupBy(b.alias("b"), F.col("drop_reason").isNull().alias("kept"))
                .count().collect())
        kept, dropped = [0] * n, [0] * n
        for r in rows:
            (kept if r["kept"] else dropped)[r["b"]] += r["count"]
        out[c] = (kept, dropped)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="200k rows instead of 2M")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--no-spark", action="store_true")
    args = ap.parse_args()
    rows = args.rows or (200_000 if args.quick else 2_000_000)

    with tempfile.TemporaryDirectory() as tmp:
        run = make_phase(Path(tmp), rows)
        size_mb = sum(f.stat().st_size for f in (run / "annotated").glob("*.parquet")) / 2**20
        hists, secs, peak = measure("ours", run)
        edges = {c: hists[c]["edges"] for c in SCORES}
        want = {c: (hists[c]["kept"], hists[c]["dropped"]) for c in SCORES}
        results = [("curator (pyarrow, streamed)", secs, peak)]

        got, p_secs, p_peak = measure("pandas", run, edges)
        assert got == want, "pandas histograms differ from ours"
        results.append(("pandas (whole columns)", p_secs, p_peak))

        s_secs = None
        if not args.no_spark:
            from curator.manifest import SparkSettings
            from curator.spark import get_spark

            spark = get_spark(SparkSettings(master="local[2]", driver_memory="2g", shuffle_partitions=4), "bench-report")
            spark.read.parquet(str(run / "annotated")).count()  # start-up and file listing, not timed
            t = time.perf_counter()
            got = with_spark(spark, run, edges)
            s_secs = time.perf_counter() - t
            assert got == want, "Spark histograms differ from ours"
            results.append(("Spark local[2] (groupBy per column)", s_secs, None))
            spark.stop()

    print(f"\nscore histograms of {rows:,} rows x {len(SCORES)} columns ({size_mb:.0f} MB parquet), {os.cpu_count()} cores")
    print(f"{'method':<38}{'seconds':>9}{'rows/s':>13}{'peak RSS MB':>15}{'time vs ours':>14}")
    for name, s, mb in results:
        print(f"{name:<38}{s:>9.2f}{rows / s:>13,.0f}{(f'{mb:.0f}' if mb is not None else '-'):>15}{s / secs:>13.2f}x")
    out = {
        "rows": rows, "columns": len(SCORES), "seconds": round(secs, 3), "rows_per_s": round(rows / secs),
        "peak_rss_mb": round(peak, 1), "pandas_seconds": round(p_secs, 3), "pandas_peak_rss_mb": round(p_peak, 1),
        "pandas_time_ratio": round(p_secs / secs, 3),
        "spark_seconds": round(s_secs, 3) if s_secs else None,
        "spark_time_ratio": round(s_secs / secs, 3) if s_secs else None,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
