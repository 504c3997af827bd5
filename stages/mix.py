"""Mixture by weight: target tokens per domain, then deterministic per-document sampling.

Each domain gets `weight * budget` tokens. A document is kept `floor(rate)` times, plus once
more when its hash `u` (of seed and id, uniform in [0, 1)) falls below the domain's
threshold. The threshold is not simply the fractional part of `rate`: it is calibrated on
the data (a token histogram over `u`, then the one boundary bucket in order) so that the
extra copies add up to the fractional target to within one document. The same manifest
always picks the same documents, and every domain lands on its target, not only near it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from curator.errors import ManifestError

HASH_BITS = 53
HIST_BUCKETS = 1 << 16  # histogram resolution of the threshold search


@dataclass(frozen=True)
class DomainPlan:
    domain: str
    weight: float
    available_tokens: int
    target_tokens: int
    rate: float  # expected copies of each document (epochs)
    max_epochs: float = math.inf

    @property
    def over_cap(self) -> bool:
        return self.rate > self.max_epochs + 1e-9

    @property
    def extra_tokens(self) -> int:
        """Tokens to take from the one partial pass after `floor(rate)` whole epochs."""
        return max(0, self.target_tokens - math.floor(self.rate) * self.available_tokens)


def compute_plan(
    available: dict[str, int], weights: dict[str, float], budget: int | None, max_epochs: float
) -> dict[str, DomainPlan]:
    """Targets and epochs per domain, without judging them (see `DomainPlan.over_cap`)."""
    total_w = sum(weights.values())
    if total_w <= 0:
        raise ManifestError("mixture weights sum to 0; at least one must be > 0")
    norm = {d: w / total_w for d, w in weights.items()}
    for d, w in norm.items():
        if w > 0 and available.get(d, 0) <= 0:
            raise ManifestError(
                f"mixture.weights.{d}: weight {weights[d]} but the domain has no tokens "
                f"left after filtering; give it weight 0 or loosen its filters"
            )
    if budget is None:  # use the scarcest domain exactly once
        budget = min(available[d] / w for d, w in norm.items() if w > 0)
    out = {}
    for d, w in sorted(norm.items()):
        avail = available.get(d, 0)
        target = int(round(w * budget))
        rate = target / avail if avail else 0.0
        out[d] = DomainPlan(d, w, avail, target, rate, max_epochs)
    return out


def plan(available: dict[str, int], settings) -> dict[str, DomainPlan]:
    """Target tokens and sampling rate per domain for the settings' strategy; raises when a
    weight cannot be met."""
    from curator.mix_strategies import plan_budget, settings_weights

    weights = settings_weights(settings, available)
    out = compute_plan(available, weights, plan_budget(settings, available), settings.max_epochs)
    for d, p in out.items():
        if p.over_cap:
            raise ManifestError(
                f"mixture: domain {d!r} needs {p.rate:.2f} epochs ({p.target_tokens:,} of "
                f"{p.available_tokens:,} tokens) but mixture.max_epochs is {settings.max_epochs}; "
                f"lower its weight or the budget"
            )
    return out


def rehydration_copies(df, table: dict[int, int] | None):
    """`df` with `rehydration` (copies of each document in its domain's pool, 1 without a
    table): the table's value for the largest size key at or below the document's duplicate
    cluster size (the larger of the exact and MinHash sizes dedup recorded; 1 when absent)."""
    from pyspark.sql import functions as F

    if not table:
        return df.withColumn("rehydration", F.lit(1))
    sizes = [F.lit(1)] + [F.coalesce(F.col(c).cast("long"), F.lit(1))
                          for c in ("dup_cluster_size", "minhash_cluster_size") if c in df.columns]
    size = F.greatest(*sizes) if len(sizes) > 1 else sizes[0]
    copies = F.lit(1)
    for key in sorted(table):  # later (larger) keys override earlier ones
        copies = F.when(size >= key, F.lit(int(table[key]))).otherwise(copies)
    return df.withColumn("rehydration", copies.cast("int"))


def _weight(df):
    """Copies of each document in the pool: `rehydration` when present, else 1."""
    from pyspark.sql import functions as F

    return F.col("rehydration") if "rehydration" in df.columns else F.lit(1)


def _unit_hash(seed: int):
    """Column in [0, 1): the document's position in the seeded sampling order."""
    from pyspark.sql import functions as F

    mask = (1 << HASH_BITS) - 1
    return F.xxhash64(F.lit(seed), F.col("id")).bitwiseAND(F.lit(mask)).cast("double") / float(1 << HASH_BITS)


def pick_threshold(rows: list[tuple[float, str, int]], before: int, goal: int, upper: float) -> float:
    """Threshold `t` such that documents with `u < t`, added in `u` order to `before` tokens,
    come closest to `goal`. `rows` are the (u, id, tokens) of one histogram bucket."""
    total = before
    for u, _, n in sorted(rows):
        if abs(total + n - goal) >= abs(total - goal):
            return u
        total += n
    return upper


def calibrate_thresholds(df, plans: dict[str, DomainPlan], seed: int) -> dict[str, float]:
    """Per domain, the hash threshold under which the extra copies hit `extra_tokens`.

    Two small passes over (domain, id, n_tokens): a token histogram over `HIST_BUCKETS`
    hash buckets (collected to the driver), then the rows of each domain's boundary bucket.
    """
    from pyspark.sql import functions as F

    need = {d: p.extra_tokens for d, p in plans.items() if p.rate > 0 and p.extra_tokens > 0}
    out = {d: 0.0 for d in plans}
    if not need:
        return out
    base = (
        df.where(F.col("domain").isin(list(need)))
        .select("domain", "id", (F.col("n_tokens") * _weight(df)).alias("n_tokens"), _unit_hash(seed).alias("u"))
        .withColumn("bucket", F.floor(F.col("u") * HIST_BUCKETS).cast("int"))
    )
    hist: dict[str, list[tuple[int, int]]] = {}
    for r in base.groupBy("domain", "bucket").agg(F.sum("n_tokens").alias("t")).collect():
        hist.setdefault(r["domain"], []).append((r["bucket"], r["t"]))
    boundary: dict[str, tuple[int, int]] = {}  # domain -> (bucket, tokens before it)
    for d, goal in need.items():
        total = 0
        for b, t in sorted(hist.get(d, [])):
            if total + t >= goal:
                boundary[d] = (b, total)
                break
            total += t
        else:
            out[d] = 1.0  # the domain is smaller than its fractional target: take it all
    if boundary:
        cond = None
        for d, (b, _) in boundary.items():
            c = (F.col("domain") == d) & (F.col("bucket") == b)
            cond = c if cond is None else cond | c
        rows: dict[str, list] = {}
        for r in base.where(cond).select("domain", "u", "id", "n_tokens").collect():
            rows.setdefault(r["domain"], []).append((r["u"], r["id"], r["n_tokens"]))
        for d, (b, before) in boundary.items():
            out[d] = pick_threshold(rows.get(d, []), before, need[d], (b + 1) / HIST_BUCKETS)
    return out


def apply_mixture(df, plans: dict[str, DomainPlan], seed: int, thresholds: dict[str, float] | None = None):
    """`df` with `repeats` (copies in the output); documents sampled out are marked. With a
    `rehydration` column each document stands for that many in its domain's pool (and
    `calibrate_thresholds` weighs its tokens by it): all its copies are taken or none.

    Without `thresholds` the extra copy falls below the fractional part of the rate
    (near target on large inputs); with calibrated thresholds it lands on target.
    """
    from pyspark.sql import functions as F

    def lookup(values: dict[str, float]):
        m = F.create_map(*[x for d, v in values.items() for x in (F.lit(d), F.lit(float(v)))])
        return F.coalesce(F.element_at(m, F.col("domain")), F.lit(0.0))

    rate = lookup({p.domain: p.rate for p in plans.values()})
    whole = F.floor(rate)
    if thresholds is None:
        threshold = rate - whole
    else:
        threshold = lookup({d: thresholds.get(d, 0.0) for d in plans})
    repeats = ((whole + F.when(_unit_hash(seed) < threshold, 1).otherwise(0)) * _weight(df)).cast("int")
    df = df.withColumn("repeats", repeats)
    reason = F.when(rate == 0, F.lit("mix.weight_zero")).when(F.col("repeats") == 0, F.lit("mix.downsampled"))
    return df.withColumn("drop_reason", reason)


def plan_table(plans: dict[str, DomainPlan]) -> dict[str, dict]:
    return {
        d: {
            "weight": round(p.weight, 6),
            "available_tokens": p.available_tokens,
            "target_tokens": p.target_tokens,
            "epochs": round(p.rate, 4),
        }
        for d, p in plans.items()
    }


def shard_count(total_tokens: int, tokens_per_shard: int) -> int:
    return max(1, math.ceil(total_tokens / tokens_per_shard))
