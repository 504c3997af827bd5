"""trafilatura as shipped against trafilatura with this project's speed-ups
(stages/trafilatura_speedups.py), on the real pages of ../shared/corpus/bench-warc.

For every 2xx HTML page of the chosen files, in every language (the cascade is not applied:
every page is extracted), with the FineWeb recipe's extract settings (favor_precision, tables):
1. the text of stock trafilatura and of trafilatura with the speed-ups, and their CPU seconds;
2. a third pass where every replaced expression runs both the Python function and the
   XPath on the tree trafilatura is pruning, and the two element lists are compared.
The files are split over --procs processes (each measures its own CPU time).

Run from the repository root:
  .venv/bin/python benchmarks/extraction_speedups.py [--quick] [--files 10] [--procs 2]
Last line: JSON with pages, text_diffs, calls, call_mismatches, stock_cpu_s, fast_cpu_s,
speedup, replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _measure(files: list[str]) -> dict:
    from cascade import html_pages

    import stages.trafilatura_speedups as sp
    from curator.manifest import load
    from stages.extractors import extract_trafilatura

    settings = load(ROOT / "manifests" / "fineweb.yaml").extract
    pages = [html for _, _, html in html_pages(files)]

    def texts() -> tuple[list, float]:
        out, started = [], time.process_time()
        for html in pages:
            try:
                out.append(extract_trafilatura(html, settings))
            except Exception as e:  # the same page must fail the same way on both sides
                out.append(f"error {type(e).__name__}")
        return out, time.process_time() - started

    with sp.stock():
        stock, stock_s = texts()
    replaced = list(sp.fast_prune_expressions())
    fast, fast_s = texts()
    seen = {"calls": 0, "mismatches": 0}

    def record(_path: str, same: bool, _found: int) -> None:
        seen["calls"] += 1
        seen["mismatches"] += not same

    with sp.checked(record):
        checked, _ = texts()
    diffs = sum(a != b for a, b in zip(stock, fast)) + sum(a != b for a, b in zip(stock, checked))
    return {"pages": len(pages), "text_diffs": diffs, "calls": seen["calls"], "call_mismatches": seen["mismatches"],
            "stock_cpu_s": stock_s, "fast_cpu_s": fast_s, "replaced": replaced}


def main() -> None:
    from cascade import SHARED

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 bench file")
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--procs", type=int, default=2)
    args = ap.parse_args()
    files = sorted(str(p) for p in (SHARED / "bench-warc").glob("*.warc.gz"))[: 1 if args.quick else args.files]
    if not files:
        sys.exit(f"no bench-warc files under {SHARED}: set CURATOR_SHARED_CORPUS")
    procs = max(1, min(args.procs, len(files)))
    groups = [files[i::procs] for i in range(procs)]
    with ProcessPoolExecutor(procs) as pool:
        parts = list(pool.map(_measure, groups))
    total = {k: sum(p[k] for p in parts) for k in ("pages", "text_diffs", "calls", "call_mismatches", "stock_cpu_s", "fast_cpu_s")}
    total["speedup"] = round(total["stock_cpu_s"] / max(total["fast_cpu_s"], 1e-9), 3)
    total["stock_cpu_s"], total["fast_cpu_s"] = round(total["stock_cpu_s"], 1), round(total["fast_cpu_s"], 1)
    total["replaced"] = len(parts[0]["replaced"])
    print(f"trafilatura stock vs with speed-ups, {total['pages']:,} pages of {len(files)} bench files, "
          f"{procs} processes (load average {os.getloadavg()[0]:.1f})")
    print(f"{'':24s}{'stock':>10s}{'speed-ups':>12s}")
    print(f"{'CPU seconds':24s}{total['stock_cpu_s']:>10.1f}{total['fast_cpu_s']:>12.1f}   ({total['speedup']}x)")
    print(f"pages whose text differs: {total['text_diffs']}; expressions replaced: {total['replaced']} "
          f"({', '.join(parts[0]['replaced'])})")
    print(f"function vs XPath on the trees pruned: {total['calls']:,} calls, {total['call_mismatches']} differ")
    print(json.dumps({"benchmark": "extraction_speedups", "quick": args.quick, **total}))


if __name__ == "__main__":
    main()
