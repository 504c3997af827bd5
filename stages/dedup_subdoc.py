"""What the below-the-document dedup stages share (stages/dedup_lines.py, dedup_spans.py,
dedup_sitecaps.py): the document order, the per-document counters, and the one shuffle that
turns (item hash, document) rows into each document's list of items to cut.

Order: "first" means the highest `survivor_score` column value (missing or null counts as
lowest), then the smallest `id`, the same order for every stage. It is fixed once as a
64-bit `_rank` (a global sort, then `monotonically_increasing_id`, which increases with the
sort across partitions) and checkpointed, so every later step compares the same numbers;
only comparisons of ranks are used, never their values, so a different partition count
keeps the same text.

Items: a stage's Python workers emit one row (hash int64, rank int64) per distinct item of a
document: 16 bytes whatever the text, and no step holds more than one Arrow batch of them in
Python. Spark groups them by hash (one shuffle) into counts and the first rank; the cut rows then
meet their documents in groups of consecutive ranks (`cut_documents`), where a Python
worker turns them into each document's cut list.

Small runs (at most `dedup.subdoc_local_max_docs` rows and `LOCAL_MAX_TEXT_CHARS` of text,
about what one partition of a large run holds) come to the driver as one Arrow table and go
through the same functions in one process (`on_driver`): the same rows and stats, without
the two dozen small Spark jobs that cost such a run more than its work.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curator.schema import conform, with_columns
from stages.minhash import M64, fmix64

WHITE_SPACE = [c for c in range(0x3001) if chr(c).isspace()]  # none above U+3000
ODD_SPACE = "[{}]{{2,}}|[{}]".format("".join(f"\\x{{{c:x}}}" for c in WHITE_SPACE),
                                  "".join(f"\\x{{{c:x}}}" for c in WHITE_SPACE if c != 0x20))
"""White space as `str.split()` (and `re`'s `\\s`) knows it, in Arrow's regex syntax, where it is
not a single plain space: replaced by one space, then split or trimmed at plain spaces, text
splits as `str.split()` splits it (matching only these, not every space, is 7x faster)."""
COUNTERS = ("lines_removed_boilerplate", "spans_removed", "chars_removed")
"""Per-document counters of what the stages cut (0 where nothing was cut)."""
_K, _K2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)
ITEM_SCHEMA = pa.schema([("h", pa.int64()), ("rank", pa.int64())])
CUT_COL = "_cut"


def string_hashes(arr: pa.Array) -> np.ndarray:
    """A 64-bit hash (uint64) of every string of an Arrow string array, in one vectorised pass
    over its bytes: each 8-byte word (the last one zero-padded) mixed with its position by
    fmix64, summed per string, the sum mixed with the length. `stages/minhash.py`
    `string_hashes64` folds word by word, one numpy step per word position, which suits short
    tokens but costs a step per 8 bytes of the longest string (a paragraph: a thousand)."""
    n = len(arr)
    if n == 0:
        return np.zeros(0, np.uint64)
    offs = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset: arr.offset + n + 1].astype(np.int64)
    data = np.zeros(offs[-1] - offs[0] + 8, np.uint8)  # zero padding: every word load is in bounds
    if offs[-1] > offs[0]:
        data[:-8] = np.frombuffer(arr.buffers()[2], np.uint8)[offs[0]: offs[-1]]
    length = np.diff(offs)
    count = np.maximum(1, (length + 7) // 8)  # an empty string is one empty word
    first = np.concatenate(([0], np.cumsum(count)[:-1]))
    position = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(first, count)
    owner = np.repeat(np.arange(n), count)
    rem = length[owner] - 8 * position
    words = np.lib.stride_tricks.as_strided(data, shape=(len(data) - 7, 8), strides=(1, 1), writeable=False)
    w = np.ascontiguousarray(words[offs[:-1][owner] - offs[0] + 8 * position]).view("<u8")[:, 0]
    with np.errstate(over="ignore"):
        w &= np.where(rem >= 8, np.uint64(M64), (np.uint64(1) << (np.clip(rem, 0, 7) * 8).astype(np.uint64))
                      - np.uint64(1))
        mixed = fmix64(w ^ (position.astype(np.uint64) * _K + _K))
        return fmix64(np.add.reduceat(mixed, first) + length.astype(np.uint64) * _K2)


def distinct_string_hashes(arr: pa.Array) -> np.ndarray:
    """`string_hashes(arr)` for an array with many repeats (words, lines): each distinct
    string is hashed once (Arrow's dictionary encoding finds them), 3-4x faster on words."""
    enc = pc.dictionary_encode(arr)
    return string_hashes(enc.dictionary)[enc.indices.to_numpy(zero_copy_only=False)]


def casefolded(texts: list, skip: list[bool]) -> pa.Array:
    """NFKC, then case-folded (as `normalise` does), "" for skipped or empty texts; a text
    already in NFKC (the quick check) is not normalised again."""
    from unicodedata import is_normalized, normalize

    return pa.array([("" if s or not t else (t if is_normalized("NFKC", t) else normalize("NFKC", t)).casefold())
                     for t, s in zip(texts, skip)], pa.string())


def ranked(df, survivor_score: str | None):
    """`df` with `_rank` (its place in the survivor order) and the zeroed counters, materialised
    once so that every step reads the same ranks."""
    from pyspark.sql import functions as F

    score = F.col(survivor_score).cast("double") if survivor_score and survivor_score in df.columns else F.lit(None).cast("double")
    for name in COUNTERS:
        if name not in df.columns:
            df = df.withColumn(name, F.lit(0).cast("long"))
    return (
        df.withColumn("_score", score)
        .orderBy(F.col("_score").desc_nulls_last(), F.col("id").asc())
        .withColumn("_rank", F.monotonically_increasing_id())
        .drop("_score")
        .localCheckpoint(eager=True)
    )


def host_column():
    """The lower-cased host of `url` (null for code rows and unparseable URLs: `try_parse_url`,
    as `parse_url` fails the job on a URL Java cannot parse when ANSI mode is on)."""
    from pyspark.sql import functions as F

    return F.lower(F.expr("try_parse_url(url, 'HOST')"))


def items_frame(df, emit, extra_cols: tuple[str, ...] = ()):
    """Rows (h, rank) from `emit(batch) -> (hashes uint64/int64, ranks)` over kept rows."""
    from functools import partial

    from curator.schema import spark_schema

    cols = ("_rank", "text", "kind", *extra_cols)
    return df.where(df["drop_reason"].isNull()).select(*cols).mapInArrow(partial(_emit_rows, emit=emit),
                                                                          spark_schema(ITEM_SCHEMA))


def _emit_rows(batches, emit):
    for batch in batches:
        h, r = emit(batch)
        if len(h):
            yield pa.RecordBatch.from_arrays([pa.array(np.asarray(h).view(np.int64)), pa.array(np.asarray(r, np.int64))],
                                             schema=ITEM_SCHEMA)


def run_starts(*keys: np.ndarray) -> np.ndarray:
    """Where a new run of equal values starts in sorted `keys` (all keys equal in a run)."""
    n = len(keys[0])
    if not n:
        return np.zeros(0, bool)
    out = np.zeros(n, bool)
    out[0] = True
    for k in keys:
        out[1:] |= k[1:] != k[:-1]
    return out


def member_pairs(owner: np.ndarray, h: np.ndarray, cut_owner: np.ndarray, cut_h: np.ndarray) -> np.ndarray:
    """Which (owner, h) pairs are among the (cut_owner, cut_h) pairs, for whole arrays at once
    (one sort of both, cuts first within equal pairs)."""
    if not len(cut_h) or not len(h):
        return np.zeros(len(h), bool)
    o = np.concatenate([np.asarray(cut_owner, np.int64), np.asarray(owner, np.int64)])
    v = np.concatenate([np.asarray(cut_h).view(np.int64), np.asarray(h).view(np.int64)])
    is_cut = np.concatenate([np.ones(len(cut_h), bool), np.zeros(len(h), bool)])
    order = np.lexsort((~is_cut, v, o))
    so, sv, sc = o[order], v[order], is_cut[order]
    group = np.cumsum(run_starts(so, sv)) - 1
    has_cut = np.zeros(int(group[-1]) + 1, bool)
    has_cut[group[sc]] = True
    out = np.empty(len(h), bool)
    out[order[~sc] - len(cut_h)] = has_cut[group[~sc]]
    return out


def distinct_pairs(h: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (hash, owner) pairs (an item counts once per document)."""
    if not len(h):
        return h, owner
    order = np.lexsort((h, owner))
    h, owner = h[order], owner[order]
    keep = run_starts(h, owner)
    return h[keep], owner[keep]


GROUP_BITS = 12
"""Cuts meet their documents in groups of up to 2^12 consecutive ranks of one sorted partition
(`monotonically_increasing_id` counts up within a partition): a group's documents and cut
rows are all a Python worker holds, whatever the corpus size."""


def cut_documents(df, cuts, fn, arrow_schema: pa.Schema):
    """`fn(batch with _cut) -> batch` over every row of `df`, `_cut` (array<long>, null where
    nothing is cut) holding the hashes of `cuts`' (h, rank) rows for the document's rank.
    Documents and cut rows are co-grouped by rank group, one shuffle each and no list per
    document built on the JVM heap (a `collect_list` per rank ran a 1 GB driver out of heap
    at 1M documents)."""
    from functools import partial

    from pyspark.sql import functions as F

    from curator.schema import spark_schema

    in_schema = with_columns(arrow_schema, {CUT_COL: pa.list_(pa.int64())})
    docs = df.select(*arrow_schema.names).withColumn("_g", F.shiftright("_rank", GROUP_BITS))
    lists = cuts.select("h", "rank").withColumn("_g", F.shiftright("rank", GROUP_BITS))
    return docs.groupBy("_g").cogroup(lists.groupBy("_g")).applyInArrow(
        partial(_cut_group, fn=fn, in_schema=in_schema, out_schema=arrow_schema), spark_schema(arrow_schema))


def _cut_group(docs: pa.Table, cuts: pa.Table, fn, in_schema: pa.Schema, out_schema: pa.Schema) -> pa.Table:
    """One rank group: each document's cut hashes as a list, then `fn` where there are any."""
    if not docs.num_rows:
        return out_schema.empty_table()
    docs = docs.drop_columns(["_g"]).combine_chunks()
    out = []
    for batch in docs.to_batches():
        if not cuts.num_rows:
            out.append(conform(batch, out_schema))
            continue
        ranks = batch.column("_rank").to_numpy(zero_copy_only=False)
        cut_rank = cuts.column("rank").to_numpy()
        order = np.argsort(cut_rank, kind="stable")
        cut_rank, cut_h = cut_rank[order], cuts.column("h").to_numpy()[order]
        lo, hi = np.searchsorted(cut_rank, ranks, "left"), np.searchsorted(cut_rank, ranks, "right")
        if not (hi > lo).any():
            out.append(conform(batch, out_schema))
            continue
        counts = hi - lo
        offsets = np.concatenate(([0], np.cumsum(counts)))
        values = cut_h[np.repeat(lo - offsets[:-1], counts) + np.arange(offsets[-1])]
        lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values, pa.int64()),
                                         mask=pa.array(hi == lo))
        with_cut = pa.RecordBatch.from_arrays([*batch.columns, lists], schema=batch.schema.append(
            pa.field(CUT_COL, pa.list_(pa.int64()))))
        out.append(conform(fn(conform(with_cut, in_schema)), out_schema))
    return pa.Table.from_batches(out, schema=out_schema)


def arrow_schema_of(df) -> pa.Schema:
    """The Arrow schema of a Spark frame (the columns a stage passes through unchanged)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema)


class CutBatch:
    """The columns a cut changes in one Arrow batch, and the rule both cuts end with: what is
    left is kept (the counters grow) unless it is too short, when the document is dropped with
    `reason` and its text stays as it came, for people to read."""

    def __init__(self, batch: pa.RecordBatch, counter: str):
        self.batch, self.counter = batch, counter
        self.texts = batch.column("text").to_pylist()
        self.reasons = batch.column("drop_reason").to_pylist()
        self.counts = batch.column(counter).to_pylist()
        self.chars = batch.column("chars_removed").to_pylist()

    def settle(self, j: int, kept: str, cut: int, reason: str, min_chars_left: int,
               normalised_chars: int | None = None) -> None:
        """`normalised_chars`: `len(normalise(kept))` where the caller knows it already."""
        from stages.dedup_exact import normalise

        if (len(normalise(kept)) if normalised_chars is None else normalised_chars) < min_chars_left:
            self.reasons[j] = reason
            return
        self.counts[j] = (self.counts[j] or 0) + cut
        self.chars[j] = (self.chars[j] or 0) + len(self.texts[j]) - len(kept)
        self.texts[j] = kept

    def result(self) -> pa.RecordBatch:
        return replace_columns(self.batch, {"text": self.texts, "drop_reason": self.reasons,
                                            self.counter: self.counts, "chars_removed": self.chars})


def replace_columns(batch: pa.RecordBatch, values: dict[str, list]) -> pa.RecordBatch:
    """`batch` with some columns replaced by Python lists (same names and types)."""
    cols = []
    for i, name in enumerate(batch.schema.names):
        col = batch.column(i)
        cols.append(pa.array(values[name], col.type) if name in values else col)
    return pa.RecordBatch.from_arrays(cols, schema=batch.schema)


def counter_totals(df) -> dict[str, int]:
    """The counters summed over the kept and dropped rows, and the documents changed."""
    from pyspark.sql import functions as F

    row = df.agg(*[F.sum(c).alias(c) for c in COUNTERS],
                 F.sum((F.col("chars_removed") > 0).cast("long")).alias("docs_modified")).collect()[0]
    return {k: int(row[k] or 0) for k in (*COUNTERS, "docs_modified")}


LOCAL_MAX_TEXT_CHARS = 64 << 20
"""The driver path's bound on characters of text, whatever `dedup.subdoc_local_max_docs`
says: about half of what one input partition of a large run holds (Spark's
`maxPartitionBytes`); the hashes, offsets and copies the stages make of it peak at about
20 bytes per character."""


def subdoc_dedup(df, settings, rows: int | None = None, chars: int | None = None) -> tuple[object, dict]:
    """The enabled stages in order (lines, spans, site caps) on `df` (all rows of the dedup
    phase, earlier drops passed through); `settings` is the manifest's `dedup` section;
    `rows`, `chars`: `df`'s row count and characters of text where the caller knows them
    (the pipeline does, from the phase before), which spares the size check its job."""
    stats: dict = {}
    columns = list(df.columns) + [c for c in COUNTERS if c not in df.columns]
    if _fits_driver(df, settings, rows, chars):
        return on_driver(df, settings, columns)
    df = ranked(df, settings.survivor_score)
    if settings.lines is not None:
        from stages.dedup_lines import dedup_lines

        df, stats["lines"] = dedup_lines(df, settings.lines)
        if settings.spans is not None:  # the span stage reads the cut text three times
            df = df.localCheckpoint(eager=True)
    if settings.spans is not None:
        from stages.dedup_spans import dedup_spans

        df, stats["spans"] = dedup_spans(df, settings.spans)
    if settings.site_caps is not None:
        from stages.dedup_sitecaps import site_caps

        df, stats["site_caps"] = site_caps(df, settings.site_caps)
    return df.select(*columns), {**stats, "on": "spark"}


def _fits_driver(df, settings, rows: int | None, chars: int | None) -> bool:
    """At most `subdoc_local_max_docs` rows and `LOCAL_MAX_TEXT_CHARS` characters of text:
    from the caller's figures where it has both, else from one aggregate."""
    from pyspark.sql import functions as F

    limit = settings.subdoc_local_max_docs
    if not limit or (rows is not None and rows > limit) or (chars is not None and chars > LOCAL_MAX_TEXT_CHARS):
        return False
    if rows is not None and chars is not None:
        return True
    got = df.agg(F.count(F.lit(1)).alias("n"), F.sum(F.length("text")).alias("c")).first()
    return got["n"] <= limit and (got["c"] or 0) <= LOCAL_MAX_TEXT_CHARS


def survivor_order(scores: pa.Array, ids: pa.Array) -> np.ndarray:
    """Row indices in `ranked`'s order, as Spark sorts: the highest score first (NaN above
    every number, -0.0 equal to 0.0, nulls last), then the smallest id (UTF-8 bytes, which
    is code point order)."""
    by_id = np.empty(len(ids), np.int64)
    by_id[pc.sort_indices(ids).to_numpy()] = np.arange(len(ids))
    values = pc.fill_null(scores, 0.0).to_numpy(zero_copy_only=False).astype(np.float64)
    kind = np.where(scores.is_null().to_numpy(zero_copy_only=False), 2, np.where(np.isnan(values), 0, 1))
    return np.lexsort((by_id, np.where(kind == 1, -values, 0.0), kind))


def on_driver(df, settings, columns: list[str]) -> tuple[object, dict]:
    """The enabled stages in this process, for a run small enough (`_fits_driver`): the same
    rows and stats as the Spark path, without its two dozen small jobs (most of its time at
    that size). The rows come over as one Arrow table and go back as one."""
    from pyspark.sql import functions as F

    score = settings.survivor_score
    score_col = F.col(score).cast("double") if score and score in df.columns else F.lit(None).cast("double")
    present = [c for c in columns if c in df.columns]
    table = df.select(*present, score_col.alias("_score"), host_column().alias("_host")).toArrow()
    batches = table.combine_chunks().to_batches()
    batch = batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)
    ranks = np.empty(batch.num_rows, np.int64)
    ranks[survivor_order(batch.column("_score"), batch.column("id"))] = np.arange(batch.num_rows)
    extra = {"_rank": pa.array(ranks)}
    extra.update({c: pa.array(np.zeros(batch.num_rows, np.int64)) for c in COUNTERS if c not in present})
    for name, values in extra.items():
        batch = batch.append_column(name, values)
    stats: dict = {}
    if settings.lines is not None:
        from stages.dedup_lines import lines_on_driver

        batch, stats["lines"] = lines_on_driver(batch, settings.lines)
    if settings.spans is not None:
        from stages.dedup_spans import spans_on_driver

        batch, stats["spans"] = spans_on_driver(batch, settings.spans)
    if settings.site_caps is not None:
        from stages.dedup_sitecaps import site_caps_on_driver

        batch, stats["site_caps"] = site_caps_on_driver(batch, settings.site_caps)
    out = pa.Table.from_batches([batch]).select(columns)
    return df.sparkSession.createDataFrame(out, _schema_of(df, columns)), {**stats, "on": "driver"}


def _schema_of(df, columns: list[str]):
    """`df`'s Spark schema for `columns`, the counters (long, never null, as `ranked` adds them)
    where `df` lacks them."""
    from pyspark.sql.types import LongType, StructField, StructType

    have = {f.name: f for f in df.schema.fields}
    return StructType([have.get(c) or StructField(c, LongType(), False) for c in columns])


MIN_PART = 1000
"""`doc_slices`' smallest slice, in documents."""


def doc_slices(n: int) -> list[slice]:
    """Consecutive slices of n documents for `in_threads`: four per driver core (at most 16),
    none under `MIN_PART` documents, so that one thread's Python steps (case folding, which
    holds the GIL) overlap another's Arrow and numpy steps."""
    parts = max(1, min(4 * _cores(), n // MIN_PART))
    cuts = [n * k // parts for k in range(parts + 1)]
    return [slice(a, b) for a, b in zip(cuts, cuts[1:])]


def _cores() -> int:
    import os

    return min(4, os.cpu_count() or 1)


def in_threads(fn, parts: list) -> list:
    """[fn(part) for part in parts], in one thread per driver core: the per-document work is
    mostly Arrow kernels and numpy, which release the GIL. Results keep their order."""
    if len(parts) < 2 or _cores() < 2:
        return [fn(p) for p in parts]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(len(parts), _cores())) as pool:
        return list(pool.map(fn, parts))


_WORKING = ("_rank", "text", "kind", "_host", "drop_reason", *COUNTERS)
"""The columns the driver path's stages read or change."""


def kept_rows(batch: pa.RecordBatch) -> tuple[np.ndarray, pa.RecordBatch]:
    """(indices, working columns of those rows) of the rows not dropped yet."""
    rows = np.flatnonzero(batch.column("drop_reason").is_null().to_numpy(zero_copy_only=False))
    return rows, batch.select([c for c in _WORKING if c in batch.schema.names]).take(pa.array(rows, pa.int64()))


def placed(column: pa.Array, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """`column` with `values` at `rows` (one take over both, no Python list)."""
    at = np.arange(len(column))
    at[rows] = len(column) + np.arange(len(rows))
    return pa.concat_arrays([column, values.cast(column.type)]).take(pa.array(at))


def with_placed(batch: pa.RecordBatch, new: dict[str, tuple[np.ndarray, pa.Array]]) -> pa.RecordBatch:
    """`batch` (its own schema, less `_cut`) with `new[name] = (rows, values)` placed in its columns."""
    cols = [i for i, name in enumerate(batch.schema.names) if name != CUT_COL]
    return pa.RecordBatch.from_arrays(
        [placed(batch.column(i), *new[batch.schema.names[i]]) if batch.schema.names[i] in new else batch.column(i)
         for i in cols], schema=pa.schema([batch.schema.field(i) for i in cols], metadata=batch.schema.metadata))


def scatter(batch: pa.RecordBatch, rows: np.ndarray, sub: pa.RecordBatch) -> pa.RecordBatch:
    """`batch` with the rows at `rows` replaced by `sub`'s text, drop reason and counters."""
    return with_placed(batch, {c: (rows, sub.column(c)) for c in ("text", "drop_reason", *COUNTERS)
                               if c in sub.schema.names})
