"""Hierarchical domains: a domain split into groups by a column the run already has.

`mixture.groups: {web: {by: lang, weights: {en: 0.7, de: 0.3}}}` mixes `web/en` and `web/de`
as if they were domains of their own, with `web`'s weight shared 0.7 : 0.3 between them; a
numeric column is cut into bins first (`by: quality_score, bins: [0.3, 0.6]` gives `q1` below
0.3, `q2`, `q3` from 0.6). Groups a domain's weights do not name get weight 0 (their documents
are dropped as `mix.weight_zero`), so what is mixed is always written down.

The mix phase samples on the group (`mix_group`) with the same code as for domains, then puts
the domain back: every per-domain count between phases stays as it was, and the plan of each
domain is the sum of its groups' (stats["groups"] holds the groups').
"""

from __future__ import annotations

from typing import Any

GROUP_COLUMN = "mix_group"


def flat_weights(weights: dict[str, float], groups: dict[str, Any]) -> dict[str, float]:
    """Domain weights with each grouped domain replaced by `<domain>/<group>` weights that sum
    to the domain's (normalised inside the domain)."""
    out: dict[str, float] = {}
    for d, w in weights.items():
        g = groups.get(d)
        if g is None:
            out[d] = w
            continue
        total = sum(g.weights.values())
        for label, gw in g.weights.items():
            out[f"{d}/{label}"] = w * gw / total if total > 0 else 0.0
    return out


def group_expr(groups: dict[str, Any]):
    """The Spark column `<domain>/<group>` for grouped domains, the domain for the others."""
    from pyspark.sql import functions as F

    expr = F.col("domain")
    for d, g in sorted(groups.items(), reverse=True):
        col = F.col(g.by)
        if g.bins:
            label = F.lit(f"q{len(g.bins) + 1}")
            for i, edge in reversed(list(enumerate(g.bins))):
                label = F.when(col < F.lit(float(edge)), F.lit(f"q{i + 1}")).otherwise(label)
            label = F.when(col.isNull(), F.lit("-")).otherwise(label)
        else:
            label = F.coalesce(col.cast("string"), F.lit("-"))
        expr = F.when(F.col("domain") == d, F.concat(F.lit(f"{d}/"), label)).otherwise(expr)
    return expr


def regroup(df, groups: dict[str, Any]):
    """`df` with the group in `domain` (the domain kept in `_mix_domain`) for sampling."""
    from pyspark.sql import functions as F

    return df.withColumn("_mix_domain", F.col("domain")).withColumn("domain", group_expr(groups))


def ungroup(df):
    """The domain back in `domain`, the group in `mix_group`."""
    from pyspark.sql import functions as F

    return (df.withColumn(GROUP_COLUMN, F.col("domain")).withColumn("domain", F.col("_mix_domain"))
            .drop("_mix_domain"))


def domain_plan(group_plan: dict[str, dict]) -> dict[str, dict]:
    """Per-domain rows of a plan table whose keys are groups (`web/en`) or domains."""
    out: dict[str, dict] = {}
    for key, p in group_plan.items():
        d = key.split("/", 1)[0]
        row = out.setdefault(d, {"weight": 0.0, "available_tokens": 0, "target_tokens": 0})
        row["weight"] = round(row["weight"] + p["weight"], 6)
        row["available_tokens"] += p["available_tokens"]
        row["target_tokens"] += p["target_tokens"]
    for row in out.values():
        row["epochs"] = round(row["target_tokens"] / row["available_tokens"], 4) if row["available_tokens"] else 0.0
    return out
