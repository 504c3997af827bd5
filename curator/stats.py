"""Per-phase counters: docs in, kept, dropped per reason, per domain; and the accounting check.

Every phase's output holds one row per document that entered it, kept (`drop_reason` null)
or not, so the funnel is one `groupBy(domain, drop_reason)` and `in == kept + dropped`
holds unless a phase lost or invented rows, which fails the run.
"""

from __future__ import annotations

from typing import Any

from curator.errors import AccountingError


def funnel_and_samples(df, docs_in: dict[str, int] | None = None, phase: str = "",
                       samples: int = 0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(counters of a phase output, its rejected samples): the `samples` dropped rows of
    smallest id of every drop reason (all columns but `input_ids`, `meta` last), picked in
    the same aggregate as the counters (bottom-k per domain and reason, merged here), so a
    phase's statistics cost one pass over what it wrote instead of a count and a window."""
    from pyspark.sql import functions as F

    chars = F.length("text") if "text" in df.columns else F.col("n_chars")  # tokenized on: a count
    aggs = [F.count(F.lit(1)).alias("docs"), F.sum(chars).alias("chars")]
    has_tokens = "n_tokens" in df.columns
    if has_tokens:
        aggs.append(F.sum("n_tokens").alias("tokens"))
    if samples:
        cols = [c for c in df.columns if c not in ("input_ids", "meta")] + ["meta"]
        dropped_id = F.when(F.col("drop_reason").isNotNull(), F.col("id"))  # kept rows: null, skipped
        aggs.append(F.min_by(F.struct(*cols), dropped_id, samples).alias("samples"))
    rows = df.groupBy("domain", "drop_reason").agg(*aggs).collect()

    domains: dict[str, dict[str, Any]] = {}
    picked: dict[str, list[dict[str, Any]]] = {}
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
            if samples:
                picked.setdefault(r["drop_reason"], []).extend(x.asDict() for x in r["samples"] or ())
    stats = summarise(domains)
    if docs_in is not None:
        check_accounting(phase, docs_in, domains)
    chosen = [x for reason in sorted(picked) for x in sorted(picked[reason], key=lambda x: x["id"] or "")[:samples]]
    return stats, chosen


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


_EXTRACT_SETS = {"tasks": ("task",), "skipped": ("task", "skipped"), "problems": ("file", "problem"),
                 "licenses": ("license",)}
_EXTRACT_KEYS = ("task", "skipped", "file", "problem", "license")


def extract_tallies(df, n_tasks: int) -> dict[str, Any]:
    """The extract phase's own counters, from one aggregate over its written rows (grouping
    sets: one scan for all of them): `records` (record_tally), `cascade` (stages/precheck.py),
    `problems_by_file` (stages/inputs.py) and
    `licenses`. The groups are per task, per task and early rule, per problem file and reason,
    and per licence: none per document."""
    from pyspark.sql import functions as F

    from stages.inputs import PROBLEM_REASONS, problems_from_counts
    from stages.precheck import summarise as cascade_summary

    def col(name: str):  # a frame holding only some of the columns counts as if the rest were null
        return F.col(name) if name in df.columns else F.lit(None).cast("string")

    m = F.col("meta")
    reason = col("drop_reason")
    problem = reason.isin(list(PROBLEM_REASONS))
    keyed = df.select(
        m["task"].alias("task"),
        F.when(m["skipped_extraction"].isNotNull(), reason).alias("skipped"),
        F.when(problem, F.coalesce(m["warc_file"], m["archive"], m["dataset"], m["repo_dir"], col("url"),
                                   F.lit("?"))).alias("file"),
        F.when(problem, reason).alias("problem"),
        m["license"].alias("license"),
        m["record"].cast("long").alias("rec"),
        m["task_records"].cast("long").alias("read"),
        F.coalesce(m["warc_file"], m["archive"], m["dataset"], m["repo_dir"], m["repo"], F.lit("?")).alias("where"),
        m["extract_ms"].cast("double").alias("extract_ms"),
        m["precheck_ms"].cast("double").alias("precheck_ms"),
        reason.isNull().cast("long").alias("kept"),
    )
    rows = (
        keyed.groupingSets([list(v) for v in _EXTRACT_SETS.values()], *_EXTRACT_KEYS)
        .agg(
            F.grouping_id().alias("gid"), F.count(F.lit(1)).alias("n"), F.sum("kept").alias("kept"),
            F.max("read").alias("read"), F.count("rec").alias("rows"), F.countDistinct("rec").alias("distinct"),
            F.min("rec").alias("lo"), F.max("rec").alias("hi"), F.first("where", ignorenulls=True).alias("where"),
            F.avg("extract_ms").alias("mean_ms"), F.count("extract_ms").alias("extracted"),
            F.sum("precheck_ms").alias("precheck_ms"), F.count("precheck_ms").alias("prechecked"),
        )
        .collect()
    )
    by_set: dict[str, list] = {name: [] for name in _EXTRACT_SETS}
    gids = {sum(1 << (len(_EXTRACT_KEYS) - 1 - i) for i, k in enumerate(_EXTRACT_KEYS) if k not in keys): name
            for name, keys in _EXTRACT_SETS.items()}
    for r in rows:
        by_set[gids[r["gid"]]].append(r)
    tasks = by_set["tasks"]
    saved = [(r["task"], r["skipped"], r["n"]) for r in by_set["skipped"] if r["skipped"] is not None]
    cascade = cascade_summary(saved, {r["task"]: (r["mean_ms"], r["extracted"], r["precheck_ms"] or 0.0,
                                                  r["prechecked"]) for r in tasks})
    problems = [(r["file"], r["problem"], r["n"]) for r in by_set["problems"] if r["problem"] is not None]
    return {
        "records": _record_tally(tasks, n_tasks),
        "cascade": cascade,
        "problems_by_file": problems_from_counts(problems),
        "licenses": _licenses([r for r in by_set["licenses"] if r["license"] is not None]),
    }


def record_tally(df, n_tasks: int) -> dict[str, Any]:
    """Records each extract task took from its input (counted as read, curator/tally.py)
    against the rows that carry a record number: every number 0..read-1 exactly once."""
    return extract_tallies(df, n_tasks)["records"]


def _record_tally(per_task: list, n_tasks: int) -> dict[str, Any]:
    """`record_tally` from the per-task groups of `extract_tallies`."""
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
            out["problems"].append({"task": r["task"], "file": r["where"], "read": read, "rows": r["rows"],
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


def _licenses(rows: list) -> dict[str, dict[str, int]] | None:
    """Code files per licence (SPDX expression in meta["license"], stages/licenses.py): kept
    by the extract phase and dropped there (by the allow-list or any other rule), from the
    licence groups of `extract_tallies`; None when the phase read no code."""
    if not rows:
        return None
    counts = [(r["license"], int(r["kept"]), int(r["n"] - r["kept"])) for r in rows]
    return {lic: {"kept": kept, "dropped": dropped}
            for lic, kept, dropped in sorted(counts, key=lambda c: (-(c[1] + c[2]), c[0]))}
