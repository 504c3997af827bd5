"""Heuristic filters against datatrove's: keep/drop agreement per filter, and chain throughput.

Documents: the real HTML pages of ../shared/corpus/bench-warc, extracted once with the
project's extractor (trafilatura) and cached in .cache/bench/ (extraction runs ~100 docs/s).

1. Agreement: Gopher quality, Gopher repetition, C4 and FineWeb, each run alone on every
   document, ours and datatrove 0.10.1's with default thresholds; the share of documents on
   which both keep or both drop, and the list of disagreements (written in full to
   .cache/bench/filters-disagreements.jsonl). Both run every rule on every page (ours with
   `lang` unset; datatrove with its English tokenizer). The agreement that counts
   (`agreement_min`) is over pages whose language (lid.176) is written with spaces between
   words: for zh/ja/th pages our filters deliberately skip or adapt their word rules when the
   language is known, so comparing English rules there says nothing; the agreement over all
   pages is printed too.
2. Throughput: the chain LID (fastText lid.176) -> Gopher repetition -> Gopher quality ->
   C4 -> FineWeb, ours (Stage.apply on Arrow batches, as in the pipeline's mapInArrow) and
   datatrove's (filter() per Document), each in 2 worker processes on the same documents.

Run from the repository root: .venv/bin/python benchmarks/filters.py [--quick]
Needs the `bench` extra (pip install -e ".[bench]").
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

SHARED = Path(os.environ.get("CURATOR_SHARED_CORPUS", ROOT.parent / "shared" / "corpus"))
CACHE = ROOT / ".cache" / "bench"
FILTERS = ("gopher_quality", "gopher_repetition", "c4", "fineweb_quality")


# -- documents ------------------------------------------------------------------------------
def _extract_file(path: str) -> list[dict]:
    from curator.manifest import ExtractSettings
    from stages.warc_source import read_warc

    rows = read_warc(path, "bench", "web", ExtractSettings())
    return [{"id": r["id"], "url": r["url"], "text": r["text"]} for r in rows
            if r["drop_reason"] is None and r["text"]]


def load_docs(n_files: int) -> list[dict]:
    files = sorted((SHARED / "bench-warc").glob("bench-*.warc.gz"))[:n_files]
    if not files:
        sys.exit(f"error: no bench WARC files under {SHARED / 'bench-warc'} (set CURATOR_SHARED_CORPUS)")
    CACHE.mkdir(parents=True, exist_ok=True)
    docs: list[dict] = []
    todo = [f for f in files if not (CACHE / f"{f.name}.parquet").exists()]
    if todo:
        print(f"extracting {len(todo)} WARC file(s) once into {CACHE} ...", flush=True)
        with mp.get_context("spawn").Pool(2) as pool:
            for f, rows in zip(todo, pool.imap(_extract_file, [str(f) for f in todo])):
                tmp = CACHE / f"{f.name}.parquet.tmp"
                pq.write_table(pa.Table.from_pylist(rows), tmp)
                tmp.rename(CACHE / f"{f.name}.parquet")
    for f in files:
        docs += pq.read_table(CACHE / f"{f.name}.parquet").to_pylist()
    return docs


# -- ours -----------------------------------------------------------------------------------
def our_stages(names, lid_keep=None):
    from stages import registry

    known = registry()
    out = []
    for name in names:
        settings = {"keep": lid_keep, "min_score": 0.65} if name == "langid" else {}
        out.append(known[name](settings))
    return out


def to_batch(docs: list[dict]) -> pa.RecordBatch:
    from curator.schema import DOC_SCHEMA

    rows = [{"id": d["id"], "source": "bench", "kind": "warc", "domain": "web", "url": d["url"],
             "text": d["text"], "lang": None, "lang_score": None, "meta": None, "drop_reason": None}
            for d in docs]
    return pa.RecordBatch.from_pylist(rows, schema=DOC_SCHEMA)


def run_ours(stages, docs: list[dict]) -> list[str | None]:
    batch = to_batch(docs)
    for stage in stages:
        batch = stage.apply(batch)
    return batch.column("drop_reason").to_pylist()


# -- datatrove ------------------------------------------------------------------------------
def dt_filters(names):
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
    )

    out = []
    for name in names:
        if name == "langid":
            from fasttext.FastText import _FastText

            from curator.assets import resolve

            f = LanguageFilter(languages=None, language_threshold=0.65)
            f.model._model = _FastText(model_path=resolve("asset:lid176"))  # no download
            out.append(f)
        else:
            out.append({"gopher_quality": GopherQualityFilter, "gopher_repetition": GopherRepetitionFilter,
                        "c4": C4QualityFilter, "fineweb_quality": FineWebQualityFilter}[name]())
    return out


def run_dt(filters, docs: list[dict]) -> list[str | None]:
    from datatrove.data import Document

    out = []
    for d in docs:
        doc = Document(text=d["text"], id=d["id"], metadata={})
        reason = None
        for f in filters:
            r = f.filter(doc)
            if r is not True:
                reason = f"{f.name}:{r[1] if isinstance(r, tuple) else 'dropped'}"
                break
        out.append(reason)
    return out


# -- throughput in 2 processes ----------------------------------------------------------------
_W = {}


def _init(kind: str, names):
    _W["run"] = (lambda docs, s=our_stages(names): run_ours(s, docs)) if kind == "ours" else \
        (lambda docs, f=dt_filters(names): run_dt(f, docs))
    _W["run"]([{"id": "w", "url": "", "text": "warm up the models and tokenizers. " * 40}])


def _work(chunk):
    return _W["run"](chunk)


def throughput(kind: str, names, docs: list[dict], chunk: int = 250) -> tuple[float, list]:
    chunks = [docs[i:i + chunk] for i in range(0, len(docs), chunk)]
    with mp.get_context("spawn").Pool(2, initializer=_init, initargs=(kind, names)) as pool:
        pool.map(_work, [[{"id": "w", "url": "", "text": "warm up. " * 10}]] * 2)
        t0 = time.perf_counter()
        results = pool.map(_work, chunks, chunksize=1)
        dt = time.perf_counter() - t0
    return len(docs) / dt, [r for part in results for r in part]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 WARC file (~1,000 pages) instead of 10")
    ap.add_argument("--files", type=int, default=None, help="number of bench WARC files (default 10)")
    ap.add_argument("--show", type=int, default=8, help="disagreements printed per filter")
    args = ap.parse_args()
    docs = load_docs(args.files or (1 if args.quick else 10))
    print(f"{len(docs)} documents from {SHARED / 'bench-warc'}\n")

    from classifiers.fasttext_lid import LanguageIdentifier
    from curator.assets import resolve
    from stages.text_stats import NO_SPACE_LANGUAGES

    langs, _ = LanguageIdentifier(resolve("asset:lid176")).predict([d["text"] for d in docs])
    spaced = [lang not in NO_SPACE_LANGUAGES for lang in langs]
    n_spaced = sum(spaced)
    print(f"{n_spaced} of them in languages written with spaces (the others: "
          f"{', '.join(f'{k} {v}' for k, v in Counter(lang for lang in langs if lang in NO_SPACE_LANGUAGES).most_common())})\n")

    # 1. agreement, each filter alone on every document (in this process)
    rows, disagreements, agreement, agreement_all = [], [], {}, {}
    for name in FILTERS:
        t0 = time.perf_counter()
        ours = run_ours(our_stages([name]), docs)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        theirs = run_dt(dt_filters([name]), docs)
        t_dt = time.perf_counter() - t0
        diff = [(d, o, t, sp) for d, o, t, sp in zip(docs, ours, theirs, spaced) if (o is None) != (t is None)]
        n_diff = sum(sp for *_, sp in diff)
        agreement[name] = 1 - n_diff / n_spaced
        agreement_all[name] = 1 - len(diff) / len(docs)
        rows.append((name, sum(o is not None for o in ours), sum(t is not None for t in theirs),
                     n_diff, agreement[name], agreement_all[name], len(docs) / t_ours, len(docs) / t_dt))
        for d, o, t, sp in diff:
            disagreements.append({"filter": name, "id": d["id"], "url": d["url"], "ours": o, "datatrove": t,
                                  "spaced_language": sp, "chars": len(d["text"])})
    print("Agreement with datatrove 0.10.1 (keep/drop per document, each filter alone, 1 process)")
    print(f"{'filter':<20}{'ours drop':>10}{'dt drop':>10}{'disagree':>10}{'agreement':>11}"
          f"{'(all pages)':>12}{'ours doc/s':>12}{'dt doc/s':>11}")
    for name, od, td, nd, ag, ag_all, so, st in rows:
        print(f"{name:<20}{od:>10}{td:>10}{nd:>10}{ag:>11.4f}{ag_all:>12.4f}{so:>12.0f}{st:>11.0f}")
    print("(drops over all pages; disagreements and agreement over the pages in languages with spaces)")
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "filters-disagreements.jsonl").write_text(
        "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in disagreements))
    print(f"\nDisagreements on pages in languages with spaces (all, and those on zh/ja pages, in "
          f"{CACHE / 'filters-disagreements.jsonl'}):")
    for name in FILTERS:
        mine = [x for x in disagreements if x["filter"] == name and x["spaced_language"]]
        for x in mine[: args.show]:
            print(f"  {name:<18} ours={str(x['ours']):<40} datatrove={str(x['datatrove']):<44} {x['url']}")
        if len(mine) > args.show:
            print(f"  {name:<18} ... {len(mine) - args.show} more")

    # 2. chain throughput, 2 worker processes each
    chain = ["langid", "gopher_repetition", "gopher_quality", "c4", "fineweb_quality"]
    ours_dps, ours_out = throughput("ours", chain, docs)
    dt_dps, dt_out = throughput("datatrove", chain, docs)
    chain_agree = sum((a is None) == (b is None) for a, b in zip(ours_out, dt_out)) / len(docs)
    # Our chain uses the language it found: no word rules for zh/ja, English stop words only
    # on English pages; datatrove's applies its English rules to every page. On English
    # pages both apply the same rules.
    en = [i for i, lang in enumerate(langs) if lang == "en"]
    chain_agree_en = sum((ours_out[i] is None) == (dt_out[i] is None) for i in en) / max(1, len(en))
    print("\nChain LID -> Gopher repetition -> Gopher quality -> C4 -> FineWeb, 2 processes")
    print(f"{'implementation':<16}{'docs/s':>10}{'kept':>8}")
    print(f"{'corpus-curator':<16}{ours_dps:>10.0f}{sum(x is None for x in ours_out):>8}")
    print(f"{'datatrove':<16}{dt_dps:>10.0f}{sum(x is None for x in dt_out):>8}")
    print(f"ratio (ours / datatrove): {ours_dps / dt_dps:.2f}x")
    print(f"chain keep/drop agreement: {chain_agree_en:.4f} on the {len(en)} English pages, {chain_agree:.4f} on all "
          f"(ours skips word rules on zh/ja and English stop words on other languages; datatrove does not)")

    result = {
        "benchmark": "filters", "documents": len(docs),
        "documents_spaced_languages": n_spaced,
        **{f"agreement_{k}": round(v, 5) for k, v in agreement.items()},
        **{f"agreement_all_pages_{k}": round(v, 5) for k, v in agreement_all.items()},
        "agreement_min": round(min(agreement.values()), 5),
        "chain_agreement": round(chain_agree, 5), "chain_agreement_english": round(chain_agree_en, 5),
        "ours_docs_per_s": round(ours_dps, 1), "datatrove_docs_per_s": round(dt_dps, 1),
        "ratio_vs_datatrove": round(ours_dps / dt_dps, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
