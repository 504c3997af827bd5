"""Mixture by weight: target tokens per domain, then deterministic per-document sampling.

Each domain gets `weight * budget` tokens. A document is kept `floor(rate)` times plus once
more when its hash (of seed and id) falls below the fractional part of `rate`, so the same
manifest always picks the same documents, and large domains land close to their target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from curator.errors import ManifestError

HASH_BITS = 53


@dataclass(frozen=True)
class DomainPlan:
    domain: str
    weight: float
    available_tokens: int
    target_tokens: int
    rate: float  # expected copies of each document (epochs)


def plan(available: dict[str, int], settings) -> dict[str, DomainPlan]:
    """Target tokens and sampling rate per domain; raises when a weight cannot be met."""
    total_w = sum(settings.weights.values())
    weights = {d: w / total_w for d, w in settings.weights.items()}
    for d, w in weights.items():
        if w > 0 and available.get(d, 0) <= 0:
            raise ManifestError(
                f"mixture.weights.{d}: weight {settings.weights[d]} but the domain has no tokens "
                f"left after filtering; give it weight 0 or loosen its filters"
            )
    budget = settings.budget_tokens
    if budget is None:  # use the scarcest domain exactly once
        budget = min(available[d] / w for d, w in weights.items() if w > 0)
    out = {}
    for d, w in sorted(weights.items()):
        avail = available.get(d, 0)
        target = int(round(w * budget))
        rate = target / avail if avail else 0.0
        if rate > settings.max_epochs + 1e-9:
            raise ManifestError(
                f"mixture: domain {d!r} needs {rate:.2f} epochs ({target:,} of {avail:,} tokens) "
                f"but mixture.max_epochs is {settings.max_epochs}; lower its weight or the budget"
            )
        out[d] = DomainPlan(d, w, avail, target, rate)
    return out


def apply_mixture(df, plans: dict[str, DomainPlan], seed: int):
    """`df` with `repeats` (copies in the output); documents sampled out are marked."""
    from pyspark.sql import functions as F

    rates = F.create_map(*[x for p in plans.values() for x in (F.lit(p.domain), F.lit(float(p.rate)))])
    rate = F.coalesce(F.element_at(rates, F.col("domain")), F.lit(0.0))
    mask = (1 << HASH_BITS) - 1
    u = F.xxhash64(F.lit(seed), F.col("id")).bitwiseAND(F.lit(mask)).cast("double") / float(1 << HASH_BITS)
    whole = F.floor(rate)
    repeats = (whole + F.when(u < rate - whole, 1).otherwise(0)).cast("int")
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
