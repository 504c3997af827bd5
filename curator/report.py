"""A run, shown to people: `curator stats` in the terminal, report.html, and rejected samples.

The numbers come from curator.runstats; this module only lays them out. report.html is one
self-contained file (inline CSS and SVG, no script, nothing fetched), so it opens offline
and can be mailed around; every piece of document text or URL in it is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from curator import runstats
from curator.errors import ManifestError
from curator.phases import write_atomic
from curator.plots import bar_svg, fmt, histogram_svg

PHASE_FILES = tuple(runstats.PHASE_DIRS.values())
SECTIONS = {
    "funnel": "Funnel",
    "scores": "Scores and thresholds",
    "languages": "Languages",
    "dedup": "Duplicate clusters",
    "mixture": "Mixture",
    "shards": "Shards",
    "rejected": "Rejected documents",
}
SAMPLE_TEXT_CHARS = 3000


def load_stats(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """stats/<dir>.json by output-folder name (extracted, annotated, ...)."""
    return {runstats.PHASE_DIRS[p]: s for p, s in runstats.load_phase_stats(run_dir).items()}


def _n(x: Any) -> str:
    return "" if x is None else (f"{x:,}" if isinstance(x, int) else str(x))


def _top(reasons: dict[str, int], k: int = 3) -> str:
    items = list(reasons.items())
    more = f", +{len(items) - k} more" if len(items) > k else ""
    return ", ".join(f"{r} {n:,}" for r, n in items[:k]) + more


def by_domain_and_language(drops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """(domain, language) -> dropped total and its reasons, most dropped first."""
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for r in drops:
        g = groups.setdefault((r["domain"], r["lang"]), {})
        g[r["reason"]] = g.get(r["reason"], 0) + r["docs"]
    rows = [
        {"domain": d, "lang": lang, "dropped": sum(g.values()),
         "reasons": dict(sorted(g.items(), key=lambda kv: (-kv[1], kv[0])))}
        for (d, lang), g in groups.items()
    ]
    return sorted(rows, key=lambda r: (-r["dropped"], r["domain"], r["lang"]))


# -- terminal --------------------------------------------------------------------------------

def print_stats(run_dir: str | Path, console=None, max_rows: int = 20) -> dict[str, Any]:
    """`curator stats RUN`: funnel, drop reasons per domain and language, duplicate
    clusters, mixture, shards and the accounting check; returns what it printed."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    info = runstats.collect(run_dir)
    T = Text  # user data is never read as rich markup

    t = Table(title=f"funnel of {info['run_dir']}")
    for col in ("phase", "domain", "docs in", "kept", "dropped", "tokens in", "tokens kept", "tokens dropped"):
        t.add_column(col, justify="left" if col in ("phase", "domain") else "right", no_wrap=True)
    for r in info["funnel"]:
        t.add_row(T(r["phase"]), T(r["domain"]), _n(r["docs_in"]), _n(r["kept"]), _n(r["dropped"]),
                  _n(r.get("tokens_in")), _n(r.get("tokens_kept")), _n(r.get("tokens_dropped")))
    console.print(t)

    groups = by_domain_and_language(info["drop_reasons"])
    if groups:
        t = Table(title="drop reasons per domain and language (language '-': not identified)")
        for col in ("domain", "language", "dropped", "top reasons"):
            t.add_column(col, justify="right" if col == "dropped" else "left")
        for g in groups[:max_rows]:
            t.add_row(T(g["domain"]), T(g["lang"]), _n(g["dropped"]), T(_top(g["reasons"])))
        console.print(t)
        if len(groups) > max_rows:
            console.print(f"({len(groups) - max_rows} more domain/language pairs: curator stats --json)")

    for kind, sizes in info["dedup_cluster_sizes"].items():
        t = Table(title=f"{kind} duplicate clusters (kept documents by cluster size)")
        t.add_column("cluster size", justify="right")
        t.add_column("clusters", justify="right")
        for size, n in sizes.items():
            t.add_row(T(size), _n(n))
        console.print(t)

    if info["mixture"]:
        t = Table(title="mixture")
        for col in ("domain", "weight", "available tokens", "target tokens", "epochs", "realised tokens", "realised docs"):
            t.add_column(col, justify="left" if col == "domain" else "right")
        for m in info["mixture"]:
            t.add_row(T(m["domain"]), f"{m['weight']:.3f}", _n(m["available_tokens"]), _n(m["target_tokens"]),
                      f"{m['epochs']:.3f}", _n(m["realised_tokens"]), _n(m["realised_documents"]))
        console.print(t)

    if info["shards"]:
        t = Table(title="shards")
        for col in ("seq_len", "files", "bytes", "tokens", "sequences", "documents"):
            t.add_column(col, justify="right")
        for s in info["shards"]:
            t.add_row(*(_n(s[c]) for c in ("seq_len", "files", "bytes", "tokens", "sequences", "documents")))
        console.print(t)

    if info["accounting_problems"]:
        console.print(T("accounting: documents do not add up:", style="bold red"))
        for p in info["accounting_problems"]:
            console.print(T(f"  {p}", style="red"))
    else:
        console.print("accounting: ok (docs in = kept + dropped in every phase and domain)")
    return info


def print_summary(run_dir: str | Path, echo=print) -> None:
    """What `curator run` prints at the end: the same as `curator stats`."""
    print_stats(run_dir)


# -- rejected documents --------------------------------------------------------------------

def _reason_phase(stats: dict[str, dict[str, Any]]) -> dict[str, tuple[str, int]]:
    """drop reason -> (phase that marked it, documents dropped for it)."""
    out = {}
    for phase, s in stats.items():
        for reason, n in s.get("dropped", {}).items():
            out[reason] = (phase, n)
    return out


def rule_columns(limits: dict[str, list], reason: str) -> list[str]:
    """Score columns whose threshold belongs to this drop reason."""
    return [col for col, ts in limits.items() if any(t[2] == reason for t in ts)]


def inspect_rejected(run_dir: str | Path, reason: str, n: int = 5) -> list[dict[str, Any]]:
    """Up to `n` documents dropped for `reason`, smallest id first, read from the parquet of
    the phase that dropped them (so more than the few samples under rejected/ can be read)."""
    import pyarrow.compute as pc

    run_dir = runstats.check_run_dir(run_dir)
    known = _reason_phase(runstats.load_phase_stats(run_dir))
    if reason not in known:
        raise ManifestError(
            f"{run_dir}: no document was dropped for {reason!r}; reasons in this run: "
            f"{', '.join(sorted(known)) or 'none'}"
        )
    phase = known[reason][0]
    dataset = runstats._phase_dataset(run_dir, runstats.PHASE_DIRS[phase])
    if dataset is None:
        raise ManifestError(f"{run_dir / runstats.PHASE_DIRS[phase]}: the {phase} phase's parquet is missing")
    where = pc.field("drop_reason") == reason
    ids = sorted(dataset.to_table(columns=["id"], filter=where).column("id").to_pylist())[:n]
    if not ids:
        return []
    cols = [c for c in dataset.schema.names if c not in ("input_ids",)]
    rows = dataset.to_table(columns=cols, filter=where & pc.field("id").isin(ids)).to_pylist()
    rows = runstats.add_text(run_dir, sorted(rows, key=lambda r: r["id"]))
    for r in rows:
        if isinstance(r.get("meta"), list):
            r["meta"] = dict(r["meta"])
    return rows


def print_rejected(run_dir: str | Path, reason: str | None, n: int = 5, console=None) -> None:
    """`curator inspect RUN [--reason R] [-n N]`: the reasons with counts, or samples of one."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    run_dir = runstats.check_run_dir(run_dir)
    if reason is None:
        known = _reason_phase(runstats.load_phase_stats(run_dir))
        t = Table(title=f"drop reasons of {run_dir} (curator inspect RUN --reason REASON)")
        for col in ("reason", "phase", "documents"):
            t.add_column(col, justify="right" if col == "documents" else "left")
        for r, (phase, count) in sorted(known.items(), key=lambda kv: (-kv[1][1], kv[0])):
            t.add_row(Text(r), phase, f"{count:,}")
        console.print(t)
        return
    limits = runstats.thresholds(run_dir)
    cols = rule_columns(limits, reason)
    docs = inspect_rejected(run_dir, reason, n)
    for d in docs:
        head = Text(f"{d.get('url') or d['id']}\n", style="bold")
        head.append(f"id {d['id']}  domain {d.get('domain')}  lang {d.get('lang') or '-'}")
        for c in cols:
            limit = " and ".join(f"{op} {fmt(v)}" for op, v, rule, _ in limits[c] if rule == reason)
            head.append(f"\n{c} = {_score(d.get(c))}  (keep {limit})", style="yellow")
        text = (d.get("text") or "")
        shown = text[:SAMPLE_TEXT_CHARS] + (f"\n... ({len(text):,} characters)" if len(text) > SAMPLE_TEXT_CHARS else "")
        console.print(Panel(Text.assemble(head, "\n\n", Text(shown)), title=Text(reason), title_align="left"))
    console.print(f"{len(docs)} document(s) dropped for {reason} shown")


def _score(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# -- report.html -----------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#222}
nav{position:sticky;top:0;background:#f4f4f4;padding:6px 2em;border-bottom:1px solid #ddd}
nav a{margin-right:1em}
main{padding:0 2em 2em}
table{border-collapse:collapse;margin:0.5em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.plots{display:flex;flex-wrap:wrap;gap:12px}
svg.plot{border:1px solid #eee;background:#fff}
pre{white-space:pre-wrap;max-height:20em;overflow:auto;background:#f6f6f6;padding:6px}
details.reason{margin:0.4em 0;border:1px solid #ddd;padding:4px 8px}
details.doc{margin:0.3em 0 0.3em 1em}
.fired{color:#b00;font-weight:bold}
.muted{color:#777}
.bad{color:#b00}
"""


class _Html:
    def __init__(self):
        self.parts: list[str] = []

    def add(self, *parts: str) -> None:
        self.parts.extend(parts)

    def table(self, header: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> None:
        e = html.escape
        self.add("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        for row in rows:
            cells = "".join(
                f"<td class=n>{e(_n(v))}</td>" if i in numeric else f"<td>{e(_n(v))}</td>"
                for i, v in enumerate(row)
            )
            self.add(f"<tr>{cells}</tr>")
        self.add("</table>")


def _section(h: _Html, key: str) -> None:
    h.add(f"<section id='{key}'><h2>{html.escape(SECTIONS[key])}</h2>")


def _none(h: _Html, what: str) -> None:
    h.add(f"<p class=muted>{html.escape(what)}</p>")


def write_report(run_dir: str | Path) -> Path:
    """Write <run>/report.html (and return its path); `curator run` calls it at the end."""
    e = html.escape
    run_dir = runstats.check_run_dir(run_dir)
    stats = runstats.load_phase_stats(run_dir)
    funnel = runstats.funnel(stats)
    problems = runstats.accounting_problems(stats)
    h = _Html()
    h.add(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        f"<title>curator report: {e(run_dir.name)}</title><link rel='icon' href='data:,'>",
        f"<style>{CSS}</style></head><body>",
        "<nav>" + "".join(f"<a href='#{k}'>{e(v)}</a>" for k, v in SECTIONS.items()) + "</nav><main>",
        f"<h1>Run {e(run_dir.name)}</h1>",
    )
    if problems:
        h.add("<p class=bad><b>Accounting: documents do not add up.</b></p><ul>")
        h.add(*(f"<li class=bad>{e(p)}</li>" for p in problems))
        h.add("</ul>")
    else:
        h.add("<p>Accounting: docs in = kept + dropped in every phase and domain.</p>")

    # funnel
    _section(h, "funnel")
    if funnel:
        h.table(
            ["phase", "domain", "docs in", "kept", "dropped", "tokens in", "tokens kept", "tokens dropped", "drop reasons"],
            [[r["phase"], r["domain"], r["docs_in"], r["kept"], r["dropped"], r.get("tokens_in"),
              r.get("tokens_kept"), r.get("tokens_dropped"), _top(r["reasons"], 8)] for r in funnel],
            numeric={2, 3, 4, 5, 6, 7},
        )
        phases = [p for p in stats if p != "shards"]
        domains = sorted({r["domain"] for r in funnel})
        kept = {(r["phase"], r["domain"]): r["kept"] for r in funnel}
        h.add("<div class=plots>", bar_svg(phases, {d: [kept.get((p, d), 0) for p in phases] for d in domains},
                                             "documents kept after each phase", "phase", "documents"), "</div>")
        groups = by_domain_and_language(runstats.drop_reasons(run_dir))
        if groups:
            h.add("<h3>Drop reasons per domain and language</h3>")
            h.table(["domain", "language", "dropped", "reasons"],
                    [[g["domain"], g["lang"], g["dropped"], _top(g["reasons"], 8)] for g in groups], numeric={2})
    else:
        _none(h, "No phase has finished yet.")
    h.add("</section>")

    # scores
    _section(h, "scores")
    hists = runstats.score_histograms(run_dir)
    if hists:
        h.add("<p>Every numeric score column, over the documents that entered the phase that wrote it; "
              "dashed lines are the thresholds from manifest.lock.yaml.</p><div class=plots>")
        for x in hists:
            label = f"{x['phase_dir']}; {x['null']:,} not scored"
            h.add(histogram_svg(x["edges"], {"kept": x["kept"], "dropped": x["dropped"]}, x["column"],
                                [(op, v, rule) for op, v, rule, _ in x["thresholds"]], label))
        h.add("</div>")
    else:
        _none(h, "No score columns (the annotate phase has not run or has no stages).")
    h.add("</section>")

    # languages
    _section(h, "languages")
    langs = runstats.languages(run_dir)
    if langs:
        top = langs[:30]
        h.add("<div class=plots>", bar_svg([r["lang"] for r in top], {"kept": [r["kept"] for r in top],
              "dropped": [r["dropped"] for r in top]}, "documents per language (annotate)", "language", "documents"), "</div>")
        h.table(["language", "kept", "dropped"], [[r["lang"], r["kept"], r["dropped"]] for r in langs], numeric={1, 2})
    else:
        _none(h, "No language information (the annotate phase has not run).")
    h.add("</section>")

    # dedup
    _section(h, "dedup")
    clusters = runstats.cluster_sizes(stats)
    if clusters:
        h.add("<div class=plots>")
        for kind, sizes in clusters.items():
            h.add(bar_svg([str(s) for s in sizes], {"clusters": list(sizes.values())},
                          f"{kind} duplicate clusters by size", "cluster size (documents)", "clusters"))
        h.add("</div>")
        for kind, sizes in clusters.items():
            h.add(f"<h3>{e(kind)}</h3>")
            h.table(["cluster size", "clusters"], [[s, n] for s, n in sizes.items()], numeric={0, 1})
    else:
        _none(h, "No duplicate clusters recorded (dedup has not run).")
    h.add("</section>")

    # mixture
    _section(h, "mixture")
    mix = runstats.mixture(stats)
    if mix:
        h.add("<div class=plots>", bar_svg([m["domain"] for m in mix], {
            "available": [m["available_tokens"] for m in mix], "target": [m["target_tokens"] for m in mix],
            "realised": [m["realised_tokens"] for m in mix]}, "tokens per domain before and after mixing", "domain", "tokens"),
            "</div>")
        h.table(["domain", "weight", "available tokens", "target tokens", "epochs", "realised tokens", "realised documents"],
                [[m["domain"], f"{m['weight']:.3f}", m["available_tokens"], m["target_tokens"], f"{m['epochs']:.3f}",
                  m["realised_tokens"], m["realised_documents"]] for m in mix], numeric={1, 2, 3, 4, 5, 6})
    else:
        _none(h, "The mix phase has not run.")
    h.add("</section>")

    # shards
    _section(h, "shards")
    shard_rows = runstats.shards(run_dir, stats)
    if shard_rows:
        h.table(["seq_len", "files", "bytes", "tokens", "sequences", "documents", "tokens per sequence"],
                [[s["seq_len"], s["files"], s["bytes"], s["tokens"], s["sequences"], s["documents"],
                  s["tokens_per_sequence"]] for s in shard_rows], numeric=set(range(7)))
    else:
        _none(h, "No shards written yet.")
    h.add("</section>")

    # rejected samples
    _section(h, "rejected")
    _rejected_html(h, run_dir, stats)
    h.add("</section></main></body></html>")

    path = run_dir / "report.html"
    write_atomic(path, "\n".join(h.parts) + "\n")
    return path


def _rejected_html(h: _Html, run_dir: Path, stats: dict[str, dict[str, Any]]) -> None:
    e = html.escape
    files = sorted((run_dir / "rejected").glob("*.jsonl"))
    if not files:
        _none(h, "No rejected samples (nothing was dropped, or output.rejected_samples is 0).")
        return
    totals = _reason_phase(stats)
    limits = runstats.thresholds(run_dir)
    h.add("<p>A sample of the documents each rule dropped (smallest ids first); open a reason, then a "
          "document. The score the rule looked at is in red. More: <code>curator inspect RUN --reason REASON -n 50</code>.</p>")
    for f in files:
        reason = f.name.removesuffix(".jsonl")
        docs = []
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    docs.append(json.loads(line))
                except ValueError:
                    continue
        phase, total = totals.get(reason, ("?", len(docs)))
        cols = rule_columns(limits, reason)
        h.add(f"<details class=reason data-reason='{e(reason)}'><summary><b>{e(reason)}</b>: "
              f"{total:,} dropped in {e(phase)}, {len(docs)} shown</summary>")
        for d in docs:
            fired = ", ".join(f"{c} = {_score(d.get(c))}" for c in cols)
            title = d.get("url") or d.get("id")
            h.add(f"<details class=doc><summary>{e(str(title))} <span class=muted>[{e(str(d.get('lang') or '-'))}]</span>"
                  + (f" <span class=fired>{e(fired)}</span>" if fired else "") + "</summary>")
            numeric = [k for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
            scores = [(k, d.get(k)) for k in cols] + [(k, d[k]) for k in numeric if k not in cols]
            if scores:
                h.add("<table><tr><th>score</th><th>value</th><th>keep when</th></tr>")
                for k, v in scores:
                    rule_limits = " and ".join(f"{op} {fmt(lim)}" for op, lim, _, _ in limits.get(k, []))
                    cls = " class=fired" if k in cols else ""
                    h.add(f"<tr{cls}><td>{e(k)}</td><td class=n>{e(_score(v))}</td><td>{e(rule_limits)}</td></tr>")
                h.add("</table>")
            text = d.get("text") or ""
            more = f"\n… ({len(text):,} characters in the sample)" if len(text) > SAMPLE_TEXT_CHARS else ""
            h.add(f"<p class=muted>id {e(str(d.get('id')))} · domain {e(str(d.get('domain')))} · source "
                  f"{e(str(d.get('source')))}</p><pre class=text>{e(text[:SAMPLE_TEXT_CHARS] + more)}</pre></details>")
        h.add("</details>")
