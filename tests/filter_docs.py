"""Small builders for filter tests: document rows, distinct words, texts of an exact length."""

from __future__ import annotations

import itertools
import string

import pyarrow as pa

from curator.schema import DOC_SCHEMA


def row(text: str, lang: str | None = None, kind: str = "warc", domain: str = "web",
        url: str = "https://a.example/", i: int = 0, drop_reason: str | None = None) -> dict:
    return {"id": f"d{i}", "source": "t", "kind": kind, "domain": domain, "url": url, "text": text,
            "lang": lang, "lang_score": None, "meta": None, "drop_reason": drop_reason}


def batch(rows: list[dict]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(rows, schema=DOC_SCHEMA)


def apply(stage, *texts: str, **kw) -> list[dict]:
    """Rows after `stage.apply` on one batch holding the given texts."""
    return stage.apply(batch([row(t, i=i, **kw) for i, t in enumerate(texts)])).to_pylist()


def distinct_words(n: int, length: int = 6, letters: str = string.ascii_lowercase, skip: int = 0) -> list[str]:
    """n different words of `length` letters (no two alike, so no n-gram repeats)."""
    return ["".join(p) for p in itertools.islice(itertools.product(letters, repeat=length), skip, skip + n)]


def pad_to(text: str, size: int, sep: str = " ", letters: str = "xyz") -> str:
    """`text` plus distinct filler words (from `letters`) so that it is exactly `size` characters."""
    fill = distinct_words(10_000, 8, letters)
    k = 0
    while len(text) + len(sep) + 8 + len(sep) + 1 <= size:
        text += sep + fill[k]
        k += 1
    rest = size - len(text) - len(sep)
    assert rest >= 1, (len(text), size)
    return text + sep + fill[k][:rest] if rest <= 8 else text + sep + fill[k] + "q" * (rest - 8)
