"""`curator card RUN`: a datasheet of a finished run, as card.md (for people) and card.json.

It answers what a legal or data review asks: which sources and snapshots, what every stage
(with its settings) removed, deduplication, benchmark decontamination, the licences of code by
SPDX id, web opt-outs and takedowns, the mixture, the shards and their tokens, and what the
run did not check. Every figure is read from the run's own ledger (stats/*.json, and
stats/takedowns.json when takedowns were recorded) and every setting from the resolved
manifest it stored (manifest.lock.yaml), so the card cannot drift from them; nothing is
recomputed. Strings from inputs pass through `curator.terminal.shown` (controls escaped,
URL secrets masked), and Markdown table cells have their `|` escaped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curator import runstats
from curator.errors import ManifestError
from curator.rundir import PHASE_DIRS
from curator.terminal import redact_all, shown

CARD_VERSION = 1
NEEDED = ("extract", "annotate", "dedup", "tokenize", "mix", "shards")


def _stage_name(reason: str) -> str:
    return reason.split(".", 1)[0]


def _takedowns(run_dir: Path) -> list[dict[str, Any]]:
    """stats/takedowns.json (a list of takedown records), [] when none were recorded."""
    path = run_dir / "stats" / "takedowns.json"
    if not path.is_file():
        return []
    data = runstats.read_json(path)
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise ManifestError(f"{shown(path)}: not a list of takedown records; restore it from the run's history")
    return data


def card_data(run_dir: str | Path) -> dict[str, Any]:
    """The card's content (card.json) from the run directory; a one-line ManifestError when the
    run has not finished every phase."""
    run_dir = runstats.check_run_dir(run_dir)
    stats = runstats.load_phase_stats(run_dir)
    missing = [p for p in NEEDED if p not in stats]
    if missing:
        raise ManifestError(
            f"{shown(run_dir)}: no stats/{PHASE_DIRS[missing[0]]}.json (phase {missing[0]} has not finished); "
            f"run the manifest to the end with `curator run` before writing its card")
    lock = runstats.read_lock(run_dir)
    stages = runstats.lock_stages(lock)
    stage_names = {str(n) for n, _ in stages}
    extract, annotate, dedup, tok, mix = (stats[p] for p in NEEDED[:5])

    removed: dict[str, dict[str, int]] = {}  # stage -> reason -> documents, over the phases it ran in
    for phase in ("extract", "annotate"):
        for reason, n in stats[phase].get("dropped", {}).items():
            if _stage_name(reason) in stage_names:
                removed.setdefault(_stage_name(reason), {})[reason] = removed.get(_stage_name(reason), {}).get(reason, 0) + n
    decontam = next((s for n, s in stages if n == "decontaminate"), None)
    optout = runstats.web_optout(stats)
    takedowns = _takedowns(run_dir)
    licenses = extract.get("licenses")
    import curator

    data = {
        "card_version": CARD_VERSION,
        "written_by": f"curator {curator.__version__}",
        "run": lock.get("run", run_dir.name),
        "sources": [_source(s) for s in lock.get("sources") or [] if isinstance(s, dict)],
        "funnel": [{"phase": p, "docs_in": s.get("docs_in"), "kept": s.get("kept"), "dropped": s.get("dropped", {}),
                    **({"tokens_kept": s["tokens_kept"]} if "tokens_kept" in s else {})}
                   for p, s in stats.items() if p != "shards"],
        "extraction": {"settings": lock.get("extract") or {}, "input_tasks": extract.get("input_tasks"),
                       "records_read": (extract.get("records") or {}).get("records_read"),
                       "dropped": {r: n for r, n in extract.get("dropped", {}).items() if _stage_name(r) not in stage_names},
                       "cascade": extract.get("cascade")},
        "stages": [{"name": n, "settings": s, "removed": removed.get(str(n), {}),
                    "documents_removed": sum(removed.get(str(n), {}).values())} for n, s in stages],
        "dedup": {"settings": lock.get("dedup") or {}, "docs_in": dedup.get("docs_in"), "kept": dedup.get("kept"),
                  "dropped": dedup.get("dropped", {}), "minhash": dedup.get("minhash"),
                  "subdoc": dedup.get("subdoc")},
        "decontamination": None if decontam is None else {
            "settings": decontam, "removed": removed.get("decontaminate", {}),
            "index": (annotate.get("prepared") or {}).get("decontaminate")},
        "code_licenses": licenses,
        "web_optout": optout,
        "takedowns": {"records": takedowns, "documents": sum(_int(t.get("documents")) for t in takedowns),
                      "tokens": sum(_int(t.get("tokens")) for t in takedowns)},
        "tokens": {"tokenizer": (lock.get("tokenizer") or {}).get("path"),
                   "tokenizer_class": (tok.get("tokenizer") or {}).get("class"),
                   "tokenizer_sha256": (tok.get("tokenizer") or {}).get("sha256"),
                   "after_dedup": tok.get("tokens_kept"), "in_mixture": mix.get("tokens_out"),
                   "documents_in_mixture": mix.get("documents_out")},
        "mixture": {"strategy": mix.get("strategy"), "seed": mix.get("seed"), "max_epochs": mix.get("max_epochs"),
                    "domains": runstats.mixture(stats)},
        "shards": {"formats": stats["shards"].get("formats"), "shards": stats["shards"].get("shards"),
                   "packing": stats["shards"].get("packing"),
                   "seq_lens": {n: {k: s.get(k) for k in ("tokens", "documents", "sequences")}
                                for n, s in (stats["shards"].get("seq_lens") or {}).items()}},
        "accounting_problems": runstats.accounting_problems(stats),
    }
    data["limitations"] = limitations(data, lock, stats)
    return redact_all(data)


def _int(x: Any) -> int:
    return x if isinstance(x, int) and not isinstance(x, bool) else 0


def _source(s: dict[str, Any]) -> dict[str, Any]:
    out = {k: s.get(k) for k in ("name", "kind", "domain", "snapshot")}
    inputs = s.get("inputs") or []
    out["inputs"] = len(inputs) if isinstance(inputs, list) else 0
    if s.get("paths_file"):
        out["paths_file"] = s["paths_file"]
    if s.get("kind") == "code":
        out["licenses_allowed"] = s.get("licenses")
    return out


def limitations(card: dict[str, Any], lock: dict[str, Any], stats: dict[str, Any]) -> list[str]:
    """What this run did not check or cannot vouch for, from its settings and stats."""
    names = {s["name"] for s in card["stages"]}
    kinds = {s.get("kind") for s in card["sources"]}
    out = []
    if "warc" in kinds:
        optout = next((s for s in card["stages"] if s["name"] == "web_optout"), None)
        if optout is None:
            out.append("Web opt-outs were not checked: no web_optout stage (robots.txt, TDM reservation, noai).")
        else:
            if not (optout["settings"] or {}).get("robots_warcs"):
                out.append("robots.txt was not checked: the web_optout stage was given no robots.txt captures.")
            out.append("Opt-outs are judged as captured at crawl time: a site's later opt-out is not seen, "
                       "the site-wide TDMRep file (/.well-known/tdmrep.json) is not read, and WET inputs carry "
                       "no HTTP headers or meta tags.")
        if "langid" not in names:
            out.append("Languages were not identified (no langid stage).")
    if "decontaminate" not in names:
        out.append("No benchmark decontamination (no decontaminate stage).")
    elif any((s["settings"] or {}).get("action") == "tag" for s in card["stages"] if s["name"] == "decontaminate"):
        out.append("Benchmark matches were tagged, not removed (decontaminate action: tag).")
    if "pii" not in names:
        out.append("Personal data was not redacted (no pii stage).")
    dedup = lock.get("dedup") or {}
    if not dedup.get("minhash"):
        out.append("No near-duplicate removal (dedup.minhash is off).")
    for s in card["sources"]:
        if s.get("kind") == "code" and "*" in (s.get("licenses_allowed") or []):
            out.append(f"Code of source {s['name']} was kept whatever its licence (licenses: ['*']).")
    if "code" in kinds:
        out.append("Code licences are per repository, from its LICENSE/COPYING files; headers of single files are not read.")
    problems = stats.get("extract", {}).get("problems_by_file") or {}
    if problems:
        out.append(f"{len(problems)} input file(s) had unreadable or failed records (curator stats lists them).")
    if not card["takedowns"]["records"]:
        out.append("No takedown requests have been applied to this run.")
    for p in card["accounting_problems"]:
        out.append(f"Accounting problem: {p}")
    return out


# -- Markdown -----------------------------------------------------------------------------------

def _cell(x: Any) -> str:
    if isinstance(x, float):
        x = f"{x:.4g}"
    elif isinstance(x, int) and not isinstance(x, bool):
        x = f"{x:,}"
    elif x is None:
        x = "-"
    elif not isinstance(x, str):
        x = json.dumps(x, sort_keys=True, default=str)
    return shown(x).replace("|", "\\|")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(x) for x in row) + " |" for row in rows]
    return lines + [""]


def _settings(s: Any) -> str:
    if not isinstance(s, dict):
        return _cell(s)
    return "; ".join(f"{k}={_cell(v)}" for k, v in s.items() if v not in (None, [], {}))


def markdown(card: dict[str, Any]) -> str:
    """card.md: the same content as card.json, in sections and tables."""
    L = [f"# Dataset card: {_cell(card['run'])}", "",
         f"Written by `curator card` ({_cell(card['written_by'])}) from the run's stats and its resolved manifest; "
         "every figure is the run's own.", ""]
    L += ["## Sources and snapshots", ""]
    L += _table(["source", "kind", "domain", "snapshot", "input files", "licences allowed"],
                [[s.get("name"), s.get("kind"), s.get("domain"), s.get("snapshot"),
                  s.get("paths_file") or s.get("inputs"), s.get("licenses_allowed")] for s in card["sources"]])
    L += ["## Funnel", ""]
    L += _table(["phase", "documents in", "kept", "dropped", "tokens kept"],
                [[f["phase"], f["docs_in"], f["kept"], sum(f["dropped"].values()), f.get("tokens_kept")]
                 for f in card["funnel"]])
    ex = card["extraction"]
    L += ["## Extraction", "", f"{_cell(ex['input_tasks'])} input tasks, {_cell(ex['records_read'])} records read. "
          f"Settings: {_settings({k: ex['settings'].get(k) for k in ('extractor', 'include_tables', 'include_comments', 'max_record_bytes')})}.", ""]
    L += _table(["reason", "documents"], [[r, n] for r, n in ex["dropped"].items()])
    L += ["## Stages", "", "Each stage with its settings and the documents it removed, per rule.", ""]
    for s in card["stages"]:
        L += [f"### {_cell(s['name'])}", "", f"Settings: {_settings(s['settings'])}", "",
              f"Removed {_cell(s['documents_removed'])} documents.", ""]
        if s["removed"]:
            L += _table(["rule", "documents"], [[r, n] for r, n in s["removed"].items()])
    d = card["dedup"]
    L += ["## Deduplication", "", f"Settings: {_settings(d['settings'])}", "",
          f"{_cell(d['docs_in'])} documents in, {_cell(d['kept'])} kept.", ""]
    L += _table(["reason", "documents"], [[r, n] for r, n in d["dropped"].items()])
    L += ["## Benchmark decontamination", ""]
    dc = card["decontamination"]
    if dc is None:
        L += ["None: the run had no decontaminate stage.", ""]
    else:
        idx = dc.get("index") or {}
        L += [f"Benchmarks: {_cell(idx.get('benchmarks'))}; action: {_cell(dc['settings'].get('action') if isinstance(dc['settings'], dict) else None)}.", ""]
        L += _table(["rule", "documents"], [[r, n] for r, n in dc["removed"].items()])
    L += ["## Code licences (SPDX)", ""]
    lic = card["code_licenses"]
    if not lic:
        L += ["None: the run holds no code, or its stats predate licence counts.", ""]
    else:
        L += _table(["licence", "files kept", "files dropped"], [[k, v.get("kept"), v.get("dropped")] for k, v in lic.items()])
    L += ["## Web opt-outs", ""]
    o = card["web_optout"]
    if o is None:
        L += ["None checked: the run had no web_optout stage.", ""]
    else:
        rb = o.get("robots") or {}
        L += [f"{_cell(o.get('pages_checked'))} pages checked, {_cell(o.get('pages_with_robots_capture'))} with a "
              f"robots.txt capture ({_cell(rb.get('robots_records', 0))} captures read, "
              f"{_cell(rb.get('robots_bad_records', 0))} unreadable, {_cell(rb.get('robots_hosts', 0))} hosts kept).", ""]
        L += _table(["rule", "pages", "dropped", "domains"],
                    [[r, e.get("pages"), e.get("dropped"), e.get("sites")] for r, e in (o.get("rules") or {}).items()])
        top = [[r, x.get("domain"), x.get("pages"), x.get("dropped")]
               for r, e in (o.get("rules") or {}).items() for x in e.get("top_domains") or []]
        if top:
            L += ["Domains with most opted-out pages, per rule:", ""] + _table(["rule", "domain", "pages", "dropped"], top)
    L += ["## Takedowns", ""]
    t = card["takedowns"]
    if not t["records"]:
        L += ["None.", ""]
    else:
        L += [f"{len(t['records'])} takedown(s): {_cell(t['documents'])} documents, {_cell(t['tokens'])} tokens removed.", ""]
        L += _table(["at", "domains", "urls", "ids", "documents", "tokens", "shards rewritten"],
                    [[r.get("at"), r.get("domains"), _count(r.get("urls")), _count(r.get("ids")), r.get("documents"),
                      r.get("tokens"), _count(r.get("shards_rewritten"))] for r in t["records"]])
    tk = card["tokens"]
    L += ["## Tokens", "", f"Tokenizer {_cell(tk['tokenizer'])} ({_cell(tk['tokenizer_class'])}, sha256 "
          f"{_cell(tk['tokenizer_sha256'])}): {_cell(tk['after_dedup'])} tokens after deduplication, "
          f"{_cell(tk['in_mixture'])} tokens of {_cell(tk['documents_in_mixture'])} documents in the mixture.", ""]
    mx = card["mixture"]
    L += ["## Mixture", "", f"Strategy {_cell(mx['strategy'])}, seed {_cell(mx['seed'])}, at most {_cell(mx['max_epochs'])} epochs.", ""]
    L += _table(["domain", "weight", "available tokens", "target tokens", "epochs", "realised tokens", "realised documents"],
                [[m["domain"], m["weight"], m["available_tokens"], m["target_tokens"], m["epochs"], m["realised_tokens"],
                  m["realised_documents"]] for m in mx["domains"]])
    sh = card["shards"]
    L += ["## Shards", "", f"{_cell(sh['shards'])} shard(s) as {_cell(sh['formats'])}, packing {_cell(sh['packing'])}.", ""]
    L += _table(["sequence length", "tokens", "documents", "sequences"],
                [[n, s["tokens"], s["documents"], s["sequences"]] for n, s in sh["seq_lens"].items()])
    L += ["## Known limitations", ""] + [f"- {_cell(x)}" for x in card["limitations"]] + [""]
    return "\n".join(L)


def _count(x: Any) -> Any:
    return len(x) if isinstance(x, list) else x


def write_card(run_dir: str | Path, out: str | Path | None = None) -> tuple[Path, Path]:
    """Write card.md and card.json into `out` (default: the run directory); their paths."""
    from curator.phases import write_atomic

    card = card_data(run_dir)
    out = Path(run_dir) if out is None else Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "card.md", out / "card.json"
    write_atomic(js, json.dumps(card, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    write_atomic(md, markdown(card))
    return md, js
