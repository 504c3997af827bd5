"""The run's funnel: read back from stats/*.json, printed in the terminal and as report.html."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from curator.phases import write_atomic

PHASE_FILES = ("extracted", "annotated", "deduped", "tokenized", "mixed", "shards")


def load_stats(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    run_dir = Path(run_dir)
    out = {}
    for name in PHASE_FILES:
        p = run_dir / "stats" / f"{name}.json"
        if p.is_file():
            out[name] = json.loads(p.read_text())
    return out


def funnel_rows(stats: dict[str, dict[str, Any]]) -> list[tuple[str, str, int, int, int, str]]:
    """(phase, domain, in, kept, dropped, top reasons) for every phase with a funnel."""
    rows = []
    for phase, s in stats.items():
        for domain, d in sorted(s.get("domains", {}).items()):
            dropped = sum(d["dropped"].values())
            top = sorted(d["dropped"].items(), key=lambda kv: (-kv[1], kv[0]))[:4]
            rows.append((phase, domain, d["docs_in"], d["kept"], dropped, ", ".join(f"{r} {n}" for r, n in top)))
    return rows


def print_summary(run_dir: str | Path, echo=print) -> None:
    from rich.console import Console
    from rich.table import Table

    stats = load_stats(run_dir)
    console = Console()
    t = Table(title=f"funnel of {run_dir}")
    for col in ("phase", "domain", "in", "kept", "dropped", "top drop reasons"):
        t.add_column(col, justify="right" if col in ("in", "kept", "dropped") else "left")
    for row in funnel_rows(stats):
        t.add_row(*[f"{x:,}" if isinstance(x, int) else x for x in row])
    console.print(t)
    mix = stats.get("mixed", {})
    if mix.get("plan"):
        m = Table(title="mixture")
        for col in ("domain", "weight", "available tokens", "target tokens", "epochs", "realised tokens"):
            m.add_column(col)
        for d, p in mix["plan"].items():
            real = mix.get("realised", {}).get(d, {}).get("tokens", 0)
            m.add_row(d, f"{p['weight']:.3f}", f"{p['available_tokens']:,}", f"{p['target_tokens']:,}", f"{p['epochs']:.3f}", f"{real:,}")
        console.print(m)
    shards = stats.get("shards", {})
    for n, s in shards.get("seq_lens", {}).items():
        console.print(f"shards seq_len {n}: {s['tokens']:,} tokens, {s['sequences']:,} sequences, {s['documents']:,} documents")


def write_report(run_dir: str | Path) -> Path:
    """A self-contained report.html (no network needed): funnel, mixture, shards, rejects."""
    run_dir = Path(run_dir)
    stats = load_stats(run_dir)
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>curator report</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}td.n{text-align:right}"
        "pre{white-space:pre-wrap;max-height:12em;overflow:auto;background:#f6f6f6}</style></head><body>",
        f"<h1>Run {e(run_dir.name)}</h1><h2 id='funnel'>Funnel</h2><table><tr><th>phase</th><th>domain</th>"
        "<th>in</th><th>kept</th><th>dropped</th><th>top drop reasons</th></tr>",
    ]
    for phase, domain, n_in, kept, dropped, top in funnel_rows(stats):
        parts.append(
            f"<tr><td>{e(phase)}</td><td>{e(domain)}</td><td class=n>{n_in}</td>"
            f"<td class=n>{kept}</td><td class=n>{dropped}</td><td>{e(top)}</td></tr>"
        )
    parts.append("</table>")
    mix = stats.get("mixed", {})
    if mix.get("plan"):
        parts.append("<h2 id='mixture'>Mixture</h2><table><tr><th>domain</th><th>weight</th><th>available</th>"
                     "<th>target</th><th>epochs</th><th>realised</th></tr>")
        for d, p in mix["plan"].items():
            real = mix.get("realised", {}).get(d, {}).get("tokens", 0)
            parts.append(f"<tr><td>{e(d)}</td><td>{p['weight']:.3f}</td><td class=n>{p['available_tokens']}</td>"
                         f"<td class=n>{p['target_tokens']}</td><td>{p['epochs']:.3f}</td><td class=n>{real}</td></tr>")
        parts.append("</table>")
    shards = stats.get("shards", {})
    if shards:
        parts.append("<h2 id='shards'>Shards</h2><table><tr><th>seq_len</th><th>tokens</th><th>sequences</th><th>documents</th></tr>")
        for n, s in shards.get("seq_lens", {}).items():
            parts.append(f"<tr><td>{e(n)}</td><td class=n>{s['tokens']}</td><td class=n>{s['sequences']}</td><td class=n>{s['documents']}</td></tr>")
        parts.append("</table>")
    rejected = sorted((run_dir / "rejected").glob("*.jsonl"))
    if rejected:
        parts.append("<h2 id='rejected'>Rejected samples</h2>")
        for f in rejected:
            docs = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
            parts.append(f"<details><summary>{e(f.stem)} ({len(docs)} shown)</summary>")
            for d in docs[:5]:
                parts.append(f"<p>{e(str(d.get('url') or d['id']))}</p><pre>{e((d.get('text') or '')[:2000])}</pre>")
            parts.append("</details>")
    parts.append("</body></html>")
    path = run_dir / "report.html"
    write_atomic(path, "\n".join(parts))
    return path
