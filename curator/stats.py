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


def record_tally(df, n_tasks: int) -> dict[str, Any]:
    """Records each extract task took from its input (counted as read, curator/tally.py)
    against the rows that carry a record number: every number 0..read-1 exactly once."""
    from pyspark.sql import functions as F

    m = F.col("meta")
    rec = m["record"].cast("long")
    where = F.coalesce(m["warc_file"], m["archive"], m["dataset"], m["repo_dir"], m["repo"], F.lit("?"))
    per_task = (
        df.groupBy(m["task"].alias("task"))
        .agg(
            F.max(m["task_records"].cast("long")).alias("read"),
            F.count(rec).alias("rows"),
            F.countDistinct(rec).alias("distinct"),
            F.min(rec).alias("lo"),
            F.max(rec).alias("hi"),
            F.first(where, ignorenulls=True).alias("file"),
        )
        .collect()
    )
    out = {"tasks": n_tasks, "tasks_with_rows": 0, "records_read": 0, "record_rows": 0,
           "lost_records": 0, "duplicate_rows": 0, "problems": []}
    for r in sorted(per_task, key=lambda r: int(r["task"]) if r["task"] is not None else -1):
        read = r["read"] or 0
        out["tasks_with_rows"] += 1
        out["records_read"] += read
        out["record_rows"] += r["rows"]
        lost = read - r["distinct"]
        dup = r["rows"] - r["distinct"]
        bad_range = r["rows"] and (r["lo"] < 0 or r["hi"] >= read)
        out["lost_records"] += max(lost, 0)
        out["duplicate_rows"] += dup
        if r["task"] is None or lost or dup or bad_range:
            out["problems"].append({"task": r["task"], "file": r["file"], "read": read, "rows": r["rows"],
                                    "distinct": r["distinct"]})
    return out


def check_records(tally: dict[str, Any]) -> None:
    """Every record an extract task read has exactly one row, or the run stops."""
    if tally["problems"]:
        p = tally["problems"][0]
        raise AccountingError(
            f"phase extract: {len(tally['problems'])} task(s) lost or duplicated records "
            f"({tally['lost_records']} lost, {tally['duplicate_rows']} duplicated); first: {p['file']} "
            f"read {p['read']} records but wrote {p['distinct']} distinct record rows ({p['rows']} rows)"
        )


def licenses(df) -> dict[str, dict[str, int]] | None:
    """Code files per licence (SPDX expression in meta["license"], stages/licenses.py): kept
    by the extract phase and dropped there (by the allow-list or any other rule); None when
    the phase read no code."""
    from pyspark.sql import functions as F

    lic = F.col("meta")["license"]
    rows = (df.where(lic.isNotNull()).groupBy(lic.alias("license"))
            .agg(F.sum(F.col("drop_reason").isNull().cast("long")).alias("kept"),
                 F.sum(F.col("drop_reason").isNotNull().cast("long")).alias("dropped"))
            .collect())
    if not rows:
        return None
    return {r["license"]: {"kept": int(r["kept"]), "dropped": int(r["dropped"])}
            for r in sorted(rows, key=lambda r: (-(r["kept"] + r["dropped"]), r["license"]))}
