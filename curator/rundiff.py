"""`curator diff RUN_A RUN_B`: what changed between two runs, e.g. after a threshold change.

Settings that differ (from the two manifest.lock.yaml files), then documents kept and
dropped per phase and domain, documents per drop reason, tokens per domain after mixing
and per sequence length in the shards; only rows that changed are shown. Both runs are
read through curator.runstats, with size caps and the bounded YAML reader. Settings name
inputs, so the diff passes through `curator.terminal.redact_all` (a lock file written before
input secrets were masked prints none), and the tables print data through `text`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curator import runstats
from curator.terminal import redact_all, text


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys: {"mixture.weights.web": 0.7, "stages[1].gopher_quality.min_doc_words": 50}."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = value
    return out


def _settings(run_dir: Path) -> dict[str, Any]:
    """The run's resolved manifest, flattened. The lock file holds every stage's settings with
    their defaults filled in, so a threshold left at its default compares as it is, without
    validating anything again (a run of a version before that compares as written)."""
    data = runstats.read_lock(run_dir)
    data["stages"] = [{name: settings} for name, settings in runstats.lock_stages(data)]
    return flatten(data)


def _change(a: int | None, b: int | None) -> dict[str, Any]:
    return {"a": a, "b": b, "change": (b or 0) - (a or 0)}


def diff(run_a: str | Path, run_b: str | Path) -> dict[str, Any]:
    a_dir, b_dir = runstats.check_run_dir(run_a), runstats.check_run_dir(run_b)
    sa, sb = runstats.load_phase_stats(a_dir), runstats.load_phase_stats(b_dir)
    conf_a, conf_b = _settings(a_dir), _settings(b_dir)
    settings = [
        {"key": k, "a": conf_a.get(k), "b": conf_b.get(k)}
        for k in sorted(set(conf_a) | set(conf_b))
        if conf_a.get(k) != conf_b.get(k) and k != "output.dir"
    ]

    fa = {(r["phase"], r["domain"]): r for r in runstats.funnel(sa)}
    fb = {(r["phase"], r["domain"]): r for r in runstats.funnel(sb)}
    order = list(runstats.PHASE_DIRS)
    funnel = []
    for key in sorted(set(fa) | set(fb), key=lambda k: (order.index(k[0]), k[1])):
        ra, rb = fa.get(key, {}), fb.get(key, {})
        row = {"phase": key[0], "domain": key[1]}
        for field in ("docs_in", "kept", "dropped", "tokens_kept"):
            row[field] = _change(ra.get(field), rb.get(field))
        if any(row[f]["a"] != row[f]["b"] for f in ("docs_in", "kept", "dropped", "tokens_kept")):
            funnel.append(row)

    def reasons(stats):
        return {(p, r): n for p, s in stats.items() for r, n in s.get("dropped", {}).items()}

    ra, rb = reasons(sa), reasons(sb)
    drop = [
        {"phase": p, "reason": r, **_change(ra.get((p, r)), rb.get((p, r)))}
        for p, r in sorted(set(ra) | set(rb), key=lambda k: (order.index(k[0]), k[1]))
        if ra.get((p, r)) != rb.get((p, r))
    ]

    ca = (runstats.subdoc(sa) or {}).get("counters", {})
    cb = (runstats.subdoc(sb) or {}).get("counters", {})
    subdoc = [{"counter": k, **_change(ca.get(k), cb.get(k))} for k in runstats.SUBDOC_COUNTERS if ca.get(k) != cb.get(k)]
    ma = {m["domain"]: m for m in runstats.mixture(sa)}
    mb = {m["domain"]: m for m in runstats.mixture(sb)}
    mixture = [
        {"domain": d, **_change(ma.get(d, {}).get("realised_tokens"), mb.get(d, {}).get("realised_tokens"))}
        for d in sorted(set(ma) | set(mb))
        if ma.get(d, {}).get("realised_tokens") != mb.get(d, {}).get("realised_tokens")
    ]
    ha = {s["seq_len"]: s for s in runstats.shards(a_dir, sa)}
    hb = {s["seq_len"]: s for s in runstats.shards(b_dir, sb)}
    shards = []
    for n in sorted(set(ha) | set(hb)):
        row = {"seq_len": n, **{f: _change(ha.get(n, {}).get(f), hb.get(n, {}).get(f)) for f in ("tokens", "sequences", "files")}}
        if any(row[f]["a"] != row[f]["b"] for f in ("tokens", "sequences", "files")):
            shards.append(row)
    return redact_all({
        "a": str(a_dir), "b": str(b_dir),
        "settings": settings, "funnel": funnel, "drop_reasons": drop, "subdoc": subdoc, "mixture_tokens": mixture,
        "shards": shards, "same": not (settings or funnel or drop or subdoc or mixture or shards),
    })


def _signed(x: int) -> str:
    return f"{x:+,}" if x else "0"


def print_diff(run_a: str | Path, run_b: str | Path, console=None) -> dict[str, Any]:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    d = diff(run_a, run_b)
    Text = text  # data is never read as rich markup, and its control characters are escaped
    n = runstats.NO_LANG

    def num(x):
        return n if x is None else f"{x:,}"

    console.print(Text(f"A = {d['a']}\nB = {d['b']}"))
    if d["same"]:
        console.print(Text("no differences in settings, funnel, drop reasons, mixture or shards"))
        return d
    if d["settings"]:
        t = Table(title="settings")
        for col in ("setting", "A", "B"):
            t.add_column(col)
        for s in d["settings"]:
            t.add_row(Text(s["key"]), Text(repr(s["a"])), Text(repr(s["b"])))
        console.print(t)
    if d["funnel"]:
        t = Table(title="funnel (A -> B)")
        for col in ("phase", "domain", "docs in", "kept", "dropped", "tokens kept"):
            t.add_column(col, justify="left" if col in ("phase", "domain") else "right", no_wrap=True)
        for r in d["funnel"]:
            cells = [f"{num(r[f]['a'])} -> {num(r[f]['b'])} ({_signed(r[f]['change'])})" if r[f]["a"] != r[f]["b"]
                     else num(r[f]["a"]) for f in ("docs_in", "kept", "dropped", "tokens_kept")]
            t.add_row(Text(r["phase"]), Text(r["domain"]), *map(Text, cells))
        console.print(t)
    def changes(title: str, keys: tuple[str, ...], rows: list[dict]) -> None:
        """One table of A, B and the change per row, labelled by `keys`."""
        t = Table(title=title)
        for col in (*keys, "A", "B", "change"):
            t.add_column(col, justify="left" if col in keys else "right")
        for r in rows:
            t.add_row(*(Text(r[k]) for k in keys), Text(num(r["a"])), Text(num(r["b"])), Text(_signed(r["change"])))
        console.print(t)

    if d["drop_reasons"]:
        changes("documents per drop reason", ("phase", "reason"), d["drop_reasons"])
    if d["subdoc"]:
        changes("cut below the document (dedup)", ("counter",), d["subdoc"])
    if d["mixture_tokens"]:
        changes("tokens per domain after mixing", ("domain",), d["mixture_tokens"])
    if d["shards"]:
        t = Table(title="shards")
        for col in ("seq_len", "tokens A -> B", "sequences A -> B", "files A -> B"):
            t.add_column(col, justify="right")
        for r in d["shards"]:
            t.add_row(Text(r["seq_len"]), *(Text(f"{num(r[f]['a'])} -> {num(r[f]['b'])}") for f in ("tokens", "sequences", "files")))
        console.print(t)
    return d
