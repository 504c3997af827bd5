"""End to end: the FineWeb recipe as one `curator run`, beside datatrove 0.10.1 doing the same.

Default mode, on the real pages of ../shared/corpus/bench-warc (all 10 files, 10,000 pages;
`--quick`: the first 2):

  curator    `python -m curator.cli run MANIFEST` in a subprocess, on a manifest this script
             writes into a temporary folder with the extract settings, stages and dedup of the
             project's recipe manifests/fineweb.yaml (its comments list where it differs from
             FineWeb), less its `pii` stage: WARC -> trafilatura (favor_precision, as FineWeb's
             `Trafilatura(favour_precision=True)`; timeout 10 s, see TIMEOUT_S) -> url_blocklist
             (asset:ut1_adult) -> langid (keep en, min_score 0.65) -> gopher_repetition ->
             gopher_quality -> c4 (filter_no_terminal_punct false, as FineWeb's
             C4QualityFilter) -> fineweb_quality -> MinHash dedup as FineWeb's (5-grams, 14
             bands x 8 rows, candidates not verified; no exact dedup, which FineWeb does not
             run) -> GPT-2 tokenization (asset:gpt2, EOS) -> mixture (web 1.0, one epoch) ->
             Megatron shards (seq_len 2048). Spark local[2]. Everything the run writes is kept
             until measured (all phase folders, stats, report).
  datatrove  LocalPipelineExecutor, 2 workers, in a subprocess of this script, as in datatrove's
             examples/fineweb.py: WarcReader -> URLFilter -> Trafilatura(favour_precision=True,
             timeout=10, not its default 1 s: see TIMEOUT_S)
             -> LanguageFilter(en, 0.65) -> GopherRepetitionFilter -> GopherQualityFilter ->
             C4QualityFilter(filter_no_terminal_punct=False) -> FineWebQualityFilter ->
             ParquetWriter, each filter with a ParquetWriter exclusion writer (the example writes
             JsonlWriter; that needs orjson, which the bench extra does not install);
             then its four MinHash steps (MinhashConfig as the example: sha1 64-bit hashes,
             14 buckets x 8, 5-grams, English word tokenizer) with the filter step's exclusion
             writer; then MegatronDocumentTokenizer (GPT-2, <|endoftext|> after each document,
             Megatron .bin/.idx) on the survivors. Differences forced by this machine (no
             network): its fastText LID model is the project's lid.176.ftz (asset:lid176),
             loaded by a subclass of datatrove's FT176LID whose `model` property opens that
             file instead of downloading lid.176.bin; URLFilter's TLDExtract uses its bundled
             public-suffix snapshot (suffix_list_urls=()); the tokenizer is asset:gpt2's
             tokenizer.json, given to datatrove as a local file. datatrove has no exact-dedup
             step in its FineWeb example and none is run.

Figures: wall seconds of each subprocess, documents = WARC response records in; CPU seconds
of the whole process tree (the subprocess, the JVM, PySpark's daemon and workers / the
executor's worker processes), sampled every 0.2 s from /proc per process (user + system of
each process seen, so that PySpark workers, whose exit nobody reaps into a parent's
rusage, are counted; RUSAGE_CHILDREN around the subprocess is printed beside it); peak
summed RSS of that tree; bytes everything left on disk over the WARC bytes read.
Agreement: pages are matched by URL. Curator's kept set = rows with drop_reason null in
the `deduped` phase folder (the last row-level phase before tokenization); a page dropped
earlier has the drop_reason of the phase that dropped it. datatrove's kept set = the
documents its MinHash filter passes on to the tokenizer (those the filter step wrote, less
those in the MinHash filter's exclusion writer); a dropped page is named by the
exclusion writer that holds it (or "extractor/reader" when it never reached one: empty
extraction, a timeout or a record WarcReader skips).

`--scaling` (issue 15, section 5): the phases after extraction -- annotate (the same filter
chain, except that langid only labels: keep unset, min_score 0, since each generated document
is a run of lines from pages in 8 languages and an English-only keep-list drops ~96% of
them, leaving nothing for the later phases to scale on; the other filters see the language
as they do in a run), dedup (exact + MinHash), tokenize, mix, shards -- at 100k, 300k and 1M documents
(`--quick`: 10k, 30k, 100k) of real text pieces made by benchmarks/dedup.py's generator
(runs of lines of the bench pages, with planted near-copies). There is no parquet source
kind in a manifest, so the script writes the documents as an `extracted` phase folder
(DOC_SCHEMA, domain web) and calls the pipeline's own phase methods
(curator.pipeline.Pipeline._annotate, _dedup, _tokenize, _mix, _shards) in order, in one
Spark session (local[2]), timing each: the same code `curator run` runs after extract,
without the phase runner's fingerprints and markers. A small untimed warm-up size runs
first so that the JVM's start and JIT are not charged to the first size. Prints seconds per
phase per million documents at each size and the growth from the smallest to the largest.
`--driver-memory 1g` (issue 15, section 4) runs it all with a 1 GB driver heap: nothing the
driver holds may grow with the number of documents. Ctrl-C during a size stops it and reports
the sizes that finished (`interrupted_at` in the JSON line names the one stopped).

Run from the repository root: `.venv/bin/python benchmarks/pipeline.py [--quick] [--scaling]`
Needs the `bench` extra (pip install -e ".[bench]"). Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.dedup import PeakMemory, dataset  # noqa: E402

SHARED = Path(os.environ.get("CURATOR_SHARED_CORPUS", ROOT.parent / "shared" / "corpus"))
PY = sys.executable
CHAIN = ["url_blocklist", "langid", "gopher_repetition", "gopher_quality", "c4", "fineweb_quality"]


# -- measuring a process tree ------------------------------------------------------------------

class TreeUsage(PeakMemory):
    """PeakMemory (summed RSS of this process and its descendants) that also keeps, per process
    seen, its last user + system CPU seconds: the tree's CPU includes processes that exit
    without being reaped into a parent's rusage (PySpark's workers)."""

    def __init__(self, interval: float = 0.2):
        super().__init__(interval)
        self.cpu: dict[int, float] = {}

    def _sample(self) -> int:
        total = 0
        for p in self.proc.children(recursive=True):  # not this process: it only waits
            try:
                total += p.memory_info().rss
                t = p.cpu_times()
                self.cpu[p.pid] = t.user + t.system
            except Exception:  # noqa: BLE001 - a process that just ended
                pass
        return total

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())


def measured(cmd: list[str], log: Path, env: dict | None = None) -> dict:
    """Run `cmd` (output to `log`); wall seconds, tree CPU seconds, peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, "wb") as out, TreeUsage() as usage:
        started = time.perf_counter()
        rc = subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
        wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0:
        sys.stdout.write(log.read_text(errors="replace")[-6000:])
        sys.exit(f"error: {' '.join(cmd)} failed (exit {rc}); log {log}")
    rusage = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": max(usage.cpu_s, rusage), "rusage_cpu_s": rusage,
            "peak_rss_gb": usage.peak / 2**30}


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


# -- curator side -----------------------------------------------------------------------------

RECIPE = ROOT / "manifests" / "fineweb.yaml"
"""The project's FineWeb recipe: its extract settings, stages and dedup are what the curator
side runs (less its `pii` stage: datatrove's side stops before PIIFormatter)."""


TIMEOUT_S = 10
"""Per-page extraction limit on both sides instead of the recipe's (and datatrove's) 1 s: both
limits are wall-clock, so on a loaded machine a 1 s limit drops pages by load, not by page
(at load average 18 on 2 cores datatrove's extractor timed out on most pages and restarted
its sandbox process after each)."""


def recipe() -> dict:
    import yaml

    spec = yaml.safe_load(RECIPE.read_text())
    stages = [s for s in spec["stages"] if "pii" not in s]
    return {"extract": spec["extract"], "stages": stages, "dedup": spec["dedup"]}


def curator_manifest(files: list[Path], out_dir: Path, run: str = "fineweb") -> dict:
    fineweb = recipe()
    return {
        "run": run,
        "sources": [{"name": "bench", "kind": "warc", "domain": "web", "inputs": [str(f) for f in files]}],
        "extract": {**fineweb["extract"], "timeout_s": TIMEOUT_S},
        "stages": fineweb["stages"],
        "dedup": fineweb["dedup"],
        "mixture": {"weights": {"web": 1.0}, "max_epochs": 1, "seed": 1},
        "tokenizer": {"path": "asset:gpt2", "add_eos": True},
        "shards": {"seq_lens": [2048], "formats": ["megatron"], "seed": 1},
        "spark": {"master": "local[2]", "driver_memory": "2g", "shuffle_partitions": 4},
        "output": {"dir": str(out_dir)},
    }


def write_yaml(data: dict, path: Path) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def curator_status(run_dir: Path) -> tuple[dict[str, str | None], int]:
    """url -> None (kept after dedup) or the drop_reason that removed it; tokens written."""
    import pyarrow.parquet as pq

    status: dict[str, str | None] = {}
    for folder in ("extracted", "annotated", "deduped"):  # later phases overwrite earlier
        t = pq.read_table(run_dir / folder, columns=["url", "drop_reason"])
        for url, reason in zip(t.column("url").to_pylist(), t.column("drop_reason").to_pylist()):
            if url is not None and not (reason or "").startswith("warc.skip"):  # not a page: warcinfo
                status[url] = reason
    tok = pq.read_table(run_dir / "tokenized", columns=["n_tokens", "drop_reason"]).to_pydict()
    tokens = sum(n for n, r in zip(tok["n_tokens"], tok["drop_reason"]) if r is None)
    return status, tokens


def phase_seconds(run_dir: Path) -> dict[str, float]:
    """Each phase's `seconds` from the run's stats (stats/<phase folder>.json)."""
    from curator.rundir import PHASE_DIRS

    return {phase: json.loads((run_dir / "stats" / f"{name}.json").read_text())["seconds"]
            for phase, name in PHASE_DIRS.items()}


# -- datatrove side (runs in a subprocess: `--datatrove-side WORK INPUT_DIR N_FILES`) ----------

def datatrove_side(work: Path, inputs: Path, n_files: int) -> None:
    import logging

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
        URLFilter,
    )
    from datatrove.pipeline.readers import ParquetReader, WarcReader
    from datatrove.pipeline.tokens.megatron_tokenizer import MegatronDocumentTokenizer
    from datatrove.pipeline.writers import ParquetWriter
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.lid import FT176LID
    from datatrove.utils.typeshelper import Languages
    from fasttext.FastText import _FastText
    from tldextract import TLDExtract

    from curator.assets import resolve

    logging.getLogger("datatrove").setLevel(logging.WARNING)
    lid_path = resolve("asset:lid176")

    class LocalFT176LID(FT176LID):
        """datatrove's lid.176 backend, opening the project's lid.176.ftz (no download)."""

        @property
        def model(self):
            if self._model is None:
                self._model = _FastText(lid_path)
            return self._model

    def excl(step: str):
        return ParquetWriter(str(work / "removed" / step))

    url_filter = URLFilter(exclusion_writer=excl("url"))
    url_filter.tldextractor = TLDExtract(suffix_list_urls=())  # its bundled snapshot, no fetch
    lid = LanguageFilter(languages=["en"], language_threshold=0.65, exclusion_writer=excl("lid"))
    lid.model = LocalFT176LID(["en"])
    cfg = MinhashConfig(hash_config=HashConfig(hash_fc="sha1", precision=64), num_buckets=14,
                        hashes_per_bucket=8, n_grams=5)
    gpt2 = str(Path(resolve("asset:gpt2")) / "tokenizer.json")
    steps = [
        ("filter", [
            WarcReader(str(inputs), glob_pattern="*.warc.gz"),
            url_filter,
            Trafilatura(favour_precision=True, timeout=TIMEOUT_S),
            lid,
            GopherRepetitionFilter(exclusion_writer=excl("gopher_rep")),
            GopherQualityFilter(exclusion_writer=excl("gopher_qual")),
            C4QualityFilter(filter_no_terminal_punct=False, exclusion_writer=excl("c4")),
            FineWebQualityFilter(exclusion_writer=excl("fineweb_qual")),
            ParquetWriter(str(work / "filtered")),
        ], n_files),
        ("minhash_signature", [ParquetReader(str(work / "filtered")),
                               MinhashDedupSignature(output_folder=str(work / "sigs"), config=cfg,
                                                     language=Languages.english)], n_files),
        ("minhash_buckets", [MinhashDedupBuckets(input_folder=str(work / "sigs"),
                                                 output_folder=str(work / "buckets"), config=cfg)], cfg.num_buckets),
        ("minhash_cluster", [MinhashDedupCluster(input_folder=str(work / "buckets"),
                                                 output_folder=str(work / "remove_ids"), config=cfg)], 1),
        ("minhash_filter+tokenize", [
            ParquetReader(str(work / "filtered")),
            MinhashDedupFilter(input_folder=str(work / "remove_ids"), exclusion_writer=excl("minhash")),
            MegatronDocumentTokenizer(output_folder=str(work / "tokens"), tokenizer_name_or_path=gpt2,
                                      eos_token="<|endoftext|>"),
        ], n_files),
    ]
    seconds = {}
    for k, (name, pipeline, tasks) in enumerate(steps):
        started = time.perf_counter()
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=2, skip_completed=False,
                              logging_dir=str(work / f"logs-{k}")).run()
        seconds[name] = time.perf_counter() - started
    (work / "seconds.json").write_text(json.dumps(seconds))


def datatrove_status(work: Path) -> tuple[dict[str, str | None], int]:
    """url -> None (reached the tokenizer) or the step whose exclusion writer holds it; tokens."""
    import numpy as np
    import pyarrow.parquet as pq

    def urls(folder: Path):
        for f in sorted(folder.glob("*.parquet")):
            for meta in pq.read_table(f, columns=["metadata"]).column("metadata").to_pylist():
                yield meta.get("url")

    status: dict[str, str | None] = {url: None for url in urls(work / "filtered")}  # read by the last run
    for step in sorted((work / "removed").iterdir()) if (work / "removed").is_dir() else []:
        for url in urls(step):
            status[url] = step.name  # minhash: removed there, never tokenized
    tokens = sum(int(np.fromfile(f, dtype=np.uint16).size) for f in (work / "tokens").rglob("*.bin"))
    return status, tokens


def describe_sides(n_files: int) -> None:
    print("corpus-curator: curator run (Spark local[2]) on manifests/fineweb.yaml's extract, stages (less pii), dedup:")
    print(f"  extract: trafilatura favor_precision=True (timeout {TIMEOUT_S} s; precheck cascade on)")
    print("  stages:  url_blocklist(asset:ut1_adult) -> langid(keep en, min_score 0.65) -> gopher_repetition ->")
    print("           gopher_quality -> c4(filter_no_terminal_punct=false) -> fineweb_quality")
    print("  dedup:   MinHash as FineWeb (5-grams, 14 bands x 8 rows, not verified; no exact dedup)")
    print("  then:    tokenize GPT-2 (asset:gpt2) + EOS -> mixture web 1.0 (1 epoch) -> Megatron shards (2048)")
    print("datatrove 0.10.1: LocalPipelineExecutor, 2 workers, 5 executor runs:")
    print(f"  1 ({n_files} tasks) WarcReader -> URLFilter(integrated lists) -> Trafilatura(favour_precision=True, "
          f"timeout {TIMEOUT_S} s) -> LanguageFilter(en, 0.65) -> GopherRepetitionFilter -> GopherQualityFilter -> "
          "C4QualityFilter(filter_no_terminal_punct=False) -> FineWebQualityFilter -> ParquetWriter "
          "(every filter with a ParquetWriter exclusion writer)")
    print("  2-4 MinhashDedupSignature (English words, 5-grams, sha1/64, 14x8) -> MinhashDedupBuckets (14 tasks) "
          "-> MinhashDedupCluster")
    print(f"  5 ({n_files} tasks) ParquetReader -> MinhashDedupFilter(exclusion writer) -> "
          "MegatronDocumentTokenizer(asset:gpt2 tokenizer.json, <|endoftext|>)")
    print("  patched: LanguageFilter's model = FT176LID subclass loading asset:lid176 (lid.176.ftz) instead of "
          "downloading lid.176.bin; URLFilter TLDExtract(suffix_list_urls=()) (bundled snapshot)\n")


def reason_key(reason: str | None) -> str:
    if reason is None:
        return "kept"
    return reason


def end_to_end(args) -> dict:
    files = sorted((SHARED / "bench-warc").glob("bench-*.warc.gz"))[: args.files or (2 if args.quick else 10)]
    if not files:
        sys.exit(f"error: no bench WARC files under {SHARED / 'bench-warc'} (set CURATOR_SHARED_CORPUS)")
    in_bytes = sum(f.stat().st_size for f in files)
    describe_sides(len(files))
    tmp = Path(tempfile.mkdtemp(prefix="bench-pipeline-", dir=args.tmp))
    try:
        inputs = tmp / "inputs"
        inputs.mkdir()
        for f in files:
            (inputs / f.name).symlink_to(f)
        out = tmp / "curator"
        out.mkdir()
        manifest = write_yaml(curator_manifest(files, out), tmp / "fineweb.yaml")
        print(f"curator run {manifest} ({len(files)} WARC files, {in_bytes / 2**20:.1f} MiB) ...", flush=True)
        ours = measured([PY, "-m", "curator.cli", "run", str(manifest)], tmp / "curator.log")
        print(f"datatrove ({tmp / 'datatrove'}) ...", flush=True)
        work = tmp / "datatrove"
        work.mkdir()
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
        dt = measured([PY, __file__, "--datatrove-side", str(work), str(inputs), str(len(files))],
                      tmp / "datatrove.log", env)
        dt_steps = json.loads((work / "seconds.json").read_text())

        run_dir = out / "fineweb"
        c_status, c_tokens = curator_status(run_dir)
        c_phases = phase_seconds(run_dir)
        d_status, d_tokens = datatrove_status(work)
        ours["bytes"] = disk_bytes(run_dir)
        dt["bytes"] = disk_bytes(work)
        pages = set(c_status) | set(d_status)
        docs = len(c_status)
        agree = sum((c_status.get(u, "absent") is None) == (d_status.get(u, "extractor/reader") is None)
                    for u in pages)
        c_kept = sum(v is None for v in c_status.values())
        d_kept = sum(v is None for v in d_status.values())
        breakdown = Counter((reason_key(c_status.get(u, "absent")), d_status.get(u, "extractor/reader") or "kept")
                            for u in pages
                            if (c_status.get(u, "absent") is None) != (d_status.get(u, "extractor/reader") is None))
        c_reasons = Counter(reason_key(v) for v in c_status.values())
        d_reasons = Counter(v or "kept" for v in d_status.values())
        d_reasons["extractor/reader"] = docs - len(d_status)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")

    load = os.getloadavg()
    dps, ddps = docs / ours["wall_s"], docs / dt["wall_s"]
    print(f"\nFineWeb recipe end to end, {docs:,} WARC records in ({in_bytes / 2**20:.1f} MiB), 2 cores, "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(f"{'':<16}{'wall s':>9}{'docs/s':>9}{'cpu s':>9}{'cpu s/1k':>10}{'peak GB':>9}{'out/in B':>10}"
          f"{'kept':>7}{'tokens':>12}")
    for name, r, kept, tokens in (("corpus-curator", ours, c_kept, c_tokens), ("datatrove", dt, d_kept, d_tokens)):
        print(f"{name:<16}{r['wall_s']:>9.1f}{docs / r['wall_s']:>9.1f}{r['cpu_s']:>9.0f}"
              f"{1000 * r['cpu_s'] / docs:>10.1f}{r['peak_rss_gb']:>9.2f}{r['bytes'] / in_bytes:>10.3f}"
              f"{kept:>7}{tokens:>12,}")
    print(f"ratio curator/datatrove docs/s: {dps / ddps:.2f}x   (CPU from /proc samples; RUSAGE_CHILDREN: "
          f"curator {ours['rusage_cpu_s']:.0f} s, datatrove {dt['rusage_cpu_s']:.0f} s)")
    print("curator seconds by phase (its stats): " + ", ".join(f"{k} {v:.1f}" for k, v in c_phases.items()))
    print("datatrove seconds by executor run: " + ", ".join(f"{k} {v:.1f}" for k, v in dt_steps.items()))
    print(f"\nkeep/drop agreement by URL: {agree / len(pages):.4f} ({agree} of {len(pages)} pages)")
    print("curator, pages by drop reason: " + ", ".join(f"{k} {v}" for k, v in c_reasons.most_common()))
    print("datatrove, pages by exclusion: " + ", ".join(f"{k} {v}" for k, v in d_reasons.most_common()))
    print("\nwhere they disagree (curator drop reason -> datatrove step; 'kept' = kept by that side):")
    print(f"{'curator':<34}{'datatrove':<22}{'pages':>7}")
    for (c, d), n in breakdown.most_common():
        print(f"{c:<34}{d:<22}{n:>7}")
    return {
        "benchmark": "pipeline", "quick": args.quick, "bench_files": len(files),
        "docs": docs, "wall_s": round(ours["wall_s"], 1), "docs_per_s": round(dps, 2),
        "datatrove_wall_s": round(dt["wall_s"], 1), "datatrove_docs_per_s": round(ddps, 2),
        "ratio_vs_datatrove": round(dps / ddps, 3),
        "cpu_s_per_1k_pages": round(1000 * ours["cpu_s"] / docs, 1),
        "datatrove_cpu_s_per_1k_pages": round(1000 * dt["cpu_s"] / docs, 1),
        "bytes_written_per_input_byte": round(ours["bytes"] / in_bytes, 4),
        "datatrove_bytes_written_per_input_byte": round(dt["bytes"] / in_bytes, 4),
        "peak_rss_gb": round(ours["peak_rss_gb"], 2), "datatrove_peak_rss_gb": round(dt["peak_rss_gb"], 2),
        "kept_docs": c_kept, "datatrove_kept_docs": d_kept,
        "kept_agreement": round(agree / len(pages), 4),
        "tokens": c_tokens, "datatrove_tokens": d_tokens,
        "load_average": round(load[0], 1),
    }


# -- scaling: the phases after extraction ---------------------------------------------------------

def extracted_folder(n: int, dest: Path) -> Path:
    """benchmarks/dedup.py's documents (real text pieces), as an `extracted` phase folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curator.schema import DOC_SCHEMA

    src, _ = dataset(n, min(4000, n // 4))
    dest.mkdir(parents=True)
    for k, f in enumerate(sorted(src.glob("*.parquet"))):
        t = pq.read_table(f, columns=["id", "text"])
        m = t.num_rows
        ids = t.column("id").to_pylist()
        cols = {
            "id": t.column("id"), "source": pa.array(["scale"] * m), "kind": pa.array(["warc"] * m),
            "domain": pa.array(["web"] * m), "url": pa.array([f"https://scale.example/{i}" for i in ids]),
            "text": t.column("text"), "lang": pa.nulls(m, pa.string()), "lang_score": pa.nulls(m, pa.float64()),
            "meta": pa.nulls(m, DOC_SCHEMA.field("meta").type), "drop_reason": pa.nulls(m, pa.string()),
        }
        pq.write_table(pa.table(cols, schema=DOC_SCHEMA), dest / f"part-{k:05d}.parquet")
    return dest


SCALING_DEDUP = {"url": False, "exact": True, "minhash": {"ngram": 5, "num_perm": 128, "threshold": 0.8}}
"""--scaling times the project's default dedup (exact, then verified MinHash), not the recipe's."""


def scaling(args) -> dict:
    from curator.manifest import load
    from curator.phases import PhaseResult
    from curator.pipeline import OUTPUT_DIRS, PHASES, Pipeline

    sizes = args.sizes or ([10_000, 30_000, 100_000] if args.quick else [100_000, 300_000, 1_000_000])
    phases = PHASES[1:]
    print(f"phases after extraction {' -> '.join(phases)} at {', '.join(f'{n:,}' for n in sizes)} documents "
          "(benchmarks/dedup.py's real text pieces), Pipeline phase methods on Spark local[2]", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scaling-", dir=args.tmp))
    spark = None
    rows = []
    interrupted = None
    try:
        warm = min(2000, sizes[0])
        for i, n in enumerate([warm, *sizes]):
            if interrupted is not None:
                break
            t0 = time.perf_counter()
            base = tmp / f"n{n}"
            docs = extracted_folder(n, base / "input")
            one = sorted((SHARED / "bench-warc").glob("bench-*.warc.gz"))[:1]
            spec = curator_manifest(one, base / "out", run="scaling")
            spec["stages"][1] = {"langid": {"min_score": 0.0}}  # label only: the pieces mix 8 languages
            spec["dedup"] = SCALING_DEDUP
            spec["spark"]["driver_memory"] = args.driver_memory
            spec["spark"]["shuffle_partitions"] = max(4, n // 50_000)  # a shuffle partition stays <= 50k docs
            m = load(str(write_yaml(spec, base / "m.yaml")))
            p = Pipeline(m, spark=spark)
            spark = p.spark
            spark.conf.set("spark.sql.shuffle.partitions", str(m.spark.shuffle_partitions))
            (base / "out" / "scaling").mkdir(parents=True)
            tok = p._tokenizer_info()
            p.results["extract"] = PhaseResult("extract", docs, "", {"domains": {"web": {"kept": n, "dropped": {}}}},
                                               False)
            print(f"  {n:,} documents ready in {time.perf_counter() - t0:.0f} s", flush=True)
            seconds = {}
            try:
                with PeakMemory() as mem:
                    for phase in phases:
                        out = m.run_dir / OUTPUT_DIRS[phase]
                        started = time.perf_counter()
                        stats = getattr(p, f"_{phase}")(out, tok_info=tok)
                        seconds[phase] = time.perf_counter() - started
                        p.results[phase] = PhaseResult(phase, out, "", stats, False)
            except KeyboardInterrupt:  # Ctrl-C: report the sizes that finished
                if not rows:
                    raise
                interrupted = n
                print(f"  {n:,}: interrupted after " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
                      + " s; reporting the sizes that finished", flush=True)
                continue
            kept = p.results["dedup"].stats["domains"]["web"]["kept"]
            after_filters = p.results["annotate"].stats["domains"]["web"]["kept"]
            row = {"docs": n, "seconds": seconds, "total": sum(seconds.values()), "kept": kept,
                   "peak_gb": mem.peak / 2**30}
            if not i:
                print(f"  warm-up {n:,} documents: {row['total']:.1f} s (not counted)", flush=True)
            else:
                rows.append(row)
                print(f"  {n:,}: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
                      + f" s; {after_filters:,} kept by the filters, {kept:,} after dedup", flush=True)
            shutil.rmtree(base, ignore_errors=True)
    finally:
        if spark is not None:
            spark.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    load_avg = os.getloadavg()[0]
    print(f"\nseconds per million documents, by phase (2 cores, load average {load_avg:.1f})")
    print(f"{'docs':>10}" + "".join(f"{p:>11}" for p in phases) + f"{'total':>11}{'peak GB':>9}")
    for r in rows:
        per = 1e6 / r["docs"]
        print(f"{r['docs']:>10,}" + "".join(f"{r['seconds'][p] * per:>11.0f}" for p in phases)
              + f"{r['total'] * per:>11.0f}{r['peak_gb']:>9.2f}")
    first, last = rows[0], rows[-1]
    factor = last["docs"] / first["docs"]
    print(f"growth {first['docs']:,} -> {last['docs']:,} ({factor:.0f}x documents), time ratio by phase: "
          + ", ".join(f"{p} {last['seconds'][p] / first['seconds'][p]:.2f}x" for p in phases)
          + f", total {last['total'] / first['total']:.2f}x (linear = {factor:.0f}x)")

    def tag(n: int) -> str:
        return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k"

    out = {"benchmark": "pipeline_scaling", "quick": args.quick, "sizes": [r["docs"] for r in rows],
           "driver_memory": args.driver_memory, "interrupted_at": interrupted}
    for r in rows:
        per = 1e6 / r["docs"]
        for p in phases:
            out[f"s_per_m_{p}_{tag(r['docs'])}"] = round(r["seconds"][p] * per, 1)
        out[f"s_per_m_total_{tag(r['docs'])}"] = round(r["total"] * per, 1)
        out[f"peak_gb_{tag(r['docs'])}"] = round(r["peak_gb"], 2)
    out["growth_total"] = round(last["total"] / first["total"], 3)
    out["growth_vs_linear"] = round(last["total"] / first["total"] / factor, 3)
    for p in phases:
        out[f"growth_{p}"] = round(last["seconds"][p] / first["seconds"][p], 3)
    out["load_average"] = round(load_avg, 1)
    return out


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--datatrove-side":
        datatrove_side(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 WARC files; with --scaling 10k/30k/100k documents")
    ap.add_argument("--files", type=int, default=None, help="bench WARC files (default 10, quick 2)")
    ap.add_argument("--scaling", action="store_true", help="time the phases after extraction at 3 sizes")
    ap.add_argument("--sizes", type=int, nargs="*", help="--scaling sizes (default 100000 300000 1000000)")
    ap.add_argument("--driver-memory", default="2g",
                    help="--scaling: spark.driver.memory (1g shows that nothing on the driver grows with the corpus)")
    ap.add_argument("--tmp", default=None, help="folder for the temporary run folders (default: the system's)")
    ap.add_argument("--keep", action="store_true", help="keep the run folders (printed)")
    args = ap.parse_args()
    result = scaling(args) if args.scaling else end_to_end(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
