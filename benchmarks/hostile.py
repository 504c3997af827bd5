"""Hostile and careless input, all at once: one pipeline run over every kind of bad input the
project defends against, plus the careless commands a user types, measured from outside.

Inputs (built by tests/hostile_inputs.py; --quick makes the bombs 64 MiB instead of 1 GiB):
- a WARC with a WARC header line bomb, an HTTP header line bomb, `charset=rot13` and
  `<meta charset="hex">` pages, control characters and terminal escapes in page text, and a
  target URI with user-info, between good pages;
- the bundled sample WARC served by a local HTTP server that requires basic auth, named as
  `http://user:PASSWORD@127.0.0.1:PORT/...?token=TOKEN`;
- a git repository and a tar.gz whose LICENSE expands to the bomb size, a zip of many files
  each just under the per-file cap (1,000 files, 990 MB of text; --quick: 200), a zip with a
  corrupted member, and a folder with a FIFO, a device node (as root) and a hard link to a
  file outside it;
- careless commands: a YAML alias bomb, a manifest that is not UTF-8, NaN weights, a run into
  an existing folder that is not a run directory, and `run: ..`.

It reports, last line as JSON: `inputs`, `records_read` (counted by the readers as they read),
`rows_written` (rows of the extract phase), `lost_records` (records read without exactly one
row, plus planted good pages that are missing or not kept), `peak_worker_rss_gb` (largest
resident size of one Python worker, sampled every 50 ms from /proc), `peak_driver_rss_gb`,
`hung_tasks` (commands that hit their time limit), `secrets_written` (files under the run
directory, decoded Parquet included, and command outputs that hold a planted secret), and
`unrelated_files_touched` (files outside the run directory, inputs included, that were
added, removed or changed).

    .venv/bin/python benchmarks/hostile.py --quick
"""

from __future__ import annotations

import argparse
import base64
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import hostile_inputs as H  # noqa: E402

PASSWORD = "pw-Zq8v3Lm1Xk"
TOKEN = "tok-7hG2sQ9wR4"
URL_SECRET = "us-4Nf8Pj2Tb6"
SECRETS = (PASSWORD, TOKEN, URL_SECRET)


class _AuthHandler(http.server.BaseHTTPRequestHandler):
    root: Path

    def do_GET(self):  # noqa: N802
        want = "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != want:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="bench"')
            self.end_headers()
            return
        data = (self.root / self.path.split("?", 1)[0].lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    handler = type("Handler", (_AuthHandler,), {"root": folder})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def python_tree(pid: int) -> tuple[int, int]:
    """(resident bytes of `pid`, largest resident bytes of one Python process below it)."""
    children: dict[int, list[int]] = {}
    info: dict[int, tuple[int, bool]] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                comm, rest = f.read().rsplit(")", 1)
            fields = rest.split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        info[int(entry)] = (int(fields[21]) * page, "python" in comm)
    top, todo = 0, list(children.get(pid, []))
    while todo:
        p = todo.pop()
        rss, is_python = info.get(p, (0, False))
        if is_python:
            top = max(top, rss)
        todo.extend(children.get(p, []))
    return info.get(pid, (0, False))[0], top


def run_cmd(args: list[str], timeout: float, sample: bool = False) -> dict:
    """A `curator` command in its own process: exit code, output, time, peak memory."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "curator.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    peaks = [0, 0]
    done = threading.Event()

    def sampler():
        while not done.is_set():
            driver, worker = python_tree(proc.pid)
            peaks[0], peaks[1] = max(peaks[0], driver), max(peaks[1], worker)
            done.wait(0.05)

    if sample:
        threading.Thread(target=sampler, daemon=True).start()
    hung = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        hung = True
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
    done.set()
    return {"args": args, "rc": proc.returncode, "out": out, "err": err, "hung": hung,
            "seconds": time.perf_counter() - t0, "driver_rss": peaks[0], "worker_rss": peaks[1]}


def secret_files(run_dir: Path) -> list[str]:
    """Files under the run directory that hold a secret, as bytes or in decoded Parquet."""
    import pyarrow.parquet as pq

    found = []
    for p in sorted(run_dir.rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        hit = any(s.encode() in data for s in SECRETS)
        if not hit and p.suffix == ".parquet":
            hit = any(s in str(pq.read_table(p).to_pylist()) for s in SECRETS)
        if hit:
            found.append(str(p.relative_to(run_dir)))
    return found


def build(work: Path, bomb: int, n_zip_files: int) -> tuple[dict, dict]:
    """Inputs and manifests under `work`; returns (manifest paths by name, planted facts)."""
    inputs = work / "inputs"
    (inputs / "web").mkdir(parents=True)
    (inputs / "code").mkdir()
    (inputs / "served").mkdir()
    (inputs / "outside").mkdir()
    expect_web = H.hostile_warc(inputs / "web" / "hostile.warc.gz", bomb, URL_SECRET)
    shutil.copy(ROOT / "manifests" / "sample" / "web.warc.gz", inputs / "served" / "sample.warc.gz")
    H.git_repo_with_big_license(inputs / "code", bomb)
    # just under max_archive_bytes (1 GiB by default), so the archive is read, not refused
    H.tar_with_big_license(inputs / "code" / "biglicense.tar.gz", bomb - H.CHUNK)
    H.zip_of_many_files(inputs / "code" / "many.zip", n_zip_files, 990_000)
    H.zip_with_bad_crc(inputs / "code" / "crc.zip")
    expect_code = H.folder_with_special_files(inputs / "code", inputs / "outside")

    out = work / "out"
    (out / "precious" / "shards").mkdir(parents=True)
    (out / "precious" / "extracted").mkdir()
    (out / "precious" / "shards" / "mine.bin").write_bytes(b"not yours")
    (out / "precious" / "report.html").write_text("<p>my own report</p>")
    (out / "notes.txt").write_text("a user's notes beside the runs\n")

    server = serve(inputs / "served")
    port = server.server_address[1]
    url = f"http://user:{PASSWORD}@127.0.0.1:{port}/sample.warc.gz?token={TOKEN}"
    code_inputs = [str(inputs / "code" / n) for n in ("bigrepo", "biglicense.tar.gz", "many.zip", "crc.zip", "specials")]
    manifest = {
        "run": "hostile",
        "sources": [
            {"name": "web", "kind": "warc", "inputs": [str(inputs / "web" / "hostile.warc.gz"), url], "domain": "web"},
            {"name": "code", "kind": "code", "inputs": code_inputs, "domain": "code", "licenses": ["*"]},
        ],
        "extract": {"http_retries": 1},
        "stages": [{"langid": {}}],
        "dedup": {"exact": True, "url": True},
        "mixture": {"weights": {"web": 0.5, "code": 0.5}},
        "shards": {"seq_lens": [512]},
        "spark": {"master": "local[2]", "driver_memory": "2g", "shuffle_partitions": 4},
        "output": {"dir": str(out), "rejected_samples": 5},
    }
    paths = {}

    def write(name: str, data) -> None:
        p = work / f"{name}.yaml"
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(yaml.safe_dump(data))
        paths[name] = p

    write("hostile", manifest)
    write("precious", {**manifest, "run": "precious"})
    write("dotdot", {**manifest, "run": ".."})
    write("nan", {**manifest, "mixture": {"weights": {"web": float("nan"), "code": 1.0}}})
    laughs = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n" + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi"))
    write("aliasbomb", laughs.encode())
    write("latin1", yaml.safe_dump(manifest).replace("hostile", "h\u00e9stile").encode("latin-1"))
    # two web inputs and five code inputs (the folder holds four special files)
    return paths, {"web": expect_web, "code": expect_code, "server": server, "inputs": 7}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="64 MiB bombs and a zip of 200 files")
    ap.add_argument("--workdir", help="build inputs and run here (default: a temporary folder)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds for the pipeline run")
    args = ap.parse_args()
    bomb = (64 if args.quick else 1024) << 20
    n_zip = 200 if args.quick else 1000
    timeout = args.timeout or (900 if args.quick else 2400)

    with tempfile.TemporaryDirectory(prefix="curator-hostile-") as tmp:
        work = Path(args.workdir or tmp)
        t0 = time.perf_counter()
        paths, facts = build(work, bomb, n_zip)
        prep = time.perf_counter() - t0
        before = {**H.snapshot_tree(work / "out"), **{f"in/{k}": v for k, v in H.snapshot_tree(work / "inputs").items()}}
        careless = [
            ("validate", "aliasbomb", 2), ("validate", "latin1", 2), ("validate", "nan", 2),
            ("run", "dotdot", 2), ("run", "precious", 2),
        ]
        results = []
        for cmd, name, want in careless:
            r = run_cmd([cmd, str(paths[name])], timeout=60)
            r.update(name=name, want=want)
            results.append(r)
        main_run = run_cmd(["run", str(paths["hostile"])], timeout=timeout, sample=True)
        main_run.update(name="hostile run", want=0)
        results.append(main_run)
        facts["server"].shutdown()
        after = {**H.snapshot_tree(work / "out", skip=work / "out" / "hostile"),
                 **{f"in/{k}": v for k, v in H.snapshot_tree(work / "inputs").items()}}
        touched = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))

        run_dir = work / "out" / "hostile"
        records = {"records_read": 0, "lost_records": 0}
        rows_written, missing_good = 0, []
        if main_run["rc"] == 0:
            extracted = json.loads((run_dir / "stats" / "extracted.json").read_text())
            records = extracted["records"]
            rows_written = extracted["docs_in"]
            import pyarrow.parquet as pq

            table = pq.read_table(run_dir / "extracted", columns=["url", "drop_reason"]).to_pylist()
            reasons = {r["url"]: r["drop_reason"] for r in table}
            from curator.redact import redact_userinfo

            for url, outcome in facts["web"].items():
                got = reasons.get(redact_userinfo(url), "<missing>")
                if (outcome is None and got is not None) or got == "<missing>":
                    missing_good.append((url, got))
        secrets = secret_files(run_dir) if run_dir.exists() else []
        secrets += [f"output of {r['name']}" for r in results if any(s in r["out"] + r["err"] for s in SECRETS)]

    print(f"hostile inputs built in {prep:.0f}s (bombs of {bomb >> 20} MiB, zip of {n_zip} files)\n")
    print(f"{'command':<14} {'exit':>4} {'want':>4} {'seconds':>8}  first line of stderr")
    for r in results:
        first = (r["err"].strip().splitlines() or [""])[-1][:90] if r["rc"] else ""
        print(f"{r['name']:<14} {r['rc']:>4} {r['want']:>4} {r['seconds']:>8.1f}  {first}")
    for url, got in missing_good:
        print(f"lost or not kept: {url} -> {got}")
    for s in secrets:
        print(f"secret written: {s}")
    for t in touched:
        print(f"unrelated file touched: {t}")
    wrong_exit = [r["name"] for r in results if r["rc"] != r["want"]]
    if wrong_exit:
        print(f"unexpected exit codes: {wrong_exit}")
        if main_run["rc"] != 0:
            print(main_run["err"][-3000:])
    print(f"\nrecords read {records['records_read']:,}, extract rows {rows_written:,}, "
          f"peak worker RSS {main_run['worker_rss'] / 2**30:.2f} GiB, driver {main_run['driver_rss'] / 2**30:.2f} GiB, "
          f"run {main_run['seconds']:.0f}s")
    print(json.dumps({
        "inputs": facts["inputs"] + len(careless),
        "records_read": records["records_read"],
        "rows_written": rows_written,
        "lost_records": records["lost_records"] + len(missing_good),
        "peak_worker_rss_gb": round(main_run["worker_rss"] / 2**30, 3),
        "peak_driver_rss_gb": round(main_run["driver_rss"] / 2**30, 3),
        "hung_tasks": sum(r["hung"] for r in results),
        "secrets_written": len(secrets),
        "unrelated_files_touched": len(touched),
        "wrong_exit_codes": len(wrong_exit),
        "run_s": round(main_run["seconds"], 1),
    }))


if __name__ == "__main__":
    main()
