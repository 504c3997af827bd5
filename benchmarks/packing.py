"""Packing: concat vs best_fit (stages/packing.py) at 2k, 4k and 8k tokens.

Two corpora, tokenized with GPT-2 (asset:gpt2) + EOS as the tokenize phase does:

  web        the 10k-page bench corpus (text extracted once from ../shared/corpus/bench-warc,
             cached by benchmarks/tokenization.py under .cache/bench/tokenization/)
  web+code   the same pages mixed with Python source files (the installed packages' own
             modules), 70 % web / 30 % code by tokens, in a seeded shuffled order

For each corpus, sequence length and packing the documents go through the packer the shards
phase uses (documents in, windows with input_ids + segment_ids + positions out), timed best
of three. Reported: the share of documents no longer than the window that are cut
(docs_cut), the share of window tokens that are padding, windows, and tokens per second;
concat is the peer (the same boundaries, the stream cut every seq_len tokens). A lookahead
sweep at 2k shows what bounding best_fit's memory costs in padding.

Run from the repository root: `.venv/bin/python benchmarks/packing.py [--quick]`
(--quick: one WARC file, about 1,000 pages). Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SEQ_LENS = (2048, 4096, 8192)
LOOKAHEADS = (64, 256, 1024, 4096)
MAX_CODE_FILE = 1 << 20  # bytes read per source file


def tokenized_web(files: int) -> list[np.ndarray]:
    import pyarrow.parquet as pq
    from tokenization import documents

    from curator.assets import resolve
    from stages.tokenize import load_tokenizer

    texts = pq.read_table(documents(files), columns=["text"]).column("text").to_pylist()
    tok = load_tokenizer(resolve("asset:gpt2"))
    eos = tok.eos_token_id
    return [np.array(ids + [eos], dtype=np.int64) for ids in tok.encode_batch(texts)]


def tokenized_code(tokens_wanted: int) -> list[np.ndarray]:
    """Python modules of the installed packages, in path order, until `tokens_wanted`."""
    from curator.assets import resolve
    from stages.tokenize import load_tokenizer

    tok = load_tokenizer(resolve("asset:gpt2"))
    eos = tok.eos_token_id
    site = Path(sysconfig.get_paths()["purelib"])
    out, total = [], 0
    for pkg in ("numpy", "pandas", "pyarrow", "pyspark", "transformers", "torch"):
        for path in sorted((site / pkg).rglob("*.py")):
            with open(path, "rb") as f:
                text = f.read(MAX_CODE_FILE).decode("utf-8", "replace")
            if not text.strip():
                continue
            ids = tok.encode_batch([text])[0]
            out.append(np.array(ids + [eos], dtype=np.int64))
            total += len(ids) + 1
            if total >= tokens_wanted:
                return out
    return out


def run(cls, docs: list[np.ndarray], seq_len: int, lookahead: int = 1024) -> dict:
    """Pack `docs` best of three; figures of the last run."""
    best = float("inf")
    for _ in range(3):
        packer = cls(seq_len, pad_id=0, lookahead=lookahead)
        started = time.perf_counter()
        for d in docs:
            packer.add(d)
        packer.flush()
        best = min(best, time.perf_counter() - started)
    tokens = sum(d.size for d in docs)
    return {
        "seconds": best, "tokens_per_s": tokens / best, "windows": packer.windows,
        "padding": packer.padding / (packer.windows * seq_len),
        "docs_cut": packer.documents_cut / packer.documents_fit if packer.documents_fit else 0.0,
        "docs_over": 1 - packer.documents_fit / packer.documents,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one WARC file (about 1,000 pages)")
    args = ap.parse_args()
    from stages.packing import BestFitPacker, ConcatPacker

    web = tokenized_web(1 if args.quick else 10)
    web_tokens = sum(d.size for d in web)
    code = tokenized_code(int(web_tokens * 0.3 / 0.7))
    mixed = web + code
    order = np.random.default_rng(1).permutation(len(mixed))
    corpora = {"web": web, "web+code": [mixed[i] for i in order]}
    for name, docs in corpora.items():
        lens = np.array([d.size for d in docs])
        print(f"{name}: {len(docs):,} documents, {lens.sum():,} tokens, median {int(np.median(lens))}, "
              f"p90 {int(np.percentile(lens, 90))}, max {lens.max():,}")

    print(f"\n{'corpus':<10}{'seq_len':>8}{'packing':>10}{'docs > L':>10}{'docs cut':>10}{'padding':>10}"
          f"{'windows':>9}{'Mtok/s':>9}")
    res: dict[tuple[str, int, str], dict] = {}
    for name, docs in corpora.items():
        for n in SEQ_LENS:
            for label, cls in (("concat", ConcatPacker), ("best_fit", BestFitPacker)):
                r = res[(name, n, label)] = run(cls, docs, n)
                print(f"{name:<10}{n:>8}{label:>10}{r['docs_over']:>10.3f}{r['docs_cut']:>10.3f}{r['padding']:>10.4f}"
                      f"{r['windows']:>9,}{r['tokens_per_s'] / 1e6:>9.1f}")

    print("\nbest_fit lookahead (documents placed together, and most windows open) at 2048, web:")
    print(f"{'lookahead':>10}{'padding':>10}{'Mtok/s':>9}{'open window MB':>16}")
    sweep = {}
    for la in LOOKAHEADS:
        r = sweep[la] = run(BestFitPacker, web, 2048, la)
        print(f"{la:>10}{r['padding']:>10.4f}{r['tokens_per_s'] / 1e6:>9.1f}{la * 2048 * 8 / 2**20:>16.0f}")

    head_bf, head_cc = res[("web", 2048, "best_fit")], res[("web", 2048, "concat")]
    out = {
        "docs_web": len(web), "docs_code": len(code), "tokens_web": int(web_tokens),
        "docs_cut_concat": round(head_cc["docs_cut"], 4),
        "docs_cut_best_fit": max(r["docs_cut"] for (_, _, p), r in res.items() if p == "best_fit"),
        "padding_best_fit": round(head_bf["padding"], 5),
        "packing_tokens_per_s": round(head_bf["tokens_per_s"]),
        "ratio_vs_concat": round(head_bf["tokens_per_s"] / head_cc["tokens_per_s"], 3),
        "load_average": round(os.getloadavg()[0], 1),
    }
    for (name, n, label), r in sorted(res.items()):
        key = f"{name.replace('+', '_')}_{n}_{label}"
        out[f"{key}_docs_cut"] = round(r["docs_cut"], 4)
        out[f"{key}_padding"] = round(r["padding"], 5)
        out[f"{key}_tokens_per_s"] = round(r["tokens_per_s"])
    for la, r in sweep.items():
        out[f"padding_lookahead_{la}"] = round(r["padding"], 5)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
