"""Dedup indexes: what a finished run's dedup saw, saved so that later runs dedup against it.

A corpus is not built once: a new snapshot must be deduplicated against everything already
released. `curator dedup-index save RUN OUT --name NAME` writes, from RUN's dedup phase, the
keys each dedup step compared, for the documents that took part in that step:

    OUT/index.json           header: name, created, source run, dedup settings, counts
    OUT/urls/*.parquet       url, id        a URL of a web document that took part in URL
                                            dedup, with that URL's survivor
    OUT/exact/*.parquet      text_hash, id  a normalised-text hash (stages/dedup_exact.py),
                                            with its cluster's survivor
    OUT/docs/*.parquet       k1, k2, id, len, score, text
                                            documents that took part in MinHash dedup: key,
                                            id, text length, survivor score, text (verification)
    OUT/buckets/*.parquet    bucket, k1, k2 their LSH band buckets (stages/dedup_fuzzy.py)

Everything is written under a temporary name beside OUT and renamed into place, and OUT is
never replaced. A run names indexes in `dedup.against` (stages/dedup_prior.py does the
matching); `open_indexes` reads and checks each header before Spark starts: a missing or
broken index, or MinHash settings that differ from the run's, is one ManifestError naming
the index (buckets made with other settings would silently match nothing).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.errors import ManifestError
from curator.terminal import shown

FORMAT = "curator-dedup-index"
FORMAT_VERSION = 1
HEADER = "index.json"
MAX_HEADER_BYTES = 1 << 20
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
EXACT_HASH = "sha256[:32] of NFKC, case-folded, whitespace-collapsed text"
"""What `text_hash` is (stages/dedup_exact.py): an index made with another rule matches nothing."""
URL_REASONS = ("dedup.url", "dedup.url_prior")
EXACT_REASONS = (*URL_REASONS, "dedup.exact", "dedup.exact_prior")
TABLES = {
    "urls": {"url": "string", "id": "string"},
    "exact": {"text_hash": "string", "id": "string"},
    "docs": {"k1": "bigint", "k2": "bigint", "id": "string", "len": "int", "score": "double"},
    "buckets": {"bucket": "bigint", "k1": "bigint", "k2": "bigint"},
}
"""The columns (Spark types) each table must have; docs also has `text` when saved with verify."""


def minhash_fingerprint(settings) -> dict[str, Any] | None:
    """The MinHash settings that decide buckets and verified pairs: an index and a run must
    agree on all of them (the survivor score and component settings do not matter)."""
    if settings is None:
        return None
    from stages.dedup_fuzzy import resolve_bands

    bands, rows = resolve_bands(settings)
    return {"ngram": settings.ngram, "num_perm": settings.num_perm, "seed": settings.seed, "bands": bands,
            "rows": rows, "verify": settings.verify, "threshold": settings.threshold if settings.verify else None}


@dataclass(frozen=True)
class DedupIndex:
    path: Path
    header: dict[str, Any]

    @property
    def name(self) -> str:
        return self.header["name"]

    def has(self, table: str) -> bool:
        return self.header["counts"].get(table) is not None

    def table(self, spark, table: str):
        # the schema is known: given, Spark reads no file footers (one job less per table read)
        cols = dict(TABLES[table])
        if table == "docs" and (self.header["settings"].get("minhash") or {}).get("verify"):
            cols["text"] = "string"
        return spark.read.schema(", ".join(f"`{k}` {v}" for k, v in cols.items())).parquet(str(self.path / table))

    def state(self) -> dict[str, Any]:
        """What a run's dedup fingerprint records of this index (a re-saved index re-runs dedup)."""
        return {k: self.header.get(k) for k in ("name", "created", "counts", "settings", "source_run")}


# -- reading ---------------------------------------------------------------------------------

def _bad(path: Path, what: str) -> ManifestError:
    return ManifestError(f"dedup.against: {shown(str(path))}: {what}; give a folder written by "
                         f"`curator dedup-index save`")


def read_header(path: str | os.PathLike) -> DedupIndex:
    """An index folder's checked header; a missing folder or a wrong header is one line."""
    from curator.rundir import read_bounded

    path = Path(path)
    if not path.is_dir():
        raise _bad(path, "no such folder")
    try:
        header = json.loads(read_bounded(path / HEADER, MAX_HEADER_BYTES))
    except FileNotFoundError:
        raise _bad(path, f"no {HEADER}") from None
    except ManifestError:  # a link to a device or pipe, or oversized
        raise _bad(path, f"{HEADER} is not a regular file of at most {MAX_HEADER_BYTES >> 20} MiB") from None
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise _bad(path, f"{HEADER} is not readable JSON ({type(e).__name__})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _bad(path, f"{HEADER} is not a {FORMAT} header")
    if header.get("format_version") != FORMAT_VERSION:
        raise _bad(path, f"format_version {header.get('format_version')!r}, this curator reads {FORMAT_VERSION}")
    name, counts, settings = header.get("name"), header.get("counts"), header.get("settings")
    if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
        raise _bad(path, "its name is missing or not a plain name")
    if not isinstance(counts, dict) or not isinstance(settings, dict):
        raise _bad(path, "its header lacks counts or settings")
    for table, n in counts.items():
        if table not in TABLES or not (n is None or (isinstance(n, int) and n >= 0)):
            raise _bad(path, f"counts.{table} is not a table count")
        if n is not None and not (path / table).is_dir():
            raise _bad(path, f"the {table}/ folder its header counts is missing")
    if settings.get("exact_hash") not in (None, EXACT_HASH):
        raise _bad(path, "its exact hashes were made by another rule")
    return DedupIndex(path, header)


def open_indexes(paths: list[str], base_dir: Path, dedup) -> list[DedupIndex]:
    """The indexes of `dedup.against` (paths relative to the manifest's folder), checked
    against the run's dedup settings; raises ManifestError on the first problem."""
    out, names = [], set()
    want = minhash_fingerprint(dedup.minhash)
    for p in paths:
        path = Path(os.path.expanduser(p))
        index = read_header(path if path.is_absolute() else Path(base_dir) / path)
        if index.name in names:
            raise _bad(index.path, f"another index in dedup.against is also named {index.name!r}")
        names.add(index.name)
        have = index.header["settings"].get("minhash")
        if want is not None and have != want:
            if have is None:
                raise _bad(index.path, f"index {index.name!r} holds no MinHash buckets (its run had "
                                       f"dedup.minhash off); save one from a run with the same dedup.minhash")
            diff = ", ".join(f"{k} {have.get(k)!r} (run: {v!r})" for k, v in want.items() if have.get(k) != v)
            raise _bad(index.path, f"index {index.name!r} was made with other dedup.minhash settings: {diff}")
        out.append(index)
    return out


# -- saving ----------------------------------------------------------------------------------

def save_index(spark, run_dir: str | os.PathLike, out: str | os.PathLike, name: str) -> DedupIndex:
    """Write the dedup index of RUN's finished dedup phase to `out` (which must not exist)."""
    from curator.manifest import DedupSettings, load_yaml
    from curator.phases import MARKER
    from curator.rundir import PHASE_DIRS, read_bounded

    run_dir, out = Path(run_dir), Path(out)
    if not re.match(NAME_PATTERN, name):
        raise ManifestError(f"--name {name!r}: letters, digits, '.', '_' and '-' only (at most 100), e.g. cc-2026-05")
    if os.path.lexists(out):
        raise ManifestError(f"{shown(str(out))} exists; give a new folder for the index (nothing is replaced)")
    deduped = run_dir / PHASE_DIRS["dedup"]
    if not (deduped / MARKER).is_file():
        raise ManifestError(f"{shown(str(run_dir))}: no finished dedup phase ({PHASE_DIRS['dedup']}/{MARKER}); "
                            f"run the manifest at least until dedup first")
    lock = run_dir / "manifest.lock.yaml"
    try:
        dedup = DedupSettings.model_validate(load_yaml(read_bounded(lock).decode("utf-8"), lock).get("dedup") or {})
    except (OSError, ValueError, AttributeError) as e:
        raise ManifestError(f"{shown(str(lock))}: cannot read the run's dedup settings ({type(e).__name__})") from None

    return write_index(spark.read.parquet(str(deduped)), dedup, out, name, source=str(run_dir.resolve()))


def write_index(df, dedup, out: str | os.PathLike, name: str, source: str | None = None) -> DedupIndex:
    """Write the index of `df`, a dedup phase's output made with `dedup` (DedupSettings)."""
    from pyspark.sql import functions as F

    from curator.phases import write_atomic

    out = Path(out)
    if os.path.lexists(out):
        raise ManifestError(f"{shown(str(out))} exists; give a new folder for the index (nothing is replaced)")
    spark = df.sparkSession
    reason = F.coalesce(F.col("drop_reason"), F.lit(""))
    tables = {}
    if dedup.url:  # the URLs that took part, each with its survivor (a URL duplicate sorts last)
        part = df.where((F.col("kind") == "warc") & F.col("url").isNotNull())
        tables["urls"] = part.groupBy("url").agg(F.min(F.struct(reason.isin(*URL_REASONS).alias("d"), "id"))["id"]
                                                 .alias("id"))
    if dedup.exact and "text_hash" in df.columns:
        part = df.where(~reason.isin(*URL_REASONS) & F.col("text_hash").isNotNull())
        tables["exact"] = part.groupBy("text_hash").agg(
            F.min(F.struct(reason.isin(*EXACT_REASONS).alias("d"), "id"))["id"].alias("id"))
    if dedup.minhash is not None:
        tables.update(_minhash_tables(df.where(~reason.isin(*EXACT_REASONS)), dedup.minhash))

    tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        counts: dict[str, int | None] = {t: None for t in TABLES}
        for table, frame in tables.items():
            frame.write.parquet(str(tmp / table))
            counts[table] = spark.read.parquet(str(tmp / table)).count()
        header = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "source_run": source,
            "settings": {"url": dedup.url, "exact": dedup.exact, "exact_hash": EXACT_HASH if dedup.exact else None,
                         "minhash": minhash_fingerprint(dedup.minhash),
                         "survivor_score": dedup.minhash.survivor_score if dedup.minhash else None},
            "counts": counts,
        }
        write_atomic(tmp / HEADER, json.dumps(header, indent=1, sort_keys=True) + "\n")
        os.rename(tmp, out)  # fails rather than replace a folder that appeared meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # ours: created above under a fresh name
        raise
    return read_header(out)


def _minhash_tables(part, settings) -> dict[str, Any]:
    """docs and buckets of the documents that took part in MinHash dedup, keyed as
    stages/dedup_fuzzy.py keys them (so a later run's LSH stars are the combined run's)."""
    from functools import partial

    from pyspark.sql import functions as F

    from curator.schema import spark_schema
    from stages.dedup_fuzzy import BUCKET_SCHEMA, _bucket_rows, _keys, resolve_bands

    bands, rows = resolve_bands(settings)
    score = settings.survivor_score
    score_col = F.col(score).cast("double") if score and score in part.columns else F.lit(None).cast("double")
    cols = [*_keys("id"), F.col("id"), F.length("text").alias("len"), score_col.alias("score")]
    if settings.verify:
        cols.append(F.col("text"))
    fn = partial(_bucket_rows, ngram=settings.ngram, num_perm=settings.num_perm, seed=settings.seed,
                 bands=bands, rows=rows)
    buckets = (part.select("id", "text").mapInArrow(fn, spark_schema(BUCKET_SCHEMA))
               .select(F.explode("buckets").alias("bucket"), *_keys("id")))
    return {"docs": part.select(*cols), "buckets": buckets}
