"""What a run directory says about itself: funnel, drop reasons, scores, mixture, shards.

Read from `stats/*.json` (the ledger each phase wrote) and, for what the ledger does not
hold (languages, score distributions), from the phases' parquet with pyarrow, one batch of
a few projected columns at a time, so it works on a run too big to load and needs no Spark.
`curator stats`, `curator diff` and `report.html` all read a run through this module.

A run directory may hold anything (it was copied, edited, or written by someone else), so its
JSON files are read with a size cap (`read_json`) and its manifest.lock.yaml through the
manifest's bounded YAML reader (`read_lock`): a 500-byte alias bomb cannot hang `curator diff`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from curator.errors import ManifestError
from curator.rundir import PHASE_DIRS, read_bounded
from curator.terminal import redact_all, redact_urls, shown

SCORED_DIRS = ("annotated", "deduped")
"""Phases whose numeric columns are scores worth a histogram (later phases only add counts)."""
NOT_SCORES = {"n_tokens", "repeats", "dup_cluster_size", "lines_removed_boilerplate", "spans_removed", "chars_removed"}
NOT_SCORE_SUFFIXES = ("_id", "_ids", "_hash", "_cluster_size", "_seed")
NO_LANG = "-"
BINS = 40
STREAM = {"batch_size": 65_536, "batch_readahead": 2, "fragment_readahead": 1}
"""Read a phase a few batches at a time: memory stays flat however big the run is."""


def check_run_dir(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    if not (run_dir / "stats").is_dir():
        raise ManifestError(
            f"{run_dir}: not a run directory (no stats/ folder); give the folder `curator run` "
            f"printed, e.g. runs/<run>"
        )
    return run_dir


def load_phase_stats(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """phase -> the stats it wrote to stats/<dir>.json, in pipeline order (missing ones left out)."""
    out = {}
    for phase, name in PHASE_DIRS.items():
        p = Path(run_dir) / "stats" / f"{name}.json"
        if p.is_file():
            out[phase] = read_json(p)
    return out


def read_json(path: Path) -> Any:
    """A JSON file of the run directory, read with a size cap; one-line ManifestError when it
    is too large or not JSON."""
    try:
        return json.loads(read_bounded(path))
    except ValueError as e:
        raise ManifestError(f"{shown(path)}: not valid JSON ({e}); re-run the phase to rewrite it") from None


MAX_LOCK_YAML_BYTES = 4 << 20
"""manifest.lock.yaml is the manifest (at most 1 MiB) with its defaults filled in."""


def read_lock(run_dir: str | Path) -> dict[str, Any]:
    """The run's manifest.lock.yaml as data ({} when there is none), read with a size cap and
    the manifest's bounded YAML loader (aliases, nesting); one-line ManifestError otherwise."""
    from curator.manifest import MAX_YAML_NODES, load_yaml

    lock = Path(run_dir) / "manifest.lock.yaml"
    if not lock.is_file():
        return {}
    raw = read_bounded(lock, MAX_LOCK_YAML_BYTES)
    data = load_yaml(raw.decode("utf-8", "replace"), lock, max_nodes=4 * MAX_YAML_NODES)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ManifestError(f"{shown(lock)}: not the resolved manifest curator writes (not a mapping)")
    return data


def lock_stages(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, settings) of each well-formed stage entry of a lock file's `stages`."""
    items = data.get("stages")
    return [next(iter(item.items())) for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and len(item) == 1]


def _phase_dataset(run_dir: Path, phase_dir: str) -> ds.Dataset | None:
    path = run_dir / phase_dir
    if phase_dir == "shards" or not path.is_dir() or not any(path.glob("*.parquet")):
        return None
    return ds.dataset(str(path), format="parquet")


def add_text(run_dir: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows read from a phase written without `text` (tokenize on), with the text the dedup
    phase holds for their ids; rows that have a `text` are left as they are."""
    need = [r["id"] for r in rows if "text" not in r]
    dataset = _phase_dataset(Path(run_dir), PHASE_DIRS["dedup"]) if need else None
    if dataset is None:
        return rows
    found = dataset.to_table(columns=["id", "text"], filter=pc.field("id").isin(need)).to_pylist()
    texts = {r["id"]: r["text"] for r in found}
    for r in rows:
        r.setdefault("text", texts.get(r["id"]))
    return rows


# -- the funnel ------------------------------------------------------------------------------

def funnel(stats: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per phase and domain: docs in/kept/dropped (per reason), tokens where known."""
    rows = []
    for phase, s in stats.items():
        for domain, d in sorted(s.get("domains", {}).items()):
            row = {
                "phase": phase,
                "domain": domain,
                "docs_in": d["docs_in"],
                "kept": d["kept"],
                "dropped": sum(d["dropped"].values()),
                "reasons": dict(sorted(d["dropped"].items(), key=lambda kv: (-kv[1], kv[0]))),
            }
            if "tokens_kept" in d:
                dropped_tokens = d.get("tokens_dropped", {})
                row["tokens_kept"] = d["tokens_kept"]
                row["tokens_dropped"] = sum(dropped_tokens.values())
                row["tokens_in"] = row["tokens_kept"] + row["tokens_dropped"]
            if phase == "mix":
                real = s.get("realised", {}).get(domain, {})
                row["tokens_out"] = real.get("tokens", 0)
                row["docs_out"] = real.get("documents", 0)
            rows.append(row)
    return rows


def accounting_problems(stats: dict[str, dict[str, Any]]) -> list[str]:
    """Every place where documents do not add up: in != kept + dropped inside a phase, or a
    phase's input differs from what the phase before it kept; shards vs the mixture."""
    problems = []
    previous: dict[str, Any] | None = None
    prev_name = ""
    for phase, s in stats.items():
        if phase == "shards":
            mix = stats.get("mix", {})
            gone = s.get("taken_down", {})  # curator takedown: removed from the shards on purpose
            gone_t, gone_d = gone.get("tokens", 0), gone.get("documents", 0)
            if s.get("stages"):  # each copy in one stage: the stages together hold the mixture
                t = sum(sl["tokens"] for sl in s.get("seq_lens", {}).values()) + gone_t
                d = sum(sl["documents"] for sl in s.get("seq_lens", {}).values()) + gone_d
                if mix and (t, d) != (mix.get("tokens_out"), mix.get("documents_out")):
                    problems.append(f"shards stages: {t} tokens of {d} documents, mixture gave "
                                    f"{mix.get('tokens_out')} tokens of {mix.get('documents_out')} documents")
                continue
            for n, sl in s.get("seq_lens", {}).items():
                if mix and (sl["tokens"] + gone_t, sl["documents"] + gone_d) != (mix.get("tokens_out"), mix.get("documents_out")):
                    problems.append(
                        f"shards seq_len {n}: {sl['tokens']} tokens of {sl['documents']} documents, mixture "
                        f"gave {mix.get('tokens_out')} tokens of {mix.get('documents_out')} documents"
                    )
            continue
        domains = s.get("domains", {})
        for domain, d in sorted(domains.items()):
            out = d["kept"] + sum(d["dropped"].values())
            if d["docs_in"] != out:
                problems.append(f"{phase} {domain}: {d['docs_in']} in but {d['kept']} kept + {out - d['kept']} dropped")
        if previous is not None:
            for domain in sorted(set(domains) | set(previous.get("domains", {}))):
                before = previous.get("domains", {}).get(domain, {}).get("kept", 0)
                now = domains.get(domain, {}).get("docs_in", 0)
                if before != now:
                    problems.append(f"{phase} {domain}: {now} in but {prev_name} kept {before}")
        previous, prev_name = s, phase
    return problems


def drop_reasons(run_dir: str | Path) -> list[dict[str, Any]]:
    """Dropped documents per (phase, domain, language, reason), most first; read from the
    phases' parquet (the ledger has no languages). Documents not yet language-identified
    (the extract phase, domains without langid) have language "-"."""
    run_dir = Path(run_dir)
    counts: Counter = Counter()
    for phase, name in PHASE_DIRS.items():
        dataset = _phase_dataset(run_dir, name)
        if dataset is None:
            continue
        cols = [c for c in ("domain", "lang", "drop_reason") if c in dataset.schema.names]
        for batch in dataset.to_batches(columns=cols, filter=pc.field("drop_reason").is_valid(), **STREAM):
            if not batch.num_rows:
                continue
            t = pa.Table.from_batches([batch])
            if "lang" not in cols:
                t = t.append_column("lang", pa.nulls(t.num_rows, pa.string()))
            for r in t.group_by(["domain", "lang", "drop_reason"]).aggregate([([], "count_all")]).to_pylist():
                counts[(phase, r["domain"], r["lang"] or NO_LANG, r["drop_reason"])] += r["count_all"]
    return [
        {"phase": p, "domain": d, "lang": lang, "reason": r, "docs": n}
        for (p, d, lang, r), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def languages(run_dir: str | Path) -> list[dict[str, Any]]:
    """Documents per language as identified in the annotate phase: kept there, and dropped
    there (by any rule), most first."""
    dataset = _phase_dataset(Path(run_dir), "annotated")
    if dataset is None or "lang" not in dataset.schema.names:
        return []
    kept: Counter = Counter()
    dropped: Counter = Counter()
    for batch in dataset.to_batches(columns=["lang", "drop_reason"], **STREAM):
        t = pa.table({"lang": batch.column("lang"), "kept": pc.is_null(batch.column("drop_reason"))})
        for r in t.group_by(["lang", "kept"]).aggregate([([], "count_all")]).to_pylist():
            (kept if r["kept"] else dropped)[r["lang"] or NO_LANG] += r["count_all"]
    every = set(kept) | set(dropped)
    return [
        {"lang": lang, "kept": kept[lang], "dropped": dropped[lang]}
        for lang in sorted(every, key=lambda x: (-(kept[x] + dropped[x]), x))
    ]


# -- scores and thresholds ---------------------------------------------------------------------

def thresholds(run_dir: str | Path) -> dict[str, list[tuple[str, float, str, str]]]:
    """Score column -> [(op, limit, "<stage>.<rule>", stage)] from the resolved manifest's stage
    settings, through each stage's `thresholds` hook; empty when there is no lock file. The
    lock holds every setting filled in; they are read into the stage's Settings model (typed
    values, nested models) only to call the hook. `stage` is the name drop reasons carry."""
    from stages import find

    data = read_lock(run_dir)
    out: dict[str, list[tuple[str, float, str, str]]] = {}
    for name, settings in lock_stages(data):
        try:
            cls = find(name) if isinstance(name, str) else None
        except (LookupError, TypeError):
            cls = None
        if cls is None:
            continue  # a stage this version does not know (or a plug-in not importable here)
        try:
            found = cls.thresholds(settings or {})
        except (ValueError, TypeError):  # settings this version refuses (edited by hand): no line
            continue
        for col, limits in found.items():
            for t in limits:
                out.setdefault(col, []).append((t.op, float(t.limit), f"{cls.name}.{t.rule}", cls.name))
    return out


def score_columns(schema: pa.Schema) -> list[str]:
    """The numeric columns of a phase's parquet that are scores (not counts, ids or hashes)."""
    out = []
    for f in schema:
        numeric = pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
        if numeric and f.name not in NOT_SCORES and not f.name.endswith(NOT_SCORE_SUFFIXES):
            out.append(f.name)
    return out


def axis_range(lo: float, hi: float, limits: list[float]) -> tuple[float, float]:
    """The data's range widened to show its thresholds, unless a threshold is so far out
    (e.g. Gopher's 100,000-word maximum) that the data would shrink to a sliver."""
    for t in sorted(limits, key=lambda t: max(lo - t, t - hi)):
        new_lo, new_hi = min(lo, t), max(hi, t)
        span = hi - lo
        if (span > 0 and new_hi - new_lo <= 4 * span) or (span == 0 and abs(t - lo) <= max(abs(lo), 1.0)):
            lo, hi = new_lo, new_hi
    return lo, hi


def _edges(lo: float, hi: float, integer: bool) -> np.ndarray:
    if integer and hi - lo + 1 <= BINS:
        return np.arange(lo - 0.5, hi + 1.5, 1.0)
    if hi == lo:
        return np.array([lo - 0.5, lo + 0.5])
    return np.linspace(lo, hi, BINS + 1)


def score_histograms(run_dir: str | Path) -> list[dict[str, Any]]:
    """Per score column: bin edges and counts of kept / dropped rows of the phase where the
    column first appears (non-null, finite values only), with its thresholds.

    Two streaming passes over the parquet per phase: min/max, then numpy histograms."""
    run_dir = Path(run_dir)
    limits = thresholds(run_dir)
    out = []
    seen: set[str] = set()
    for name in SCORED_DIRS:
        dataset = _phase_dataset(run_dir, name)
        if dataset is None:
            continue
        cols = [c for c in score_columns(dataset.schema) if c not in seen]
        seen.update(cols)
        if not cols:
            continue
        lo = {c: np.inf for c in cols}
        hi = {c: -np.inf for c in cols}
        nulls = Counter()
        for batch in dataset.to_batches(columns=cols, **STREAM):
            for c in cols:
                v = batch.column(c).to_numpy(zero_copy_only=False).astype(float)
                v = v[np.isfinite(v)]
                nulls[c] += batch.num_rows - v.size
                if v.size:
                    lo[c], hi[c] = min(lo[c], v.min()), max(hi[c], v.max())
        cols = [c for c in cols if np.isfinite(lo[c])]
        for c in cols:
            lo[c], hi[c] = axis_range(lo[c], hi[c], [t[1] for t in limits.get(c, [])])
        edges = {c: _edges(lo[c], hi[c], pa.types.is_integer(dataset.schema.field(c).type)) for c in cols}
        kept = {c: np.zeros(len(edges[c]) - 1, np.int64) for c in cols}
        dropped = {c: np.zeros(len(edges[c]) - 1, np.int64) for c in cols}
        if cols:
            for batch in dataset.to_batches(columns=cols + ["drop_reason"], **STREAM):
                is_kept = batch.column("drop_reason").is_null().to_numpy(zero_copy_only=False)
                for c in cols:
                    v = batch.column(c).to_numpy(zero_copy_only=False).astype(float)
                    ok = np.isfinite(v)
                    kept[c] += np.histogram(v[ok & is_kept], edges[c])[0]
                    dropped[c] += np.histogram(v[ok & ~is_kept], edges[c])[0]
        for c in cols:
            out.append({
                "column": c,
                "phase_dir": name,
                "edges": [float(x) for x in edges[c]],
                "kept": kept[c].tolist(),
                "dropped": dropped[c].tolist(),
                "min": float(lo[c]),
                "max": float(hi[c]),
                "null": int(nulls[c]),
                "thresholds": [list(t) for t in limits.get(c, [])],
            })
    return out


# -- mixture, dedup, shards -----------------------------------------------------------------

def mixture(stats: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    mix = stats.get("mix", {})
    shards = stats.get("shards", {})
    realised = shards["mixture"]["realised"] if shards.get("taken_down") else mix.get("realised", {})  # after takedowns
    rows = []
    for domain, p in mix.get("plan", {}).items():
        real = realised.get(domain, {})
        rows.append({
            "domain": domain,
            "weight": p["weight"],
            "available_tokens": p["available_tokens"],
            "target_tokens": p["target_tokens"],
            "epochs": p["epochs"],
            "realised_tokens": real.get("tokens", 0),
            "realised_documents": real.get("documents", 0),
        })
    for group, g in mix.get("groups", {}).items():  # hierarchical domains: web/en under web
        rows.append({"domain": group, **{k: g[k] for k in ("weight", "available_tokens", "target_tokens", "epochs",
                                                            "realised_tokens", "realised_documents")}})
    return rows


def cluster_sizes(stats: dict[str, dict[str, Any]]) -> dict[str, dict[int, int]]:
    """Every `*cluster_sizes` table the dedup phase wrote: kind -> {cluster size: clusters}."""
    out = {}
    for key, table in sorted(stats.get("dedup", {}).items()):
        if key.endswith("cluster_sizes") and isinstance(table, dict):
            out[key.removesuffix("_cluster_sizes") or key] = {int(k): v for k, v in sorted(table.items(), key=lambda kv: int(kv[0]))}
    return out


SUBDOC_COUNTERS = ("lines_removed_boilerplate", "spans_removed", "chars_removed", "docs_modified")


def subdoc(stats: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """What the below-the-document dedup stages cut (stages/dedup_subdoc.py): the counters,
    and the most frequent removed lines with the documents they were cut from; None when
    those stages did not run."""
    found = stats.get("dedup", {}).get("subdoc")
    if not isinstance(found, dict):
        return None
    lines = found.get("lines", {}).get("top_removed_lines", []) if isinstance(found.get("lines"), dict) else []
    return {
        "counters": {k: found.get(k, 0) for k in SUBDOC_COUNTERS},
        "top_removed_lines": [{"line": str(x.get("line", "")), "docs": x.get("docs", 0)}
                              for x in lines if isinstance(x, dict)][:20],
    }


def takedowns(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records `curator takedown` kept in RUN/stats/takedowns.json (curator/takedown.py)."""
    from curator.takedown import load_records

    return load_records(run_dir)


def prior_dedup(stats: dict[str, dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Documents removed as copies of released corpora (dedup.against, stages/dedup_prior.py):
    one row per index, then the removals by reason; None when the run named no index."""
    found = stats.get("dedup", {}).get("prior")
    if not isinstance(found, dict):
        return None
    rows = [{"what": f"index {x.get('name')}", "count": None,
             "detail": f"created {x.get('created')}; rows: " + ", ".join(
                 f"{k} {v}" for k, v in (x.get("counts") or {}).items() if isinstance(v, int))}
            for x in found.get("indexes", []) if isinstance(x, dict)]
    removed = found.get("removed") if isinstance(found.get("removed"), dict) else {}
    return rows + [{"what": "removed", "detail": str(r), "count": n} for r, n in sorted(removed.items())]


def shards(run_dir: str | Path, stats: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per sequence length: files, bytes, tokens, sequences, documents, padding-free fill."""
    manifest_path = Path(run_dir) / "shards" / "manifest.json"
    manifest = read_json(manifest_path) if manifest_path.is_file() else {}
    rows = []
    for n, s in stats.get("shards", {}).get("seq_lens", {}).items():
        files = manifest.get("seq_lens", {}).get(n, {}).get("shards", [])
        rows.append({
            "seq_len": int(n),
            "files": len(files),
            "bytes": sum(sum(d.get("bytes", 0) for d in f.get("files", {}).values()) for f in files),  # all formats
            "tokens": s["tokens"],
            "sequences": s["sequences"],
            "documents": s["documents"],
            "tokens_per_sequence": round(s["tokens"] / s["sequences"], 1) if s["sequences"] else 0,
            **_packing(s.get("packing")),
        })
    return sorted(rows, key=lambda r: r["seq_len"])


def _packing(p: Any) -> dict[str, Any]:
    """Packing figures of one sequence length (stages.shards.summarise), or blanks."""
    p = p if isinstance(p, dict) else {}
    return {
        "packing": p.get("packing", ""),
        "documents_cut_share": p.get("documents_cut_share"),
        "padding_share": p.get("padding_share"),
        "length_histogram": p.get("length_histogram") or [],
    }


def input_problems(stats: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Broken input files and failed extractions the extract phase counted, one row per
    (input, reason), most documents first; input names with their secrets masked."""
    found = stats.get("extract", {}).get("problems_by_file")
    rows = []
    for file, reasons in (found.items() if isinstance(found, dict) else ()):
        for reason, n in (reasons.items() if isinstance(reasons, dict) else ()):
            rows.append({"file": redact_urls(file), "reason": reason, "docs": n})
    return sorted(rows, key=lambda r: (-r["docs"] if isinstance(r["docs"], int) else 0, str(r["file"]), str(r["reason"])))


def contamination(run_dir: str | Path, stats: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Per benchmark of the `decontaminate` stage (stages/decontaminate.py): documents matched,
    the words their matched n-grams cover ("tokens matched"), and the share of the benchmark's
    items seen in the corpus (items indexed from its eval set); read from the annotate phase."""
    run_dir = Path(run_dir)
    stats = load_phase_stats(run_dir) if stats is None else stats
    prepared = stats.get("annotate", {}).get("prepared", {}).get("decontaminate") or {}
    dataset = _phase_dataset(run_dir, PHASE_DIRS["annotate"])
    if dataset is None or "decontam_hits" not in dataset.schema.names:
        return []
    docs: Counter = Counter()
    words: Counter = Counter()
    seen: dict[str, set[str]] = {}
    cols = ["decontam_benchmarks", "decontam_items", "decontam_words"]
    for batch in dataset.to_batches(columns=cols, filter=pc.field("decontam_hits") > 0, **STREAM):
        for benches, items, n in zip(*(batch.column(c).to_pylist() for c in cols)):
            for b in benches or ():
                docs[b] += 1
                words[b] += n or 0
            for it in items or ():
                b, _, rest = it.partition("/")
                seen.setdefault(b, set()).add(rest)
    total = prepared.get("items") if isinstance(prepared.get("items"), dict) else {}
    rows = []
    for b in sorted(set(total) | set(docs)):
        n_items = total.get(b)
        rows.append({"benchmark": b, "docs": docs.get(b, 0), "tokens": words.get(b, 0), "items": n_items,
                     "items_seen": len(seen.get(b, ())),
                     "share_seen": (len(seen.get(b, ())) / n_items) if isinstance(n_items, int) and n_items else None})
    return rows


def web_optout(stats: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """What the `web_optout` stage found (stages/web_optout.py): pages checked, per rule pages
    met and dropped with the domains most affected, and the robots.txt captures read; None
    when the stage did not run."""
    annotate = stats.get("annotate", {})
    own = (annotate.get("stage_stats") or {}).get("web_optout")
    if not isinstance(own, dict):
        return None
    prepared = (annotate.get("prepared") or {}).get("web_optout")
    return {**own, "robots": prepared if isinstance(prepared, dict) else {}}


def collect(run_dir: str | Path) -> dict[str, Any]:
    """Everything `curator stats --json` prints (no histograms: those are the report's).

    Every string in it passes through `curator.terminal.redact_all`: a run written before
    inputs' secrets were masked (or stats edited by hand) still prints none."""
    run_dir = check_run_dir(run_dir)
    stats = load_phase_stats(run_dir)
    return redact_all({
        "run": run_dir.name,
        "run_dir": str(run_dir),
        "phases": [p for p in stats if p != "shards"],
        "funnel": funnel(stats),
        "drop_reasons": drop_reasons(run_dir),
        "input_problems": input_problems(stats),
        "contamination": contamination(run_dir, stats),
        "web_optout": web_optout(stats),
        "dedup_cluster_sizes": {k: {str(s): n for s, n in v.items()} for k, v in cluster_sizes(stats).items()},
        "subdoc_dedup": subdoc(stats),
        "prior_dedup": prior_dedup(stats),
        "mixture": mixture(stats),
        "shards": shards(run_dir, stats),
        "tokens_out": stats.get("mix", {}).get("tokens_out"),
        "accounting_problems": accounting_problems(stats),
        "takedowns": takedowns(run_dir),
        "seconds": {p: s.get("seconds") for p, s in stats.items()},
        "bytes_written": {p: s.get("bytes_written") for p, s in stats.items()},
    })
