"""URL and domain blocklists (UT1's adult list as used by RefinedWeb and FineWeb, or any list).

A page is blocked when its host or any parent domain of it is listed (`ads.example.com` is
blocked by `example.com`), or when its URL without the scheme is listed (UT1's `urls` file
holds `host/path` lines). Lists are plain text, one entry per line, `#` comments allowed.

UT1's domain list has 4.5 million lines; as a Python set that is ~450 MB per Spark worker.
`curator assets fetch` therefore writes it once as a sorted file (`write_sorted_list`), which
`SortedList` searches in place: the 124 MB file is memory-mapped (shared by all workers
through the page cache), with a 36 MB array of line offsets; ~22 comparisons per lookup.
"""

from __future__ import annotations

import array
import mmap
import os
import threading
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from curator.errors import EnvironmentProblem

SORTED_HEADER = "# curator sorted list v1"


def normalise_entry(line: str) -> str:
    """A list line as it is matched: lower case, no scheme, no leading `www.`/`*.`, no trailing `/`."""
    s = line.strip().lower()
    if "://" in s:
        s = s.split("://", 1)[1]
    for prefix in ("*.", "www."):
        if s.startswith(prefix):
            s = s[len(prefix):]
    return s.rstrip("/")


def write_sorted_list(lines, path: str | os.PathLike) -> int:
    """Normalise, de-duplicate and sort a list into the file format `SortedList` reads."""
    entries = sorted({e for e in (normalise_entry(x) for x in lines if not x.lstrip().startswith("#")) if e})
    tmp = Path(f"{path}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(SORTED_HEADER + "\n")
        for e in entries:
            f.write(e + "\n")
    os.replace(tmp, path)
    return len(entries)


class SortedList:
    """Membership in a sorted, newline-separated file, without a Python set: the file is
    memory-mapped (shared by every worker through the page cache) and searched by line offsets."""

    def __init__(self, data):
        self.data = data
        raw = np.frombuffer(data, dtype=np.uint8)
        step = 1 << 24  # scan in 16 MB pieces: no 124 MB temporary mask
        ends = [np.flatnonzero(raw[i:i + step] == 10) + i for i in range(0, len(raw), step)]
        # line i spans bounds[i]:bounds[i + 1] - 1; line 0 (the header) is skipped
        self.bounds = array.array("q")
        self.bounds.frombytes((np.concatenate(ends) + 1).astype(np.int64).tobytes())
        self.n = len(self.bounds) - 1

    def __len__(self) -> int:
        return self.n

    def _line(self, i: int) -> bytes:
        return self.data[self.bounds[i]:self.bounds[i + 1] - 1]

    def __contains__(self, key: str) -> bool:
        k = key.encode("utf-8")
        lo, hi = 0, self.n
        while lo < hi:
            mid = (lo + hi) // 2
            if self._line(mid) < k:
                lo = mid + 1
            else:
                hi = mid
        return lo < self.n and self._line(lo) == k


def _read_list(path: Path):
    """A sorted list file (searched in place) or any plain list (as a set)."""
    with open(path, "rb") as f:
        head = f.read(len(SORTED_HEADER) + 1)
        if head == SORTED_HEADER.encode() + b"\n":
            return SortedList(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
        data = head + f.read()
    text = data.decode("utf-8", "replace")
    return {e for e in (normalise_entry(x) for x in text.splitlines() if not x.lstrip().startswith("#")) if e}


def host_of(url: str) -> str:
    """Lower-case host of a URL (no port, no credentials, no trailing dot); '' if none."""
    try:
        host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


def parent_domains(host: str) -> list[str]:
    """`a.b.example.com` -> [a.b.example.com, b.example.com, example.com, com]."""
    parts = host.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


class UrlBlocklist:
    """Domain and URL lists; `check(url)` -> None, "domain", or "url"."""

    def __init__(self, domains=(), urls=()):
        self.domains = domains
        self.urls = urls

    def check(self, url: str | None) -> str | None:
        if not url:
            return None
        host = host_of(url)
        if host:
            bare = host[4:] if host.startswith("www.") else host
            if any(d in self.domains for d in parent_domains(bare)):
                return "domain"
        if self.urls:
            if normalise_entry(url) in self.urls:
                return "url"
        return None


_LISTS: dict[tuple, UrlBlocklist] = {}
_LOCK = threading.Lock()


def load_blocklist(domains: list[str] = (), urls: list[str] = ()) -> UrlBlocklist:
    """Lists from files, or folders holding `domains.sorted`/`domains` and `urls` (UT1 layout);
    cached per Python worker. A missing file is a one-line EnvironmentProblem naming it."""
    key = (tuple(domains), tuple(urls))
    with _LOCK:
        if key in _LISTS:
            return _LISTS[key]
        dom_sets, url_sets = [], []
        for ref in domains:
            p = Path(ref)
            if p.is_dir():
                f = p / "domains.sorted" if (p / "domains.sorted").is_file() else p / "domains"
                if not f.is_file():
                    raise EnvironmentProblem(f"blocklist folder {p} has no domains file (domains.sorted or domains)")
                dom_sets.append(_read_list(f))
                if (p / "urls").is_file():
                    url_sets.append(_read_list(p / "urls"))
            elif p.is_file():
                dom_sets.append(_read_list(p))
            else:
                raise EnvironmentProblem(
                    f"URL blocklist not found: {ref} (run `curator assets fetch`, or fix the path)"
                )
        for ref in urls:
            if not Path(ref).is_file():
                raise EnvironmentProblem(f"URL list not found: {ref} (fix the path in the manifest)")
            url_sets.append(_read_list(Path(ref)))
        bl = UrlBlocklist(_Union(dom_sets), _Union(url_sets))
        _LISTS[key] = bl
        return bl


class _Union:
    """Membership in any of several lists."""

    def __init__(self, parts):
        self.parts = parts

    def __contains__(self, key: str) -> bool:
        return any(key in p for p in self.parts)

    def __bool__(self) -> bool:
        return any(len(p) for p in self.parts)
