"""Web opt-outs: what recording the signals costs at extraction, and how fast robots.txt rules
are applied, next to the standard library's parser on the same captures and URLs.

- signals: the real HTML pages of ../shared/corpus/bench-warc (Debian documentation), decoded
  as the WARC reader does; per page, `record_signals` (X-Robots-Tag, robots and TDM meta tags
  from the head: stages/optout_signals.py) against trafilatura's extraction of the same page,
  the step it rides along with. The figure that matters is the ratio (its share of extraction).
- robots: `--hosts` synthetic robots.txt files shaped like real ones (groups for `*` and for
  some AI crawlers, Disallow/Allow paths with wildcards and `$`), two captures per host at
  different times, written as a gzip-per-record WARC; then read bounded (`read_captures`),
  written as the rules file (`write_rules`, sorted as Spark sorts it) and looked up per page
  URL for the default 10 AI user agents, as the `web_optout` stage does (`RobotsRules`:
  memory-mapped captures, protego, parsed bodies cached). The peer is the standard library's
  `urllib.robotparser`, every capture parsed up front into a dict (the simple in-memory way),
  judging the same URLs for the same agents; the table also gives how often the two parsers
  agree (urllib.robotparser applies the first matching rule, not the longest, and knows no
  wildcards, so they differ by design on some paths).

Run from the repository root: `.venv/bin/python benchmarks/optout.py` (--quick: fewer pages
and hosts). Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("CURATOR_SHARED_CORPUS", ROOT.parent / "shared" / "corpus"))


def pages(n: int) -> list[tuple[object, str]]:
    """(HTTP headers, decoded HTML) of the first `n` HTML responses of bench-warc."""
    from warcio.archiveiterator import ArchiveIterator

    from stages.extractors import decode_html

    out = []
    for path in sorted((SHARED / "bench-warc").glob("bench-*.warc.gz")):
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                if rec.rec_type != "response":
                    continue
                ctype = rec.http_headers.get_header("Content-Type") or ""
                html, _, _ = decode_html(rec.content_stream().read(), ctype)
                out.append((rec.http_headers, html))
                if len(out) == n:
                    return out
    return out


def bench_signals(n: int) -> dict:
    from curator.manifest import ExtractSettings
    from stages.extractors import extract_clean_text
    from stages.optout_signals import record_signals

    docs = pages(n)
    settings = ExtractSettings()
    t0 = time.perf_counter()
    for headers, html in docs:
        record_signals(headers, html, {})
    signals = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _, html in docs:
        extract_clean_text(html, settings)
    extract = time.perf_counter() - t0
    return {"pages": len(docs), "signals_ms_per_page": 1000 * signals / len(docs),
            "extract_ms_per_page": 1000 * extract / len(docs), "signals_share_of_extract": signals / extract}


AGENTS = ["GPTBot", "CCBot", "Google-Extended", "ClaudeBot", "anthropic-ai", "Applebot-Extended",
          "meta-externalagent", "Bytespider", "cohere-training-data-crawler", "Diffbot"]
PATHS = ["/", "/docs/", "/docs/intro.html", "/private/", "/private/a.html", "/search?q=x", "/img/a.png",
         "/blog/2024/05/post.html", "/api/v1/items", "/tmp/x.pdf", "/cart", "/about"]


def robots_body(rng: random.Random) -> str:
    lines = ["User-agent: *"]
    for p in rng.sample(["/private/", "/search", "/cart", "/tmp/", "/*.pdf$", "/api/"], rng.randint(1, 4)):
        lines.append(f"Disallow: {p}")
    lines.append("Allow: /docs/")
    for agent in rng.sample(AGENTS[:6], rng.randint(0, 3)):
        lines += ["", f"User-agent: {agent}", rng.choice(["Disallow: /", "Disallow: /blog/", "Disallow: /*.html$"])]
    lines += ["", "Sitemap: https://example.org/sitemap.xml"]
    return "\n".join(lines) + "\n"


def robots_warc(path: Path, hosts: int, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """Two captures per host (a day apart); {host: [(date, body), ...]}."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    made: dict[str, list[tuple[str, str]]] = {}
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for i in range(hosts):
            host = f"site{i}.example"
            for date in ("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"):
                body = robots_body(rng)
                made.setdefault(host, []).append((date, body))
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/plain")], protocol="HTTP/1.1")
                w.write_record(w.create_warc_record(f"https://{host}/robots.txt", "response", payload=io.BytesIO(body.encode()),
                                                    http_headers=http, warc_headers_dict={"WARC-Date": date}))
    return made


def bench_robots(hosts: int, urls: int, seed: int = 1) -> dict:
    import urllib.robotparser

    import pyarrow as pa

    from stages.robots_captures import CAPTURE_SCHEMA, RobotsRules, read_captures, write_rules

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        warc = Path(tmp) / "robots.warc.gz"
        made = robots_warc(warc, hosts, rng)
        t0 = time.perf_counter()
        rows = list(read_captures(str(warc), 512 << 10))
        rows.sort(key=lambda r: (r["h"], r["at"]))
        write_rules([pa.RecordBatch.from_pylist(rows, schema=CAPTURE_SCHEMA)], Path(tmp) / "rules.arrow")
        build = time.perf_counter() - t0
        file_bytes = (Path(tmp) / "rules.arrow").stat().st_size
        # pages: a host's URLs come together, as in a WARC file (one site crawled at a time)
        host_list = sorted(made)
        todo = []
        while len(todo) < urls:
            host = rng.choice(host_list)
            todo += [(f"https://{host}{rng.choice(PATHS)}", "2024-05-01T12:00:00Z") for _ in range(rng.randint(1, 20))]
        todo = todo[:urls]

        t0 = time.perf_counter()
        rules = RobotsRules(Path(tmp) / "rules.arrow")
        ours = []
        for url, date in todo:
            i = rules.capture(url, date)
            ours.append(tuple(rules.disallowed(i, url, AGENTS)) if i is not None else ())
        ours_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        parsed = {}
        for host, caps in made.items():  # the capture in force at the pages' date: the first
            rp = urllib.robotparser.RobotFileParser()
            rp.parse(caps[0][1].splitlines())
            parsed[host] = rp
        peer = []
        for url, _ in todo:
            rp = parsed[url.split("/")[2]]
            peer.append(tuple(a for a in AGENTS if not rp.can_fetch(a, url)))
        peer_s = time.perf_counter() - t0
    agree = sum(a == b for a, b in zip(ours, peer)) / len(todo)
    return {"hosts": hosts, "captures": 2 * hosts, "urls": len(todo), "build_seconds": build,
            "rules_file_bytes": file_bytes, "ours_urls_per_s": len(todo) / ours_s, "peer_urls_per_s": len(todo) / peer_s,
            "ratio_vs_urllib": (len(todo) / ours_s) / (len(todo) / peer_s), "agreement": agree,
            "denied_share": sum(bool(x) for x in ours) / len(todo)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 pages, 2,000 hosts, 20,000 URLs")
    ap.add_argument("--pages", type=int)
    ap.add_argument("--hosts", type=int)
    ap.add_argument("--urls", type=int)
    args = ap.parse_args()
    n_pages = args.pages or (300 if args.quick else 2000)
    n_hosts = args.hosts or (2000 if args.quick else 20000)
    n_urls = args.urls or (20000 if args.quick else 200000)
    if not (SHARED / "bench-warc").is_dir():
        sys.exit(f"no {SHARED / 'bench-warc'}: the shared corpus is needed")
    print(f"load average: {os.getloadavg()[0]:.1f} (wall times on shared cores are noisy)")
    s = bench_signals(n_pages)
    print(f"\nsignals at extraction ({s['pages']:,} bench-warc pages)")
    print(f"  {'record_signals':<28}{s['signals_ms_per_page']:>10.3f} ms/page")
    print(f"  {'trafilatura extraction':<28}{s['extract_ms_per_page']:>10.3f} ms/page")
    print(f"  {'share of extraction':<28}{100 * s['signals_share_of_extract']:>10.2f} %")
    r = bench_robots(n_hosts, n_urls)
    print(f"\nrobots.txt ({r['hosts']:,} hosts, {r['captures']:,} captures, {r['urls']:,} URLs x {len(AGENTS)} agents)")
    print(f"  {'read + rules file':<28}{r['build_seconds']:>10.2f} s   ({r['rules_file_bytes'] / 1e6:.1f} MB file)")
    print(f"  {'ours (protego, mmap)':<28}{r['ours_urls_per_s']:>10,.0f} URLs/s")
    print(f"  {'urllib.robotparser (dict)':<28}{r['peer_urls_per_s']:>10,.0f} URLs/s")
    print(f"  {'ratio ours / urllib':<28}{r['ratio_vs_urllib']:>10.2f}x")
    print(f"  {'verdicts agreeing':<28}{100 * r['agreement']:>10.1f} %   (denied for some agent: "
          f"{100 * r['denied_share']:.1f} % of URLs)")
    out = {"pages": s["pages"], "signals_ms_per_page": round(s["signals_ms_per_page"], 4),
           "extract_ms_per_page": round(s["extract_ms_per_page"], 2),
           "signals_share_of_extract": round(s["signals_share_of_extract"], 5),
           "robots_hosts": r["hosts"], "robots_urls": r["urls"], "robots_build_seconds": round(r["build_seconds"], 2),
           "robots_file_bytes": r["rules_file_bytes"], "robots_urls_per_s": round(r["ours_urls_per_s"]),
           "urllib_urls_per_s": round(r["peer_urls_per_s"]), "ratio_vs_urllib": round(r["ratio_vs_urllib"], 3),
           "agreement_vs_urllib": round(r["agreement"], 4)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
