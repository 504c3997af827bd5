"""A run, shown to people: `curator stats` in the terminal, report.html, and rejected samples.

The numbers come from curator.runstats; this module only lays them out. report.html is one
self-contained file (inline CSS and SVG, no script, nothing fetched), so it opens offline
and can be mailed around; it is rendered from Jinja2 templates (curator/templates/) with
autoescaping, so every piece of document text or URL in it is HTML-escaped. Data
reaches the terminal and the page only through curator.terminal: control characters and
bidi overrides escaped, never read as rich markup, and user-info and secret query values of
input URLs masked even when an older run wrote them into its stats or samples.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from curator import runstats
from curator.errors import ManifestError
from curator.phases import write_atomic
from curator.plots import bar_svg, fmt, histogram_svg
from curator.terminal import shown, shown_url, text, visible

PHASE_FILES = tuple(runstats.PHASE_DIRS.values())
SECTIONS = {
    "funnel": "Funnel",
    "scores": "Scores and thresholds",
    "languages": "Languages",
    "dedup": "Duplicate clusters",
    "mixture": "Mixture",
    "shards": "Shards",
    "contamination": "Benchmark contamination",
    "optout": "Web opt-outs",
    "rejected": "Rejected documents",
}
SAMPLE_TEXT_CHARS = 3000


def load_stats(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """stats/<dir>.json by output-folder name (extracted, annotated, ...)."""
    return {runstats.PHASE_DIRS[p]: s for p, s in runstats.load_phase_stats(run_dir).items()}


def _n(x: Any) -> str:
    return "" if x is None else (f"{x:,}" if isinstance(x, int) else str(x))


def _bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


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

    console = console or Console()
    info = runstats.collect(run_dir)
    T = text  # data is never read as rich markup, and its control characters are escaped

    t = Table(title=T(f"funnel of {info['run_dir']}"))
    for col in ("phase", "domain", "docs in", "kept", "dropped", "tokens in", "tokens kept", "tokens dropped"):
        t.add_column(col, justify="left" if col in ("phase", "domain") else "right", no_wrap=True)
    for r in info["funnel"]:
        t.add_row(T(r["phase"]), T(r["domain"]), *(T(_n(r.get(c))) for c in (
            "docs_in", "kept", "dropped", "tokens_in", "tokens_kept", "tokens_dropped")))
    console.print(t)
    written = {p: b for p, b in info["bytes_written"].items() if b is not None}
    if written:
        console.print(T("written: " + ", ".join(f"{p} {_bytes(b)} in {_n(info['seconds'].get(p))} s" for p, b in written.items())))

    groups = by_domain_and_language(info["drop_reasons"])
    if groups:
        t = Table(title="drop reasons per domain and language (language '-': not identified)")
        for col in ("domain", "language", "dropped", "top reasons"):
            t.add_column(col, justify="right" if col == "dropped" else "left")
        for g in groups[:max_rows]:
            t.add_row(T(g["domain"]), T(g["lang"]), T(_n(g["dropped"])), T(_top(g["reasons"])))
        console.print(t)
        if len(groups) > max_rows:
            console.print(T(f"({len(groups) - max_rows} more domain/language pairs: curator stats --json)"))

    if info["input_problems"]:
        t = Table(title="broken inputs and failed extractions (extract)")
        for col in ("input", "reason", "documents"):
            t.add_column(col, justify="right" if col == "documents" else "left")
        for r in info["input_problems"][:max_rows]:
            t.add_row(T(r["file"]), T(r["reason"]), T(_n(r["docs"])))
        console.print(t)
        if len(info["input_problems"]) > max_rows:
            console.print(T(f"({len(info['input_problems']) - max_rows} more: curator stats --json)"))

    if info["contamination"]:
        t = Table(title="benchmark contamination (decontaminate): documents and words matched, items seen")
        for col in ("benchmark", "documents", "tokens (words)", "items seen", "items", "share seen"):
            t.add_column(col, justify="left" if col == "benchmark" else "right")
        for r in info["contamination"]:
            share = "-" if r["share_seen"] is None else f"{r['share_seen']:.1%}"
            t.add_row(T(r["benchmark"]), T(_n(r["docs"])), T(_n(r["tokens"])), T(_n(r["items_seen"])), T(_n(r["items"])), T(share))
        console.print(t)

    if info["web_optout"]:
        for table in optout_tables(info["web_optout"]):
            t = Table(title=T(table["title"]))
            for i, col in enumerate(table["header"]):
                t.add_column(col, justify="right" if i in table["numeric"] else "left")
            for row in table["rows"]:
                t.add_row(*(T(_n(x)) for x in row))
            console.print(t)

    for kind, sizes in info["dedup_cluster_sizes"].items():
        t = Table(title=T(f"{kind} duplicate clusters (kept documents by cluster size)"))
        t.add_column("cluster size", justify="right")
        t.add_column("clusters", justify="right")
        for size, n in sizes.items():
            t.add_row(T(size), T(_n(n)))
        console.print(t)

    if info.get("prior_dedup"):
        t = Table(title="dedup against released corpora (dedup.against): indexes (rows held) and removals")
        for col in ("", "", "count"):
            t.add_column(col, justify="right" if col else "left")
        for r in info["prior_dedup"]:
            t.add_row(T(r["what"]), T(r["detail"]), T("" if r["count"] is None else _n(r["count"])))
        console.print(t)

    if info["subdoc_dedup"]:
        sub = info["subdoc_dedup"]
        t = Table(title="below the document (dedup): what was cut")
        t.add_column("counter")
        t.add_column("total", justify="right")
        for k, v in sub["counters"].items():
            t.add_row(T(k), T(_n(v)))
        console.print(t)
        if sub["top_removed_lines"]:
            t = Table(title="most frequent removed lines")
            t.add_column("line")
            t.add_column("documents", justify="right")
            for x in sub["top_removed_lines"]:
                t.add_row(T(x["line"]), T(_n(x["docs"])))
            console.print(t)

    if info["mixture"]:
        t = Table(title="mixture")
        for col in ("domain", "weight", "available tokens", "target tokens", "epochs", "realised tokens", "realised docs"):
            t.add_column(col, justify="left" if col == "domain" else "right")
        for m in info["mixture"]:
            t.add_row(T(m["domain"]), T(_f(m["weight"])), T(_n(m["available_tokens"])), T(_n(m["target_tokens"])),
                      T(_f(m["epochs"])), T(_n(m["realised_tokens"])), T(_n(m["realised_documents"])))
        console.print(t)

    if info["shards"]:
        t = Table(title="shards")
        for col in ("seq_len", "files", "bytes", "tokens", "sequences", "documents", "docs cut", "padding"):
            t.add_column(col, justify="right")
        for s in info["shards"]:
            t.add_row(*(T(_n(s[c])) for c in ("seq_len", "files", "bytes", "tokens", "sequences", "documents")),
                      T(_share(s.get("documents_cut_share"))), T(_share(s.get("padding_share"))))
        console.print(t)

    if info["takedowns"]:
        t = Table(title="takedowns (removed from the built shards; curator takedown)")
        for col in ("at", "domains", "urls", "ids", "documents", "tokens", "shards rewritten"):
            t.add_column(col, justify="left" if col in ("at", "domains") else "right")
        for r in info["takedowns"]:
            t.add_row(T(r["at"]), T(", ".join(r["domains"]) or "-"), *(T(_n(r[c])) for c in (
                "urls", "ids", "documents", "tokens", "shards_rewritten")))
        console.print(t)

    if info["accounting_problems"]:
        console.print(T("accounting: documents do not add up:", style="bold red"))
        for p in info["accounting_problems"]:
            console.print(T(f"  {p}", style="red"))
    else:
        console.print(T("accounting: ok (docs in = kept + dropped in every phase and domain)"))
    return info


def optout_tables(o: dict[str, Any]) -> list[dict[str, Any]]:
    """The web opt-out stage's counts as tables (title, header, rows, numeric columns): per
    rule, and per rule the domains with most pages."""
    rules = o.get("rules") or {}
    robots = o.get("robots") or {}
    title = (f"web opt-outs (web_optout): {_n(o.get('pages_checked'))} pages checked, "
             f"{_n(o.get('pages_with_robots_capture'))} with a robots.txt capture "
             f"({_n(robots.get('robots_records', 0))} read, {_n(robots.get('robots_bad_records', 0))} unreadable)")
    out = [{"title": title, "header": ["rule", "pages", "dropped", "domains"], "numeric": {1, 2, 3},
            "rows": [[r, e.get("pages"), e.get("dropped"), e.get("sites")] for r, e in rules.items()]}]
    rows = [[r, d.get("domain"), d.get("pages"), d.get("dropped")]
            for r, e in rules.items() for d in e.get("top_domains") or []]
    if rows:
        out.append({"title": "web opt-outs per domain (most pages first, per rule)",
                    "header": ["rule", "domain", "pages", "dropped"], "numeric": {2, 3}, "rows": rows})
    return out


def _f(x: Any) -> str:
    """A weight or epoch count: 3 decimals when it is a number (stats are data, may be anything)."""
    return f"{x:.3f}" if isinstance(x, (int, float)) and not isinstance(x, bool) else _n(x)


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


MAX_SAMPLE_LINE = 1 << 20
"""A line of rejected/<reason>.jsonl longer than this (the run writes at most 5,000
characters of text per document) is skipped, not read whole."""
MAX_SAMPLES = 1000
"""Documents read from one rejected/<reason>.jsonl at most (output.rejected_samples <= 1000)."""
MAX_SAMPLE_FILES = 1000
"""rejected/*.jsonl files shown in report.html at most (one per drop reason)."""


def _sample_file(run_dir: Path, reason: str) -> Path | None:
    """rejected/<reason>.jsonl, when `reason` is one plain file name (stats are data: a
    reason like `../x` must not name a file outside rejected/)."""
    if not reason or reason in (".", "..") or any(c in reason for c in "/\\\0"):
        return None
    path = run_dir / "rejected" / f"{reason}.jsonl"
    return path if path.is_file() else None


def read_samples(path: Path, n: int | None = None) -> list[dict[str, Any]]:
    """Up to `n` (at most MAX_SAMPLES) documents of a rejected/<reason>.jsonl, each line read
    with a bound; lines that are too long or not JSON objects are skipped."""
    n = MAX_SAMPLES if n is None else min(n, MAX_SAMPLES)
    docs: list[dict[str, Any]] = []
    with open(path, "rb") as f:
        while len(docs) < n:
            line = f.readline(MAX_SAMPLE_LINE + 1)
            if not line:
                break
            if len(line) > MAX_SAMPLE_LINE and not line.endswith(b"\n"):
                while (rest := f.readline(MAX_SAMPLE_LINE)) and not rest.endswith(b"\n"):
                    pass
                continue
            try:
                d = json.loads(line.decode("utf-8", "replace"))
            except ValueError:
                continue
            if isinstance(d, dict):
                docs.append(d)
    return docs


def inspect_rejected(run_dir: str | Path, reason: str, n: int = 5) -> list[dict[str, Any]]:
    """Up to `n` documents dropped for `reason`, smallest id first, read from the parquet of
    the phase that dropped them (so more than the few samples under rejected/ can be read);
    when that parquet is gone (removed to save space), from the samples under rejected/."""
    import pyarrow.compute as pc

    run_dir = runstats.check_run_dir(run_dir)
    known = _reason_phase(runstats.load_phase_stats(run_dir))
    if reason not in known:
        raise ManifestError(
            f"{shown(run_dir)}: no document was dropped for {reason!r}; reasons in this run: "
            f"{shown(', '.join(sorted(map(str, known)))) or 'none'}"
        )
    phase = known[reason][0]
    dataset = runstats._phase_dataset(run_dir, runstats.PHASE_DIRS.get(phase, "shards"))
    if dataset is None:
        samples = _sample_file(run_dir, reason)
        if samples is None:
            raise ManifestError(f"{shown(run_dir)}: the {shown(phase)} phase's parquet is missing and "
                                f"rejected/ holds no sample for {reason!r}; re-run the phase")
        docs = [d for d in read_samples(samples) if d.get("drop_reason", reason) == reason]
        return sorted(docs, key=lambda d: str(d.get("id")))[:n]
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
    """`curator inspect RUN [--reason R] [-n N]`: the reasons with counts, or samples of one.
    Every value from the run is printed through curator.terminal (escaped, redacted)."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    run_dir = runstats.check_run_dir(run_dir)
    if reason is None:
        known = _reason_phase(runstats.load_phase_stats(run_dir))
        t = Table(title=text(f"drop reasons of {run_dir} (curator inspect RUN --reason REASON)"))
        for col in ("reason", "phase", "documents"):
            t.add_column(col, justify="right" if col == "documents" else "left")
        order = sorted(known.items(), key=lambda kv: (-kv[1][1] if isinstance(kv[1][1], int) else 0, str(kv[0])))
        for r, (phase, count) in order:
            t.add_row(text(r), text(phase), text(_n(count)))
        console.print(t)
        return
    limits = runstats.thresholds(run_dir)
    cols = rule_columns(limits, reason)
    docs = inspect_rejected(run_dir, reason, n)
    for d in docs:
        url = d.get("url")
        head = Text(shown_url(url) if url else shown(d.get("id")), style="bold")
        head.append("\n")
        head.append(f"id {shown(d.get('id'))}  domain {shown(d.get('domain'))}  lang {shown(d.get('lang') or '-')}")
        for c in cols:
            limit = " and ".join(f"{op} {fmt(v)}" for op, v, rule, _ in limits[c] if rule == reason)
            head.append(f"\n{c} = {shown(_score(d.get(c)))}  (keep {limit})", style="yellow")
        body = d.get("text") or ""
        if not isinstance(body, str):
            body = str(body)
        more = f"\n... ({len(body):,} characters)" if len(body) > SAMPLE_TEXT_CHARS else ""
        console.print(Panel(Text.assemble(head, "\n\n", text(body[:SAMPLE_TEXT_CHARS] + more, body=True)),
                            title=text(reason), title_align="left"))
    console.print(text(f"{len(docs)} document(s) dropped for {reason} shown"))


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
TEMPLATES = Path(__file__).with_name("templates")


def _finalize(value: Any) -> Any:
    """What every `{{ value }}` of the templates goes through before autoescape: data is a
    label about inputs or the run, so secrets are masked and control characters escaped
    (curator.terminal.shown); Markup (a plot, a URL or text already made safe) passes."""
    from markupsafe import Markup

    if isinstance(value, Markup):
        return value
    return shown("" if value is None else value)


def _safe_url(url: Any):
    """A document's own URL (user-info masked, controls escaped), HTML-escaped."""
    from markupsafe import escape

    return escape(shown_url(url))


def _safe_body(body: Any):
    """A document's text: lines and tabs kept, other controls escaped, HTML-escaped."""
    from markupsafe import escape

    return escape(visible(body, body=True))


def _environment():
    """The Jinja2 environment of report.html: autoescape on for every template (so a value
    can only reach the page as markup if report.py marks it so), undefined names an error."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, finalize=_finalize,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(n=_n, url=_safe_url, body=_safe_body)
    return env


def _table(header: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> dict[str, Any]:
    return {"header": header, "rows": rows, "numeric": set(numeric)}


def _svg(svg: str):
    """A plot of curator.plots, which escapes its own labels: trusted markup."""
    from markupsafe import Markup

    return Markup(svg)


def _labels(values: list[Any]) -> list[str]:
    """Plot labels from data; curator.plots HTML-escapes them."""
    return [shown(v) for v in values]


def report_context(run_dir: Path) -> dict[str, Any]:
    """Everything report.html shows, as plain values (and the SVG plots), by section."""
    from markupsafe import Markup

    stats = runstats.load_phase_stats(run_dir)
    ctx: dict[str, Any] = {
        "run": run_dir.name, "css": Markup(CSS), "sections": SECTIONS,
        "accounting": runstats.accounting_problems(stats),
        "funnel": _funnel(run_dir, stats), "scores": None, "languages": None, "dedup": None, "subdoc": None,
        "prior": None, "mixture": None, "shards": None, "shard_plots": [], "contamination": None, "optout": None, "rejected": _rejected(run_dir, stats),
    }
    hists = runstats.score_histograms(run_dir)
    ctx["scores"] = [
        _svg(histogram_svg(x["edges"], {"kept": x["kept"], "dropped": x["dropped"]}, shown(x["column"]),
                           [(op, v, shown(rule)) for op, v, rule, _ in x["thresholds"]],
                           f"{x['phase_dir']}; {x['null']:,} not scored"))
        for x in hists
    ]
    langs = runstats.languages(run_dir)
    if langs:
        top = langs[:30]
        ctx["languages"] = {
            "plots": [_svg(bar_svg(_labels([r["lang"] for r in top]), {"kept": [r["kept"] for r in top],
                               "dropped": [r["dropped"] for r in top]}, "documents per language (annotate)",
                               "language", "documents"))],
            "table": _table(["language", "kept", "dropped"], [[r["lang"], r["kept"], r["dropped"]] for r in langs],
                            numeric={1, 2}),
        }
    clusters = runstats.cluster_sizes(stats)
    if clusters:
        ctx["dedup"] = {
            "plots": [_svg(bar_svg(_labels(sizes), {"clusters": list(sizes.values())},
                                   f"{kind} duplicate clusters by size", "cluster size (documents)", "clusters"))
                      for kind, sizes in clusters.items()],
            "tables": [(kind, _table(["cluster size", "clusters"], [[s, n] for s, n in sizes.items()], numeric={0, 1}))
                       for kind, sizes in clusters.items()],
        }
    sub = runstats.subdoc(stats)
    if sub:
        ctx["subdoc"] = {
            "counters": _table(["counter", "total"], [[k, v] for k, v in sub["counters"].items()], numeric={1}),
            "lines": _table(["removed line (normalised)", "documents"],
                            [[x["line"], x["docs"]] for x in sub["top_removed_lines"]], numeric={1}),
        }
    prior = runstats.prior_dedup(stats)
    if prior:
        ctx["prior"] = _table(["", "", "documents"], [[r["what"], r["detail"], "" if r["count"] is None else r["count"]]
                                                      for r in prior], numeric={2})
    mix = runstats.mixture(stats)
    if mix:
        ctx["mixture"] = {
            "plots": [_svg(bar_svg(_labels([m["domain"] for m in mix]), {
                "available": [m["available_tokens"] for m in mix], "target": [m["target_tokens"] for m in mix],
                "realised": [m["realised_tokens"] for m in mix]}, "tokens per domain before and after mixing",
                "domain", "tokens"))],
            "table": _table(
                ["domain", "weight", "available tokens", "target tokens", "epochs", "realised tokens", "realised documents"],
                [[m["domain"], _f(m["weight"]), m["available_tokens"], m["target_tokens"], _f(m["epochs"]),
                  m["realised_tokens"], m["realised_documents"]] for m in mix], numeric={1, 2, 3, 4, 5, 6}),
        }
    contam = runstats.contamination(run_dir, stats)
    if contam:
        ctx["contamination"] = _table(
            ["benchmark", "documents", "tokens (words)", "items seen", "items", "share of items seen"],
            [[r["benchmark"], r["docs"], r["tokens"], r["items_seen"], r["items"],
              "-" if r["share_seen"] is None else f"{r['share_seen']:.1%}"] for r in contam], numeric={1, 2, 3, 4, 5})
    optout = runstats.web_optout(stats)
    if optout:
        ctx["optout"] = [(t["title"], _table(t["header"], t["rows"], numeric=t["numeric"])) for t in optout_tables(optout)]
    shard_rows = runstats.shards(run_dir, stats)
    if shard_rows:
        ctx["shards"] = _table(
            ["seq_len", "files", "bytes", "tokens", "sequences", "documents", "tokens per sequence", "packing",
             "documents cut", "padding"],
            [[s["seq_len"], s["files"], s["bytes"], s["tokens"], s["sequences"], s["documents"],
              s["tokens_per_sequence"], s["packing"], _share(s["documents_cut_share"]), _share(s["padding_share"])]
             for s in shard_rows], numeric=set(range(7)) | {8, 9})
        ctx["shard_plots"] = [
            _svg(histogram_svg(list(range(len(s["length_histogram"]) + 1)), {"documents": s["length_histogram"]},
                               f"document lengths, window {s['seq_len']} tokens",
                               [("<=", math.log2(s["seq_len"]), f"window {s['seq_len']}")],
                               x_label="log2(tokens per document)"))
            for s in shard_rows if s["length_histogram"]]
    return ctx


def _share(x) -> str:
    """A share as a percentage with two decimals; blank when not recorded."""
    return "" if x is None else f"{100 * x:.2f}%"


def _funnel(run_dir: Path, stats: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    funnel = runstats.funnel(stats)
    if not funnel:
        return None
    phases = [p for p in stats if p != "shards"]
    domains = sorted({r["domain"] for r in funnel})
    kept = {(r["phase"], r["domain"]): r["kept"] for r in funnel}
    groups = by_domain_and_language(runstats.drop_reasons(run_dir))
    problems_in = runstats.input_problems(stats)
    return {
        "table": _table(
            ["phase", "domain", "docs in", "kept", "dropped", "tokens in", "tokens kept", "tokens dropped", "drop reasons"],
            [[r["phase"], r["domain"], r["docs_in"], r["kept"], r["dropped"], r.get("tokens_in"),
              r.get("tokens_kept"), r.get("tokens_dropped"), _top(r["reasons"], 8)] for r in funnel],
            numeric={2, 3, 4, 5, 6, 7}),
        "plots": [_svg(bar_svg(_labels(phases), {shown(d): [kept.get((p, d), 0) for p in phases] for d in domains},
                               "documents kept after each phase", "phase", "documents"))],
        "groups": groups and _table(["domain", "language", "dropped", "reasons"],
                                    [[g["domain"], g["lang"], g["dropped"], _top(g["reasons"], 8)] for g in groups],
                                    numeric={2}),
        "inputs": problems_in and _table(["input", "reason", "documents"],
                                         [[r["file"], r["reason"], r["docs"]] for r in problems_in], numeric={2}),
        "cost": _table(["phase", "seconds", "bytes written"],
                       [[p, s.get("seconds"), s.get("bytes_written")] for p, s in stats.items()], numeric={1, 2}),
    }


def _rejected(run_dir: Path, stats: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per rejected/<reason>.jsonl (at most MAX_SAMPLE_FILES): its total, phase and sampled
    documents, each with the scores its rule looked at first."""
    files = sorted(p for p in (run_dir / "rejected").glob("*.jsonl") if p.is_file())[:MAX_SAMPLE_FILES]
    if not files:
        return []
    totals = _reason_phase(stats)
    limits = runstats.thresholds(run_dir)
    out = []
    for f in files:
        reason = f.name.removesuffix(".jsonl")
        samples = read_samples(f)
        phase, total = totals.get(reason, ("?", len(samples)))
        cols = rule_columns(limits, reason)
        docs = []
        for d in samples:
            numeric = [k for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
            scores = [(k, d.get(k)) for k in cols] + [(k, d[k]) for k in numeric if k not in cols]
            body = d.get("text") or ""
            body = body if isinstance(body, str) else str(body)
            more = f"\n… ({len(body):,} characters in the sample)" if len(body) > SAMPLE_TEXT_CHARS else ""
            docs.append({
                "segments": highlighted(body[:SAMPLE_TEXT_CHARS] + more, d.get("decontam_spans")),
                "url": d.get("url"), "id": d.get("id"), "lang": d.get("lang") or "-",
                "domain": d.get("domain"), "source": d.get("source"), "text": body[:SAMPLE_TEXT_CHARS] + more,
                "fired": ", ".join(f"{c} = {_score(d.get(c))}" for c in cols),
                "scores": [{"name": k, "value": _score(v), "fired": k in cols,
                            "limits": " and ".join(f"{op} {fmt(lim)}" for op, lim, _, _ in limits.get(k, []))}
                           for k, v in scores],
            })
        out.append({"reason": reason, "phase": phase, "total": total, "docs": docs})
    return out


def highlighted(body: str, spans: Any) -> list[tuple[str, bool]] | None:
    """`body` cut into (text, matched) pieces where the `decontaminate` stage's matched spans
    occur in it, for <mark> in the rejected samples; None when there is nothing to mark."""
    if not isinstance(spans, list):
        return None
    marks = []
    for span in spans[:5]:
        if isinstance(span, str) and span:
            at = body.find(span)
            if at >= 0:
                marks.append((at, at + len(span)))
    if not marks:
        return None
    out, last = [], 0
    for a, b in sorted(marks):
        if a < last:
            continue
        out += [(body[last:a], False), (body[a:b], True)]
        last = b
    out.append((body[last:], False))
    return [p for p in out if p[0]]


def write_report(run_dir: str | Path) -> Path:
    """Write <run>/report.html (and return its path); `curator run` calls it at the end."""
    run_dir = runstats.check_run_dir(run_dir)
    page = _environment().get_template("report.html").render(report_context(run_dir))
    path = run_dir / "report.html"
    # every value was redacted and escaped by the templates' finalize and autoescape; this
    # pass is the guard for any that was not (a plot label, a future section): no raw
    # control character reaches the page
    write_atomic(path, visible(page, body=True))
    return path
