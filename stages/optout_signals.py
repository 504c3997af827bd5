"""What a page itself says about AI use, recorded at extraction (the only time its HTTP headers
and raw HTML exist) into the row's meta, for the `web_optout` stage to judge later.

Recorded, only when present (a page that says nothing gets no keys):
- `x_robots_tag`: the values of every `X-Robots-Tag` response header, one per line
  ("noai, noimageai", "GPTBot: noai");
- `robots_meta`: `<meta name=... content=...>` tags of the page's head that are robots
  directives, one "name: content" per line: those named `robots`, and any whose content says
  `noai`/`noimageai` (agent-specific tags such as `<meta name="CCBot" content="noai">`);
- `tdm_reservation` (and `tdm_reservation_from`: header | meta): the W3C TDM Reservation
  Protocol's `tdm-reservation` value, from the response header if there is one, else from the
  page's meta tag (the header takes precedence, as in TDMRep); `tdm_policy` likewise.

Bounded: the tags are found by one regex pass over at most MAX_HEAD_CHARS of the decoded page,
stopping at `</head>`; no second HTML parse. Each value is cut at MAX_VALUE_CHARS, each key's
lines at MAX_LINES.
"""

from __future__ import annotations

import re
from typing import Any

MAX_HEAD_CHARS = 64 << 10
"""Meta tags are looked for in at most this much of the page (they belong in <head>)."""
MAX_VALUE_CHARS = 256
MAX_LINES = 8

_META = re.compile(r"<meta\b[^<>]{0,2048}>", re.I)
_ATTR = re.compile(r"""([a-zA-Z_:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_HEAD_END = re.compile(r"</head\s*>", re.I)
_NOAI = re.compile(r"\bno(?:image)?ai\b", re.I)


def _clean(value: str) -> str:
    return " ".join(value.split())[:MAX_VALUE_CHARS]


def _lines(values: list[str]) -> str:
    return "\n".join(_clean(v) for v in values[:MAX_LINES])


def header_values(http_headers, name: str) -> list[str]:
    """Every value of one HTTP header (warcio keeps repeated headers apart), in order."""
    if http_headers is None:
        return []
    name = name.lower()
    return [str(v) for k, v in getattr(http_headers, "headers", []) if str(k).strip().lower() == name]


def head_meta_tags(html: str) -> list[tuple[str, str]]:
    """(name lower-cased, content) of the `<meta name=... content=...>` tags in the page's head."""
    head = html[:MAX_HEAD_CHARS]
    end = _HEAD_END.search(head)
    if end is not None:
        head = head[: end.start()]
    out = []
    for tag in _META.finditer(head):
        attrs = {k.lower(): v.strip("\"'") for k, v in _ATTR.findall(tag.group(0))}
        name = attrs.get("name") or attrs.get("http-equiv")
        if name is not None and "content" in attrs:
            out.append((name.strip().lower(), attrs["content"]))
    return out


def record_signals(http_headers, html: str, meta: dict[str, Any]) -> None:
    """Add the page's opt-out signals (see the module docstring) to `meta`."""
    robots_headers = header_values(http_headers, "x-robots-tag")
    if robots_headers:
        meta["x_robots_tag"] = _lines(robots_headers)
    tags = head_meta_tags(html) if "<meta" in html[:MAX_HEAD_CHARS].lower() else []
    robots = [f"{n}: {c}" for n, c in tags if n == "robots" or _NOAI.search(c)]
    if robots:
        meta["robots_meta"] = _lines(robots)
    for key, header in (("tdm_reservation", "tdm-reservation"), ("tdm_policy", "tdm-policy")):
        found = header_values(http_headers, header)
        where = "header"
        if not found:
            found = [c for n, c in tags if n == header]
            where = "meta"
        if found:
            meta[key] = _clean(found[0])
            if key == "tdm_reservation":
                meta["tdm_reservation_from"] = where
