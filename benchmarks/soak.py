"""Soak run: tens of thousands of real HTML pages through the whole pipeline on this machine.

The 10,000 pages of ../shared/corpus/bench-warc are written again under distinct URLs and
record ids until there are `--docs` response records (copy k of a page gets `?copy=k`), in
WARC files of 2,000 records each. `curator run` then runs the full pipeline on them in its own
process, while this script samples the resident memory of that process and every process
below it (the JVM and the Python workers). It reports wall time, peak memory, and
`lost_docs`: records that went into the run but are not accounted for by the stats (WARC
records missing from the extract phase, or any phase whose docs in != kept + dropped).

    .venv/bin/python benchmarks/soak.py            # 50,000 documents
    .venv/bin/python benchmarks/soak.py --quick    # 5,000 documents
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(os.environ.get("CURATOR_SHARED_CORPUS", ROOT.parent / "shared" / "corpus")) / "bench-warc"
RECORDS_PER_FILE = 2000


def write_inputs(n_docs: int, out_dir: Path) -> int:
    """`n_docs` response records from the bench pages, each URL distinct; returns the count."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    sources = sorted(BENCH.glob("*.warc.gz"))
    if not sources:
        sys.exit(f"soak: no bench WARCs in {BENCH} (set CURATOR_SHARED_CORPUS to the corpus folder)")
    written, copy, out, writer = 0, 0, None, None
    while written < n_docs:
        for src in sources:
            with open(src, "rb") as f:
                for rec in ArchiveIterator(f):
                    if rec.rec_type != "response":
                        continue
                    if written % RECORDS_PER_FILE == 0:
                        if out is not None:
                            out.close()
                        out = open(out_dir / f"soak-{written // RECORDS_PER_FILE:05d}.warc.gz", "wb")
                        writer = WARCWriter(out, gzip=True)
                    url = rec.rec_headers.get_header("WARC-Target-URI")
                    if copy:
                        url = f"{url}?copy={copy}"
                    record_id = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>"
                    http = StatusAndHeaders(rec.http_headers.statusline, rec.http_headers.headers,
                                            protocol=rec.http_headers.protocol)
                    new = writer.create_warc_record(
                        url, "response", payload=rec.content_stream(), http_headers=http,
                        warc_headers_dict={"WARC-Record-ID": record_id,
                                           "WARC-Date": rec.rec_headers.get_header("WARC-Date")},
                    )
                    writer.write_record(new)
                    written += 1
                    if written == n_docs:
                        out.close()
                        return written
        copy += 1
    return written


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        p, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(p)
        rss[p] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=50_000)
    ap.add_argument("--quick", action="store_true", help="5,000 documents")
    ap.add_argument("--workdir", help="keep inputs and the run here (default: a temporary folder)")
    args = ap.parse_args()
    n = 5_000 if args.quick else args.docs

    with tempfile.TemporaryDirectory(prefix="curator-soak-") as tmp:
        work = Path(args.workdir or tmp)
        inputs = work / "inputs"
        inputs.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        records = write_inputs(n, inputs)
        prep_s = time.perf_counter() - t0
        manifest = {
            "run": "soak",
            "sources": [{"name": "bench", "kind": "warc", "inputs": [str(inputs / "*.warc.gz")], "domain": "web"}],
            "stages": [{"langid": {"min_score": 0.5}}, {"gopher_quality": {}}],
            "dedup": {"exact": True},
            "mixture": {"weights": {"web": 1.0}, "seed": 1},
            "shards": {"seq_lens": [2048, 4096, 8192], "tokens_per_shard": 20_000_000, "seed": 1},
            "spark": {"master": "local[2]", "driver_memory": "4g", "shuffle_partitions": 8},
            "output": {"dir": str(work / "runs"), "rejected_samples": 5},
        }
        path = work / "soak.yaml"
        path.write_text(yaml.safe_dump(manifest))

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "curator.cli", "run", str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        peak = 0
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(proc.pid))
                done.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        output = proc.communicate()[0]
        done.set()
        sampler.join()
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(output[-4000:])
            sys.exit(f"soak: the run failed with exit code {proc.returncode}")

        run_dir = work / "runs" / "soak"
        stats = {p.stem: json.loads(p.read_text()) for p in sorted((run_dir / "stats").glob("*.json"))}
        lost = records - stats["extracted"]["docs_in"]
        rows = []
        for name in ("extracted", "annotated", "deduped", "tokenized", "mixed"):
            s = stats[name]
            dropped = sum(s["dropped"].values())
            lost += abs(s["docs_in"] - s["kept"] - dropped)
            rows.append((name, s["docs_in"], s["kept"], dropped, s.get("seconds", 0.0)))
        shards = json.loads((run_dir / "shards" / "manifest.json").read_text())

    print(f"soak: {records:,} WARC response records (inputs written in {prep_s:.0f}s)\n")
    print(f"{'phase':<10} {'docs in':>9} {'kept':>9} {'dropped':>9} {'seconds':>8}")
    for name, n_in, kept, dropped, secs in rows:
        print(f"{name:<10} {n_in:>9,} {kept:>9,} {dropped:>9,} {secs:>8.1f}")
    for n_len, entry in sorted(shards["seq_lens"].items(), key=lambda kv: int(kv[0])):
        print(f"shards {n_len:>5}: {entry['tokens']:,} tokens in {entry['sequences']:,} sequences")
    print(f"\nwall time {wall:.1f}s ({records / wall:.1f} docs/s), peak RSS {peak / 2**30:.2f} GiB "
          f"(driver + JVM + Python workers), lost documents {lost}")
    print(json.dumps({
        "docs": records, "wall_s": round(wall, 1), "docs_per_s": round(records / wall, 1),
        "peak_rss_gb": round(peak / 2**30, 2), "lost_docs": lost,
        "tokens": shards["seq_lens"][str(min(int(k) for k in shards["seq_lens"]))]["tokens"],
    }))


if __name__ == "__main__":
    main()
