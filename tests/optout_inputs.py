"""WARC files for the web opt-out tests, written with warcio: pages with opt-out headers and meta
tags, and robots.txt captures as Common Crawl's robotstxt/ segment holds them."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def page_html(title: str, head: str = "") -> bytes:
    """An article long enough to survive extraction, with `head` inside <head>."""
    paras = "".join(
        f"<p>The night train {i} to {title} leaves the old station at nine and reaches the coast by "
        "dawn, so travellers sleep through the mountains and wake to the sea.</p>" for i in range(8))
    return f"<html><head><title>{title}</title>{head}</head><body><article><h1>{title}</h1>{paras}</article></body></html>".encode()


def write_warc(path: Path, records: list[dict]) -> Path:
    """records: {url, date, status ("200 OK"), headers [(name, value)], body bytes}."""
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for r in records:
            http = StatusAndHeaders(r.get("status", "200 OK"), r.get("headers", []), protocol="HTTP/1.1")
            rec = w.create_warc_record(r["url"], "response", payload=BytesIO(r["body"]), http_headers=http,
                                       warc_headers_dict={"WARC-Date": r.get("date", "2024-05-01T00:00:00Z")})
            w.write_record(rec)
    return path


def page(url: str, title: str, head: str = "", headers: list | None = None, date: str = "2024-05-01T00:00:00Z") -> dict:
    return {"url": url, "date": date, "headers": [("Content-Type", "text/html; charset=utf-8"), *(headers or [])],
            "body": page_html(title, head)}


def robots(host_url: str, body: str, date: str, status: str = "200 OK", headers: list | None = None) -> dict:
    return {"url": f"{host_url}/robots.txt", "date": date, "status": status,
            "headers": [("Content-Type", "text/plain"), *(headers or [])], "body": body.encode()}
