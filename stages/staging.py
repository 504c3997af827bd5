"""Staged sequence lengths: one mixed corpus split into shard sets per training stage.

`shards.stages` lists `{seq_len, tokens}` (or `{seq_len, fraction}`), e.g. most of the budget
at 2048, then 4096, then 8192. Every copy the mixture made of a document (its epochs) goes to
exactly one stage, so no document is seen twice across stages unless the mixture repeats
it. Which stage:

* `random` (default): by a seeded hash of (document, copy), so each stage is a uniform
  sample of the mixture holding about its share of tokens;
* `length`: a length curriculum -- documents sorted by length fill the stages from the
  shortest window up, so the longest documents train in the longest stage. Documents of the
  boundary length are split between two stages by the same hash, to meet the shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HASH_RANGE = 1 << 30


@dataclass
class StagePlan:
    """Per stage (manifest order): seq_len, token share, shard count; `boundaries` (length
    curriculum only): per gap between consecutive stages by seq_len, (length, share of the
    documents of exactly that length that stay below)."""

    seq_lens: list[int]
    fractions: list[float]
    n_shards: list[int]
    order: str = "random"
    boundaries: list[tuple[int, float]] = field(default_factory=list)


def fractions(stages) -> list[float]:
    """Token shares of the stages (`tokens` are relative amounts, scaled to the corpus)."""
    raw = [s.fraction if s.fraction is not None else float(s.tokens) for s in stages]
    total = sum(raw)
    return [r / total for r in raw]


def length_boundaries(length_tokens: list[tuple[int, int]], shares_by_len: list[float]) -> list[tuple[int, float]]:
    """Cut points of the length curriculum. `length_tokens`: (document length, tokens of all
    copies of that length); `shares_by_len`: stage shares sorted by seq_len ascending."""
    rows = sorted(length_tokens)
    total = sum(t for _, t in rows)
    out = []
    target, acc, i = 0.0, 0, 0
    for share in shares_by_len[:-1]:
        target += share * total
        while i < len(rows) and acc + rows[i][1] <= target:
            acc += rows[i][1]
            i += 1
        if i == len(rows):
            out.append((rows[-1][0] if rows else 0, 1.0))
            continue
        length, tokens = rows[i]
        out.append((length, (target - acc) / tokens))
    return out


def plan_stages(df, cfg, tokens_out: int, shard_count) -> StagePlan:
    """The plan for `cfg.stages` over the mixed documents `df` (id, n_tokens, repeats)."""
    from pyspark.sql import functions as F

    fr = fractions(cfg.stages)
    seq_lens = [s.seq_len for s in cfg.stages]
    n_shards = [shard_count(int(tokens_out * f), cfg.tokens_per_shard) for f in fr]
    plan = StagePlan(seq_lens, fr, n_shards, cfg.curriculum)
    if cfg.curriculum == "length":
        rows = (df.groupBy("n_tokens").agg(F.sum(F.col("n_tokens") * F.col("repeats")).alias("t")).collect())
        by_len = sorted(range(len(seq_lens)), key=lambda i: seq_lens[i])
        plan.boundaries = length_boundaries([(r["n_tokens"], r["t"]) for r in rows], [fr[i] for i in by_len])
    return plan


def stage_column(plan: StagePlan, seed: int):
    """A Spark column: the stage index (manifest order) of each (id, copy, n_tokens) row."""
    from pyspark.sql import functions as F

    u = F.pmod(F.xxhash64(F.lit(seed), F.lit("stage"), F.col("id"), F.col("copy")), F.lit(HASH_RANGE)) / HASH_RANGE
    if plan.order == "random":
        rank = F.lit(0)
        acc = 0.0
        for f in plan.fractions[:-1]:
            acc += f
            rank = rank + (u >= F.lit(acc)).cast("int")
        return rank
    by_len = sorted(range(len(plan.seq_lens)), key=lambda i: plan.seq_lens[i])
    rank = F.lit(0)
    n = F.col("n_tokens")
    for length, below in plan.boundaries:
        rank = rank + ((n > F.lit(length)) | ((n == F.lit(length)) & (u >= F.lit(below)))).cast("int")
    # rank counts stages by seq_len; map back to the manifest's order
    return F.element_at(F.array(*[F.lit(i) for i in by_len]), rank + 1)
