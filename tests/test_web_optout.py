"""Web opt-outs: signals recorded at extraction, robots.txt captures read bounded and applied by
capture time, the `web_optout` stage's rules, and a run's per-rule and per-domain counts.
Every test builds its own pages and robots.txt WARC files."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from curator.manifest import ExtractSettings
from stages.optout_signals import record_signals
from stages.robots_captures import KINDS, RobotsRules, read_captures, write_rules
from stages.warc_source import read_warc
from stages.web_optout import WebOptOut, agent_rule, directives
from tests import optout_inputs as O


def _rows(path: Path) -> dict[str, dict]:
    return {r["url"]: r for r in read_warc(str(path), "web", "web", ExtractSettings()) if r["url"]}


def test_extraction_records_headers_and_head_meta_tags_only_when_present(tmp_path):
    warc = O.write_warc(tmp_path / "pages.warc.gz", [
        O.page("https://a.example/x", "Alpha", headers=[("X-Robots-Tag", "noai"), ("X-Robots-Tag", "GPTBot: noimageai"),
                                                      ("tdm-reservation", "1")]),
        O.page("https://b.example/y", "Beta", head='<meta name="robots" content="noindex, noai">'
               '<meta name="tdm-reservation" content="1"><meta name="CCBot" content="noai">'),
        O.page("https://c.example/z", "Gamma"),
    ])
    rows = _rows(warc)
    a, b, c = (rows[u]["meta"] for u in ("https://a.example/x", "https://b.example/y", "https://c.example/z"))
    assert a["x_robots_tag"] == "noai\nGPTBot: noimageai"
    assert (a["tdm_reservation"], a["tdm_reservation_from"]) == ("1", "header")
    assert b["robots_meta"] == "robots: noindex, noai\nccbot: noai"
    assert (b["tdm_reservation"], b["tdm_reservation_from"]) == ("1", "meta")
    assert not {"x_robots_tag", "robots_meta", "tdm_reservation"} & set(c)
    assert all(rows[u]["drop_reason"] is None for u in rows)


def test_meta_tags_after_the_head_or_past_the_bound_are_not_read():
    meta: dict = {}
    record_signals(None, "<html><head></head><body><meta name='robots' content='noai'></body>", meta)
    assert meta == {}
    record_signals(None, "<html>" + " " * (70 << 10) + "<meta name='robots' content='noai'>", meta)
    assert meta == {}
    record_signals(None, "<meta name=robots content=noai>" + "x" * 10, meta)
    assert meta["robots_meta"] == "robots: noai"


def test_directives_address_all_robots_or_the_listed_agents_only():
    agents = frozenset({"gptbot", "ccbot"})
    assert directives("noai, noimageai", None, agents) == {"noai", "noimageai"}
    assert directives("otherbot: noai", None, agents) == set()
    assert directives("GPTBot: noai", None, agents) == {"noai"}
    assert "noai" not in directives("unavailable_after: 25 Jun 2010 15:00:00 PST", None, agents)
    assert directives(None, "googlebot: noai\nccbot: noimageai", agents) == {"noimageai"}
    assert agent_rule("Google-Extended") == "robots_google_extended"


def _captures(tmp_path) -> Path:
    path = O.write_warc(tmp_path / "robots.warc.gz", [
        O.robots("https://a.example", "User-agent: *\nAllow: /\n", "2024-01-01T00:00:00Z"),
        O.robots("https://a.example", "User-agent: GPTBot\nDisallow: /private\n", "2024-04-01T00:00:00Z"),
        O.robots("http://b.example", "", "2024-03-01T00:00:00Z", "301 Moved Permanently",
                 [("Location", "https://www.b.example/robots.txt")]),
        O.robots("https://www.b.example", "User-agent: CCBot\nDisallow: /\n", "2024-03-01T00:00:01Z"),
        O.robots("https://gone.example", "not here", "2024-03-01T00:00:00Z", "404 Not Found"),
        O.robots("https://down.example", "oops", "2024-03-01T00:00:00Z", "503 Service Unavailable"),
        O.robots("https://big.example", "User-agent: *\nAllow: /\n" + "# pad\n" * 400 + "User-agent: GPTBot\nDisallow: /\n",
                 "2024-03-01T00:00:00Z"),
        O.robots("https://notrobots.example", "x", "2024-03-01T00:00:00Z") | {"url": "https://notrobots.example/x.txt"},
    ])
    with open(path, "ab") as f:  # a broken record at the end: counted, its neighbours kept
        f.write(b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 99999\r\n\r\nshort")
    return path


def test_robots_captures_are_read_bounded_and_mean_what_rfc_9309_says(tmp_path):
    rows = list(read_captures(str(_captures(tmp_path)), max_bytes=1024))
    good = [r for r in rows if r["error"] is None]
    assert len(good) == 7 and len(rows) == 8  # not a robots.txt: no row; the broken record: one error row
    assert [r["host"] for r in good].count("a.example") == 2
    big = next(r for r in good if r["host"] == "big.example")
    assert big["truncated"] and len(big["body"]) == 1024
    kinds = {r["host"]: KINDS[r["kind"]] for r in good}
    assert kinds == {"a.example": "rules", "b.example": "redirect", "www.b.example": "rules", "gone.example": "allow",
                     "down.example": "unreachable", "big.example": "rules"}


def _rules(tmp_path, keep=lambda r: True) -> RobotsRules:
    good = [r for r in read_captures(str(_captures(tmp_path)), max_bytes=1024) if r["error"] is None and keep(r)]
    import pyarrow as pa

    from stages.robots_captures import CAPTURE_SCHEMA

    rows = sorted(good, key=lambda r: (r["h"], r["at"], r["url"]))
    path = tmp_path / "rules.arrow"
    assert write_rules([pa.RecordBatch.from_pylist(rows, schema=CAPTURE_SCHEMA)], path) == len(rows)
    return RobotsRules(path)


def test_a_redirect_is_followed_to_its_targets_capture_or_stays_unknown(tmp_path):
    rules = _rules(tmp_path)
    i = rules.capture("http://b.example/page", "2024-05-01T00:00:00Z")
    assert rules.meaning(i) == "rules" and rules.disallowed(i, "http://b.example/page", ["GPTBot", "CCBot"]) == ["CCBot"]
    alone = _rules(tmp_path, keep=lambda r: r["host"] == "b.example")
    j = alone.capture("http://b.example/page", None)
    assert alone.meaning(j) == "redirect" and alone.disallowed(j, "http://b.example/page", ["CCBot"]) == []


def test_a_redirect_to_the_same_host_on_https_leads_to_that_capture(tmp_path):
    from stages.robots_captures import CAPTURE_SCHEMA

    warc = O.write_warc(tmp_path / "self.warc.gz", [
        O.robots("https://self.example", "User-agent: GPTBot\nDisallow: /\n", "2024-05-01T00:00:00Z"),
        O.robots("http://self.example", "", "2024-05-01T00:00:05Z", "301 Moved Permanently",
                 [("Location", "https://self.example/robots.txt")]),
    ])
    rows = sorted(read_captures(str(warc), 4096), key=lambda r: (r["h"], r["at"]))
    write_rules([pa.RecordBatch.from_pylist(rows, schema=CAPTURE_SCHEMA)], tmp_path / "self.arrow")
    rules = RobotsRules(tmp_path / "self.arrow")
    i = rules.capture("http://self.example/a", "2024-05-02T00:00:00Z")
    assert rules.meaning(i) == "rules" and rules.disallowed(i, "http://self.example/a", ["GPTBot"]) == ["GPTBot"]


def test_the_capture_in_force_when_the_page_was_fetched_applies(tmp_path):
    rules = _rules(tmp_path)
    url = "https://a.example/private/page"
    before = rules.capture(url, "2024-02-01T00:00:00Z")
    after = rules.capture(url, "2024-05-01T00:00:00Z")
    assert rules.disallowed(before, url, ["GPTBot"]) == []
    assert rules.disallowed(after, url, ["GPTBot", "CCBot"]) == ["GPTBot"]
    assert rules.capture(url, "2023-01-01T00:00:00Z") == before  # every capture later: the earliest
    assert rules.disallowed(after, "https://a.example/public", ["GPTBot"]) == []
    assert rules.capture("https://unknown.example/", "2024-05-01") is None
    down = rules.capture("https://down.example/a", None)
    assert rules.disallowed(down, "https://down.example/a", ["GPTBot"]) == ["GPTBot"]  # RFC 9309: unreachable
    assert rules.disallowed(down, "https://down.example/a", ["GPTBot"], unreachable="allow") == []
    gone = rules.capture("https://gone.example/a", None)
    assert rules.disallowed(gone, "https://gone.example/a", ["GPTBot"]) == []
    big = rules.capture("https://big.example/a", None)  # the GPTBot group is past the byte cap
    assert rules.disallowed(big, "https://big.example/a", ["GPTBot"]) == []


def _docs(rows: list[dict]) -> pa.Table:
    return pa.table({
        "url": [r["url"] for r in rows], "drop_reason": [None] * len(rows), "domain": ["web"] * len(rows),
        "meta": pa.array([list(r["meta"].items()) for r in rows], pa.map_(pa.string(), pa.string())),
    })


def test_the_stage_drops_by_the_first_rule_in_drop_and_tags_the_others(tmp_path):
    rules = _rules(tmp_path)
    rows = [
        {"url": "https://a.example/private/1", "meta": {"warc_date": "2024-05-01T00:00:00Z", "x_robots_tag": "noai"}},
        {"url": "https://a.example/private/2", "meta": {"warc_date": "2024-02-01T00:00:00Z"}},
        {"url": "https://c.example/3", "meta": {"tdm_reservation": "1"}},
        {"url": "https://c.example/4", "meta": {"tdm_reservation": "0", "robots_meta": "robots: noimageai"}},
        {"url": "https://c.example/5", "meta": {"robots_meta": "otherbot: noai"}},
        {"url": "https://b.example/6", "meta": {"warc_date": "2024-05-01T00:00:00Z"}},
    ]
    stage = WebOptOut({"robots_warcs": [], "user_agents": ["GPTBot", "CCBot"]})
    stage.__dict__["robots"] = rules
    docs = _docs(rows)
    scores = stage.score_batch(docs)
    assert scores["optout_rules"] == [["robots_gptbot", "noai"], [], ["tdm_reservation"], ["noimageai"], [],
                                      ["robots_ccbot"]]
    assert scores["optout_robots_capture"][:2] == ["2024-04-01T00:00:00Z rules", "2024-01-01T00:00:00Z rules"]
    assert stage.keep_batch(docs, scores) == ["robots_gptbot", None, "tdm_reservation", None, None, "robots_ccbot"]
    only_noai = WebOptOut({"drop": ["noai", "noimageai"], "robots_reason": "any"})
    only_noai.__dict__["robots"] = rules
    s2 = only_noai.score_batch(docs)
    assert s2["optout_rules"][0] == ["robots_any", "noai"]
    assert only_noai.keep_batch(docs, s2) == ["noai", None, None, "noimageai", None, None]


def test_settings_refuse_what_is_not_a_user_agent_or_a_rule():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not a user-agent token"):
        WebOptOut.Settings(user_agents=["GPT Bot: x"])
    with pytest.raises(ValidationError):
        WebOptOut.Settings(drop=["robots", "everything"])


# -- a run --------------------------------------------------------------------------------------

def optout_manifest(tmp_path: Path, stage: dict | None = None) -> Path:
    """A web-only run over built pages and robots.txt captures, through every phase."""
    import yaml

    from tests.conftest import DEMO

    pages = [
        O.page("https://blocked.example/a", "Aachen", date="2024-05-02T00:00:00Z"),
        O.page("https://blocked.example/b", "Bonn", date="2024-05-02T00:00:00Z"),
        O.page("https://blocked.example/open/c", "Celle", date="2024-05-02T00:00:00Z"),
        O.page("https://tdm.example/d", "Dresden", headers=[("tdm-reservation", "1")]),
        O.page("https://meta.example/e", "Essen", head='<meta name="robots" content="noai, noimageai">'),
        O.page("https://images.example/f", "Fulda", head='<meta name="robots" content="noimageai">'),
        O.page("https://free.example/g", "Gotha"),
        O.page("https://free.example/h", "Hanau"),
        O.page("https://moved.example/i", "Ilmenau"),
    ]
    O.write_warc(tmp_path / "pages.warc.gz", pages)
    O.write_warc(tmp_path / "robots.warc.gz", [
        O.robots("https://blocked.example", "User-agent: GPTBot\nDisallow: /\nAllow: /open/\n", "2024-05-01T00:00:00Z"),
        O.robots("https://free.example", "User-agent: *\nDisallow:\n", "2024-05-01T00:00:00Z"),
        O.robots("https://elsewhere.example", "User-agent: *\nDisallow: /\n", "2024-05-01T00:00:00Z"),
        O.robots("https://moved.example", "", "2024-05-01T00:00:00Z", "301 Moved Permanently",
                 [("Location", "https://www.moved-target.example/robots.txt")]),
        O.robots("https://www.moved-target.example", "User-agent: ClaudeBot\nDisallow: /\n", "2024-05-01T00:00:00Z"),
    ])
    demo = yaml.safe_load(DEMO.read_text())
    data = {
        "run": "optout",
        "sources": [{"name": "pages", "kind": "warc", "inputs": [str(tmp_path / "pages.warc.gz")], "domain": "web",
                     "snapshot": "CC-MAIN-2024-22"}],
        "stages": [{"web_optout": stage or {"robots_warcs": [str(tmp_path / "robots.warc.gz")]}}],
        "dedup": {"exact": True, "url": True},
        "mixture": {"weights": {"web": 1.0}, "seed": 1},
        "tokenizer": {"path": "asset:gpt2", "add_eos": True},
        "shards": {"seq_lens": [256], "formats": ["parquet"], "tokens_per_shard": 100000, "seed": 1},
        "spark": demo["spark"],
        "output": {"dir": str(tmp_path / "runs")},
    }
    path = tmp_path / "optout.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def optout_run(spark, tmp_path_factory):
    from curator.manifest import load
    from curator.pipeline import Pipeline

    tmp = tmp_path_factory.mktemp("optout")
    m = load(optout_manifest(tmp))
    Pipeline(m, spark=spark, log=lambda s: None).run()
    return Path(m.run_dir)


def test_a_run_drops_opted_out_pages_and_counts_them_per_rule_and_domain(optout_run):
    stats = json.loads((optout_run / "stats" / "annotated.json").read_text())
    assert stats["dropped"] == {"web_optout.noai": 1, "web_optout.robots_claudebot": 1, "web_optout.robots_gptbot": 2,
                                "web_optout.tdm_reservation": 1}
    assert stats["kept"] == 4
    own = stats["stage_stats"]["web_optout"]
    assert own["pages_checked"] == 9 and own["pages_with_robots_capture"] == 6
    rules = own["rules"]
    assert rules["robots_gptbot"]["top_domains"] == [{"domain": "blocked.example", "pages": 2, "dropped": 2}]
    assert (rules["noimageai"]["pages"], rules["noimageai"]["dropped"]) == (2, 0)  # tagged, never dropped
    prepared = stats["prepared"]["web_optout"]
    # elsewhere.example has no page in the run; the redirect's target is kept for moved.example's
    assert (prepared["robots_records"], prepared["robots_captures_used"], prepared["robots_hosts"]) == (5, 4, 4)
    assert prepared["robots_capture_kinds"]["redirect"] == 1


def test_curator_stats_and_the_report_show_the_opt_outs(optout_run, capsys):
    from curator.cli import main

    assert main(["stats", str(optout_run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["web_optout"]["rules"]["tdm_reservation"]["dropped"] == 1
    assert main(["stats", str(optout_run)]) == 0
    out = capsys.readouterr().out
    assert "web opt-outs" in out and "blocked.example" in out
    html = (optout_run / "report.html").read_text()
    assert "robots_gptbot" in html and "blocked.example" in html


def test_a_robots_glob_matching_nothing_is_a_one_line_error(tmp_path, capsys):
    from curator.cli import main

    path = optout_manifest(tmp_path, {"robots_warcs": [str(tmp_path / "nothing-*.warc.gz")]})
    assert main(["run", str(path), "--until", "annotate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "robots_warcs: no file matches" in err[0]


def test_the_card_of_the_run_shows_the_opt_out_counts_of_its_stats(optout_run, capsys):
    from curator.cli import main

    assert main(["card", str(optout_run)]) == 0
    card = json.loads((optout_run / "card.json").read_text())
    stats = json.loads((optout_run / "stats" / "annotated.json").read_text())
    assert card["web_optout"]["rules"] == stats["stage_stats"]["web_optout"]["rules"]
    web = next(s for s in card["stages"] if s["name"] == "web_optout")
    assert web["removed"] == stats["dropped"] and web["documents_removed"] == 5
    assert web["settings"]["robots_warcs"] and card["sources"][0]["snapshot"] == "CC-MAIN-2024-22"
    assert card["code_licenses"] is None
    md = (optout_run / "card.md").read_text()
    assert "| robots_gptbot | blocked.example | 2 | 2 |" in md
    assert "9 pages checked, 6 with a robots.txt capture (5 captures read, 0 unreadable, 4 hosts kept)" in md


def test_the_bundled_samples_pages_against_robots_captures_built_for_their_hosts(tmp_path):
    """The sample's pages carry no opt-out headers or tags; captures of two of its hosts (one
    forbidding GPTBot before the crawl, one only after it) decide by capture time."""
    from curator.schema import DOC_SCHEMA
    from tests.conftest import DEMO

    rows = [r for r in read_warc(str(DEMO.parent / "sample" / "web.warc.gz"), "web", "web",
                                 ExtractSettings(extractor="resiliparse")) if r["drop_reason"] is None]
    assert len(rows) > 50 and not any({"x_robots_tag", "robots_meta", "tdm_reservation"} & set(r["meta"]) for r in rows)
    warc = O.write_warc(tmp_path / "robots.warc.gz", [
        O.robots("https://slowtrains.example", "User-agent: GPTBot\nDisallow: /\n", "2024-03-09T00:00:00Z"),
        O.robots("https://kitchen-notes.example", "User-agent: *\nAllow: /\n", "2024-03-09T00:00:00Z"),
        O.robots("https://kitchen-notes.example", "User-agent: GPTBot\nDisallow: /\n", "2024-04-01T00:00:00Z"),
    ])
    from stages.robots_captures import CAPTURE_SCHEMA

    captures = sorted(read_captures(str(warc), 1 << 16), key=lambda r: (r["h"], r["at"]))
    write_rules([pa.RecordBatch.from_pylist(captures, schema=CAPTURE_SCHEMA)], tmp_path / "rules.arrow")
    stage = WebOptOut({"rules_file": str(tmp_path / "rules.arrow")})
    out = stage.apply(pa.RecordBatch.from_pylist(rows, schema=DOC_SCHEMA)).to_pylist()
    fates = {r["url"].split("/")[2]: set() for r in out}
    for r in out:
        fates[r["url"].split("/")[2]].add(r["drop_reason"])
    assert fates.pop("slowtrains.example") == {"web_optout.robots_gptbot"}
    assert fates.pop("kitchen-notes.example") == {None}  # the later capture was not in force yet
    assert all(f == {None} for f in fates.values())
    assert {r["optout_robots_capture"] for r in out if r["url"].startswith("https://kitchen")} == {"2024-03-09T00:00:00Z rules"}


def test_broken_meta_tags_cost_their_neighbours_nothing():
    meta: dict = {}
    head = "<head>" + "<meta name=robots content=" * 2000 + "<meta name='robots' content='noai'></head>"
    record_signals(None, head, meta)
    assert meta["robots_meta"] == "robots: noai"
    many: dict = {}
    record_signals(None, "<head>" + "<meta name=robots content='noai, x'>" * 50 + "</head>", many)
    assert many["robots_meta"].count("\n") == 7  # at most MAX_LINES lines kept


def test_hosts_are_matched_without_scheme_but_with_a_non_default_port():
    from stages.robots_captures import host_key, url_hosts

    batch = pa.RecordBatch.from_arrays([pa.array(["https://A.Example:8443/x", "http://a.example:80/", "not a url", None])],
                                       names=["url"])
    assert next(url_hosts([batch])).column(0).to_pylist() == ["a.example:8443", "a.example", None, None]
    assert host_key("https://a.example/robots.txt") == host_key("http://a.example/robots.txt")
