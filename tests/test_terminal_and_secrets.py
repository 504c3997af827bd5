"""Issue 14 section 4, the output side: nothing a run prints or writes about its data can
drive a terminal (escape sequences, C1 controls, bidi overrides) or be read as rich markup,
and no input credential (user-info, secret query values) is shown, even from stats written
before inputs were redacted. Each test builds its own run directory by hand."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from curator.cli import main
from curator.schema import DOC_SCHEMA
from curator.terminal import redact_all, redact_urls, shown, shown_url, visible

OSC = "\x1b]0;pwned\x07"  # sets the window title
CLEAR = "\x1b[2J"  # clears the screen
CSI1 = "\x9b"  # C1 CSI: an escape on some terminals
RLO = "\u202e"  # right-to-left override
HOSTILE = f"{OSC}{CLEAR}{CSI1}31m{RLO}gnp.exe"
MARKUP = "[bold red]markup[/bold red]"
SECRET = "s3cr3t-pw"
TOKEN = "tok-9f8e7d"
INPUT = f"http://user:{SECRET}@127.0.0.1:9/web.warc.gz?X-Amz-Signature={TOKEN}&part=1"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""What must never reach a terminal or report.html raw (newline and tab may)."""


@pytest.fixture(autouse=True)
def plain_wide_terminal(monkeypatch):
    """rich writes no styling of its own to a pipe, and wraps nothing we search for."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "400")


def assert_nothing_raw(out: str) -> None:
    bad = RAW.search(out)
    assert bad is None, f"raw control character {bad.group(0)!r} at {bad.start()}: {out[max(0, bad.start() - 60):bad.start() + 60]!r}"
    assert SECRET not in out and TOKEN not in out


def test_visible_escapes_controls_and_keeps_lines_only_in_bodies():
    s = f"a{HOSTILE}\x00\x7f\u2066b\ud800\tc\r\nd"
    label = visible(s)
    assert not RAW.search(label) and "\n" not in label and "\t" not in label
    assert label == ("a\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe\\x00\\x7f\\u2066b\\ud800\\tc\\r\\nd")
    body = visible(s, body=True)
    assert body.endswith("b\\ud800\tc\nd") and not RAW.search(body)
    assert visible(visible(s)) == visible(s)  # escaping twice changes nothing
    assert visible("plain text, ünïcödé, 中文, عربي") == "plain text, ünïcödé, 中文, عربي"


def test_secrets_masked_inside_any_string_but_documents_keep_their_query():
    msg = f"HttpError: {INPUT}: HTTP 401 Unauthorized"
    assert redact_urls(msg) == "HttpError: http://***@127.0.0.1:9/web.warc.gz?X-Amz-Signature=***&part=1: HTTP 401 Unauthorized"
    assert shown(f"{INPUT}@1234").startswith("http://***@127.0.0.1:9/web.warc.gz?X-Amz-Signature=***")
    assert shown_url(f"https://user:{SECRET}@example.com/p?token=keep") == "https://***@example.com/p?token=keep"
    assert redact_all({INPUT: [INPUT, 3, None]}) == {redact_urls(INPUT): [redact_urls(INPUT), 3, None]}


# -- a hand-made run directory ---------------------------------------------------------------

REASON = "gopher_quality.word_count"
ODD_REASON = f"odd.{HOSTILE}"


def doc(i: int, reason: str) -> dict:
    return {"id": f"{INPUT}@{i}{OSC}", "source": f"src{CLEAR}", "kind": "warc", "domain": f"web{CSI1}",
            "url": f"https://user:{SECRET}@evil.example/{MARKUP}/{OSC}?q={CLEAR}",
            "text": f"line one {HOSTILE}\nline two\t{MARKUP} :smile:\r\nend", "lang": f"en{RLO}",
            "lang_score": 0.9, "meta": [("warc_file", INPUT), ("error", f"HttpError: {INPUT}: {OSC}")],
            "drop_reason": reason}


def make_run(root: Path, parquet: bool = True) -> Path:
    """An annotate phase that dropped documents for REASON (and one odd reason), with stats
    whose domain, reasons and input names are hostile and hold an input's credentials, as a
    run from before redaction could have written them."""
    run = root / "hostile"
    rows = [doc(i, REASON) for i in range(3)] + [doc(9, ODD_REASON), doc(10, None)]
    if parquet:
        (run / "annotated").mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=DOC_SCHEMA), run / "annotated" / "part-00000.parquet")
    (run / "stats").mkdir(parents=True)
    domain = rows[0]["domain"]
    dropped = {REASON: 3, ODD_REASON: 1}
    extract = {"docs_in": 5, "kept": 5, "dropped": {}, "domains": {domain: {"docs_in": 5, "kept": 5, "dropped": {}, "chars_kept": 1}},
               "problems_by_file": {INPUT: {"warc.unreadable": 1}, f"/data/{OSC}.warc.gz": {"warc.corrupt": 2}},
               "records": {"problems": [{"file": INPUT}]}}
    annotate = {"docs_in": 5, "kept": 1, "dropped": dropped, "domains": {domain: {"docs_in": 5, "kept": 1, "dropped": dropped, "chars_kept": 1}}}
    (run / "stats" / "extracted.json").write_text(json.dumps(extract))
    (run / "stats" / "annotated.json").write_text(json.dumps(annotate))
    (run / "manifest.lock.yaml").write_text(yaml.safe_dump({"run": "hostile", "sources": [
        {"name": "web", "kind": "warc", "inputs": [INPUT], "domain": domain}], "stages": [{"gopher_quality": {}}]}))
    (run / "rejected").mkdir()
    samples = [{k: v for k, v in d.items() if k != "meta"} | {"meta": dict(d["meta"]), "gopher_words": 3} for d in rows[:3]]
    samples[0]["text"] += "\ud800"  # a lone surrogate: JSON allows it, UTF-8 does not
    (run / "rejected" / f"{REASON}.jsonl").write_text("\n".join(json.dumps(d) for d in samples) + "\n")
    return run


@pytest.mark.parametrize("parquet", [True, False], ids=["from-parquet", "from-rejected-samples"])
def test_inspect_reason_prints_escapes_visibly_and_no_secret(tmp_path, capsys, parquet):
    run = make_run(tmp_path, parquet)
    assert main(["inspect", str(run), "--reason", REASON, "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert_nothing_raw(out)
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe" in out  # shown, not obeyed
    assert MARKUP in out  # literally: data is never rich markup
    assert ":smile:" in out and "line two" in out  # no emoji codes either; rich expands the tab
    assert "https://***@evil.example/" in out and "?q=\\x1b[2J" in out
    assert "2 document(s) dropped for gopher_quality.word_count shown" in out


def test_inspect_lists_odd_reasons_escaped(tmp_path, capsys):
    run = make_run(tmp_path)
    assert main(["inspect", str(run)]) == 0
    out = capsys.readouterr().out
    assert_nothing_raw(out)
    assert visible(ODD_REASON) in out
    assert main(["inspect", str(run), "--reason", ODD_REASON]) == 0
    assert_nothing_raw(capsys.readouterr().out)
    assert main(["inspect", str(run), "--reason", "no.such"]) == 2
    err = capsys.readouterr().err
    assert_nothing_raw(err)
    assert "no document was dropped for 'no.such'" in err


def test_a_reason_that_names_a_path_reads_no_file_outside_rejected(tmp_path, capsys):
    run = make_run(tmp_path, parquet=False)
    stats = json.loads((run / "stats" / "annotated.json").read_text())
    stats["dropped"]["../../outside"] = 1
    (run / "stats" / "annotated.json").write_text(json.dumps(stats))
    (tmp_path / "outside.jsonl").write_text(json.dumps({"id": "outside", "text": "secret", "drop_reason": "../../outside"}) + "\n")
    assert main(["inspect", str(run), "--reason", "../../outside"]) == 2
    assert "outside" not in capsys.readouterr().out


def test_rejected_samples_are_read_line_by_line_with_a_bound(tmp_path):
    from curator.report import MAX_SAMPLE_LINE, read_samples

    f = tmp_path / "r.jsonl"
    huge = json.dumps({"id": "huge", "text": "x" * (MAX_SAMPLE_LINE + 10)})
    f.write_text("\n".join([huge, "not json", "[1, 2]", json.dumps({"id": "ok"}), json.dumps({"id": "ok2"})]) + "\n")
    assert [d["id"] for d in read_samples(f)] == ["ok", "ok2"]
    assert [d["id"] for d in read_samples(f, 1)] == ["ok"]


def test_inspect_on_a_real_terminal_sends_only_rich_own_styling(tmp_path):
    """With colours on, the only escape sequences are rich's SGR styles."""
    from rich.console import Console

    from curator.report import print_rejected

    run = make_run(tmp_path)
    buf = io.StringIO()
    print_rejected(run, REASON, 3, console=Console(file=buf, force_terminal=True, color_system="truecolor", width=300))
    out = buf.getvalue()
    assert "\x1b[" in out  # styled
    assert_nothing_raw(re.sub(r"\x1b\[[0-9;]*m", "", out))


def test_stats_tables_and_json_print_no_raw_control_or_secret(tmp_path, capsys):
    run = make_run(tmp_path)
    main(["stats", str(run)])
    out = capsys.readouterr().out
    assert_nothing_raw(out)
    assert "web\\x9b" in out and "http://***@127.0.0.1:9/web.warc.gz?X-Amz-Signature=***&part=1" in out
    assert "/data/\\x1b]0;pwned\\x07.warc.gz" in out  # broken inputs are listed, escaped
    main(["stats", str(run), "--json"])
    out = capsys.readouterr().out
    assert_nothing_raw(out)
    info = json.loads(out)
    assert {r["file"] for r in info["input_problems"]} == {redact_urls(INPUT), f"/data/{OSC}.warc.gz"}


def test_diff_prints_no_raw_control_or_secret(tmp_path, capsys):
    a = make_run(tmp_path / "a")
    b = make_run(tmp_path / "b")
    lock = yaml.safe_load((b / "manifest.lock.yaml").read_text())
    lock["sources"][0]["inputs"] = [INPUT.replace("part=1", "part=2"), f"s3://bucket/{OSC}.warc.gz"]
    (b / "manifest.lock.yaml").write_text(yaml.safe_dump(lock))
    stats = json.loads((b / "stats" / "annotated.json").read_text())
    stats["dropped"][REASON] = 2
    stats["dropped"][ODD_REASON] = 2
    (b / "stats" / "annotated.json").write_text(json.dumps(stats))
    assert main(["diff", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert_nothing_raw(out)
    assert "sources[0].inputs" in out and "part=2" in out and visible(ODD_REASON) in out
    assert main(["diff", str(a), str(b), "--json"]) == 0
    out = capsys.readouterr().out
    assert_nothing_raw(out)
    assert json.loads(out)["settings"]


def test_report_html_holds_no_raw_control_or_secret(tmp_path):
    run = make_run(tmp_path)
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert_nothing_raw(page)
    assert "https://***@evil.example/" in page and "\\x1b]0;pwned\\x07" in page and "\\ud800" in page
    assert "line one" in page and "\nline two\t" in page  # a sample keeps its lines
    assert html_escaped(redact_urls(INPUT)) in page  # broken inputs, listed with secrets masked


def html_escaped(s: str) -> str:
    import html

    return html.escape(s)


# -- curator inspect SHARD ---------------------------------------------------------------------

def test_inspect_shard_prints_decoded_text_and_paths_escaped(tmp_path, capsys, monkeypatch):
    from curator import inspect_shards
    from curator.assets import sha256_file

    folder = tmp_path / f"shards{CLEAR}" / "8"
    folder.mkdir(parents=True)
    tokens = np.arange(16, dtype="<u4")
    tokens.tofile(folder / "shard-00000.npy")
    f = folder / "shard-00000.npy"
    (folder / "manifest.json").write_text(json.dumps({
        "seq_len": 8, "formats": ["olmo"], "eos_id": 0,
        "tokenizer": {"spec": f"asset:{OSC}", "sha256": "0" * 64},
        "shards": [{"shard": 0, "sequences": 2, "tokens": 16, "documents": 1,
                    "files": {"olmo": {"files": [f.name], "bytes": f.stat().st_size, "sha256": sha256_file(f)}}}]}))
    # the run's own tokenizer is not here: the failure message names the hostile spec
    assert main(["inspect", str(folder), "-n", "1"]) == 0
    out = capsys.readouterr().out
    assert_nothing_raw(out)
    assert "shards\\x1b[2J" in out and "asset:\\x1b]0;pwned\\x07" in out
    # a decoded window holds what the documents held
    monkeypatch.setattr(inspect_shards, "_decoder", lambda tok: (lambda seq: f"doc {HOSTILE}\nnext\tline", "test decoder"))
    assert main(["inspect", str(folder / "shard-00000.npy"), "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert_nothing_raw(out)
    assert out.count("doc \\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe\nnext\tline") == 2


# -- end to end: credentials in an input URL -------------------------------------------------

SAMPLE_WARC = Path(__file__).resolve().parents[1] / "manifests" / "sample" / "web.warc.gz"
USER = "curator"


class _AuthWarc(BaseHTTPRequestHandler):
    """Serves the sample WARC to requests with the right basic auth only."""

    body = b""
    seen: list[str] = []

    def _authorised(self) -> bool:
        want = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
        self.seen.append(self.headers.get("Authorization") or "")
        if self.headers.get("Authorization") == want:
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="warc"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_HEAD(self):  # noqa: N802
        if self._authorised():
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()

    def do_GET(self):  # noqa: N802
        if not self._authorised():
            return
        start = 0
        m = re.match(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if m:
            start = int(m.group(1))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(self.body) - 1}/{len(self.body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(self.body) - start))
        self.end_headers()
        self.wfile.write(self.body[start:])

    def log_message(self, *args):
        pass


def _inputs_support_basic_auth() -> bool:
    src = (Path(__file__).resolve().parents[1] / "stages" / "inputs.py").read_text()
    return "split_credentials" in src


@pytest.mark.skipif(not _inputs_support_basic_auth(),
                    reason="stages/inputs.py does not send URL credentials as basic auth yet (no split_credentials)")
def test_a_password_in_an_input_url_is_used_and_written_nowhere(spark, tmp_path):
    from curator.manifest import load
    from curator.pipeline import Pipeline
    from tests.conftest import demo_manifest_copy

    handler = type("Handler", (_AuthWarc,), {"body": SAMPLE_WARC.read_bytes(), "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://{USER}:{SECRET}@127.0.0.1:{server.server_port}/web.warc.gz"
        path = demo_manifest_copy(
            tmp_path, tmp_path / "runs",
            sources=[{"name": "web", "kind": "warc", "inputs": [url], "domain": "web"}],
            stages=[{"gopher_quality": {"domains": ["web"]}}],
            mixture={"weights": {"web": 1.0}},
            shards={"seq_lens": [512], "formats": ["parquet"]},
        )
        m = load(path)
        Pipeline(m, spark=spark, log=lambda s: None).run(until="extract")
        extracted = pq.read_table(m.run_dir / "extracted", columns=["text", "drop_reason"]).to_pylist()
        assert [r for r in extracted if r["drop_reason"] is None and r["text"]], "no document: the credentials did not work"
        assert not [r for r in extracted if r["drop_reason"] == "warc.unreadable"]
        Pipeline(m, spark=spark, log=lambda s: None).run()
    finally:
        server.shutdown()
        server.server_close()
    assert any(s.startswith("Basic ") for s in handler.seen)
    files = [p for p in m.run_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files) and (m.run_dir / "report.html").is_file()
    assert (m.run_dir / "rejected").is_dir() and list((m.run_dir / "rejected").glob("*.jsonl"))
    leaks = [str(p.relative_to(m.run_dir)) for p in files if SECRET.encode() in p.read_bytes()]
    for p in files:  # parquet pages may be compressed: read the values too
        if p.suffix == ".parquet" and SECRET in str(pq.read_table(p).to_pylist()):
            leaks.append(str(p.relative_to(m.run_dir)))
    assert not leaks, f"the password was written to {sorted(set(leaks))}"
    assert redact_urls(url) in (m.run_dir / "manifest.lock.yaml").read_text()  # recorded, masked


# -- what the CLI, the run directory and the phase runner print about folders -----------------

def test_report_path_and_run_dir_logs_are_escaped(tmp_path, capsys):
    """A run folder named with escapes prints them escaped (report, --force note, leftovers,
    a lock holder's host and start time read from disk)."""
    from curator.phases import PhaseRunner
    from curator.rundir import LOCK, RUN_MARKER, open_run

    run = make_run(tmp_path / f"r{OSC}")
    assert main(["report", str(run)]) == 0
    out = capsys.readouterr().out
    assert_nothing_raw(out)
    assert "\\x1b]0;pwned\\x07" in out

    logs: list[str] = []
    folder = tmp_path / f"force{CLEAR}"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with open_run(folder, force=True, log=logs.append):
        (folder / f"phase.tmp-{HOSTILE}").mkdir()
        (folder / f"phase.tmp-{HOSTILE}" / "keep").write_text("x")
        PhaseRunner(folder, log=logs.append).run("phase", "fp", lambda out: out.mkdir() or {})
    (folder / LOCK).write_text(json.dumps({"pid": 2**22 + 12345, "host": __import__("socket").gethostname(),
                                           "started": f"{OSC}{RLO}"}))
    with open_run(folder, log=logs.append):
        pass
    assert (folder / RUN_MARKER).is_file()
    for line in logs:
        assert_nothing_raw(line)
    force, left, took = (next(x for x in logs if x.startswith(p)) for p in ("--force", "[phase] left", "note: took over"))
    assert "\\x1b[2J" in force and "\\u202e" in left and "\\x1b]0;pwned\\x07\\u202e" in took
