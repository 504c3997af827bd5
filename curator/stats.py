"""Per-phase counters: docs in, kept, dropped per reason, per domain; and the accounting check.

Every phase's output holds one row per document that entered it, kept (`drop_reason` null)
or not, so the funnel is one `groupBy(domain, drop_reason)` and `in == kept + dropped`
holds unless a phase lost or invented rows, which fails the run.
"""

from __future__ import annotations

from typing import Any

from curator.errors import AccountingError


def funnel(df, docs_in: dict[str, int] | None = None, phase: str = "") -> dict[str, Any]:
    """Counters of a phase output; `docs_in` (per domain) is what the previous phase kept."""
    from pyspark.sql import functions as F

    chars = F.length("text") if "text" in df.columns else F.col("n_chars")  # tokenized on: a count
    aggs = [F.count(F.lit(1)).alias("docs"), F.sum(chars).alias("chars")]
    has_tokens = "n_tokens" in df.columns
    if has_tokens:
        aggs.append(F.sum("n_tokens").alias("tokens"))
    rows = df.groupBy("domain", "drop_reason").agg(*aggs).collect()

    domains: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r["domain"] or "", r["drop_reason"] or "")):
        d = domains.setdefault(
            r["domain"], {"docs_in": 0, "kept": 0, "dropped": {}, "chars_kept": 0}
        )
        d["docs_in"] += r["docs"]
        if r["drop_reason"] is None:
            d["kept"] += r["docs"]
            d["chars_kept"] += r["chars"] or 0
            if has_tokens:
                d["tokens_kept"] = r["tokens"] or 0
        else:
            d["dropped"][r["drop_reason"]] = r["docs"]
            if has_tokens:
                d.setdefault("tokens_dropped", {})[r["drop_reason"]] = r["tokens"] or 0
    stats = summarise(domains)
    if docs_in is not None:
        check_accounting(phase, docs_in, domains)
    return stats


def summarise(domains: dict[str, dict[str, Any]]) -> dict[str, Any]:
    dropped: dict[str, int] = {}
    for d in domains.values():
        for reason, n in d["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + n
    out = {
        "docs_in": sum(d["docs_in"] for d in domains.values()),
        "kept": sum(d["kept"] for d in domains.values()),
        "dropped": dict(sorted(dropped.items())),
        "domains": domains,
    }
    if any("tokens_kept" in d for d in domains.values()):
        out["tokens_kept"] = sum(d.get("tokens_kept", 0) for d in domains.values())
    return out


def kept_by_domain(stats: dict[str, Any]) -> dict[str, int]:
    return {name: d["kept"] for name, d in stats["domains"].items()}


def check_accounting(phase: str, docs_in: dict[str, int], domains: dict[str, dict[str, Any]]) -> None:
    """in == kept + sum(dropped) for every domain, against what the previous phase kept."""
    for name in sorted(set(docs_in) | set(domains)):
        expected = docs_in.get(name, 0)
        d = domains.get(name, {"kept": 0, "dropped": {}})
        seen = d["kept"] + sum(d["dropped"].values())
        if expected != seen:
            raise AccountingError(
                f"phase {phase}: domain {name!r} had {expected} documents in but "
                f"{d['kept']} kept + {seen - d['kept']} dropped = {seen} out"
            )
