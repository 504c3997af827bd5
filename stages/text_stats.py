"""Text measurements shared by the heuristic filters (Gopher repetition, C4, FineWeb).

One place for how lines, paragraphs, duplicates, n-grams and sentence ends are counted, so
the filters agree with each other. Words and tokens come from `stages.gopher`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import accumulate

# Characters that end a sentence, in the scripts the web corpus holds (Latin, CJK full-width,
# Arabic, Devanagari, Ethiopic, Armenian, Khmer, Mongolian, ...). Quotes are not in it.
TERMINAL_PUNCTUATION: tuple[str, ...] = tuple(
    ".!?。！？．｡؟۔؞।॥።፧፨։‼⁇⁈⁉܀܁܂჻᙮។៕᠃᠉꓿꘎꘏꛳꛷︒﹒﹖﹗᥄᥅"
)
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")
_LINE_BREAKS = re.compile(r"\n+")
NO_SPACE_LANGUAGES = ("zh", "ja", "th", "lo", "km", "my", "bo")
"""Languages written without spaces between words: whitespace word counts mean nothing
there, so the filters skip their word-based rules for them (see each stage)."""


def base_lang(lang: str | None) -> str | None:
    """'zh-Hans' / 'zh_CN' / 'ZH' -> 'zh'."""
    return re.split(r"[-_]", lang, maxsplit=1)[0].lower() if lang else None


def paragraphs(text: str) -> list[str]:
    """Blocks separated by one or more blank lines (text stripped first)."""
    return _PARAGRAPH_BREAK.split(text.strip())


def lines(text: str) -> list[str]:
    """Lines, runs of newlines counting as one break (so no empty line in between)."""
    return _LINE_BREAKS.split(text)


def nonblank_lines(text: str) -> list[str]:
    """Lines split on '\\n' that hold something other than whitespace (kept unstripped)."""
    return [ln for ln in text.split("\n") if ln.strip()]


def find_duplicates(items: list[str]) -> tuple[int, int]:
    """(number of items that repeat an earlier one, their total characters)."""
    seen: set[str] = set()
    n = chars = 0
    for x in items:
        if x in seen:
            n += 1
            chars += len(x)
        else:
            seen.add(x)
    return n, chars


class NGrams:
    """The word n-grams of one text, for n = 1, 2, 3, ... in turn, as the Gopher repetition
    rules need them: the characters of the most frequent n-gram and of the n-grams that repeat
    an earlier one.

    Words become integer ids once; an (n+1)-gram is an n-gram's id paired with the next word's
    id, and only where the n-grams at i and i+1 both repeat can the (n+1)-gram at i repeat,
    so each step sorts (numpy) just the positions still in play, which shrink fast on ordinary
    text. Equal ids mean equal word sequences, so the figures are exactly those of counting
    tuples of words (`tests/test_filters_repetition.py` checks them against that definition)."""

    def __init__(self, words: Sequence[str]):
        import numpy as np

        index = {w: i for i, w in enumerate(dict.fromkeys(words))}
        self._np = np
        self.size = len(words)
        self._w = np.fromiter(map(index.__getitem__, words), np.int64, self.size)
        self._vocab = max(len(index), 1)
        self._cum = [0, *accumulate(map(len, words))]  # characters of words[i:j] = cum[j] - cum[i]
        counts = np.bincount(self._w, minlength=1)[self._w]
        repeated = counts > 1
        self.n = 1
        self._pos = np.flatnonzero(repeated)  # positions whose n-gram occurs more than once,
        self._ids = self._w[repeated]  # that n-gram's id (equal ids: equal n-grams)
        self._counts = counts[repeated]  # and how often it occurs in the text

    def _advance(self, n: int) -> None:
        if n < self.n:
            raise ValueError(f"n-grams of {n} words come before those of {self.n} (ask in increasing n)")
        np = self._np
        while self.n < n:
            pos = self._pos
            if len(pos) < 2:  # nothing repeats now, so nothing longer will
                self._pos, self._ids, self._counts = pos[:0], self._ids[:0], self._counts[:0]
                self.n = n
                break
            both = pos[1:] == pos[:-1] + 1  # the n-grams at i and i+1 both repeat
            start = pos[:-1][both]
            keys = self._ids[:-1][both] * self._vocab + self._w[start + self.n]
            _, ids, counts = np.unique(keys, return_inverse=True, return_counts=True)
            counts = counts[ids]
            repeated = counts > 1
            self._pos, self._ids, self._counts = start[repeated], ids.reshape(-1)[repeated], counts[repeated]
            self.n += 1

    def top_chars(self, n: int) -> int | None:
        """Characters covered by the most frequent n-gram (its length with single spaces,
        times its count; of equally frequent ones, the first in the text); None when the text
        has fewer than n words."""
        if self.size < n:
            return None
        self._advance(n)
        if len(self._pos) == 0:  # every n-gram occurs once: the first one
            start, count = 0, 1
        else:
            count = int(self._counts.max())
            start = int(self._pos[int(self._np.argmax(self._counts == count))])
        return (self._cum[start + n] - self._cum[start] + n - 1) * count

    def duplicate_chars(self, n: int) -> int:
        """Characters of words inside n-grams that repeat an earlier n-gram, scanning left to
        right and jumping past a repeat so no character is counted twice (Gopher's "duplicate
        n-gram character fraction"; spaces not counted). Only positions whose n-gram occurs
        more than once can hold a repeat, so the scan visits just those."""
        if self.size < n:
            return 0
        self._advance(n)
        cum, seen = self._cum, set()
        chars = skip_until = 0
        for i, gram in zip(self._pos.tolist(), self._ids.tolist()):
            if i < skip_until:
                continue
            if gram in seen:
                chars += cum[i + n] - cum[i]
                skip_until = i + n
            else:
                seen.add(gram)
        return chars


def top_ngram_chars(words: Sequence[str], n: int) -> int | None:
    """`NGrams.top_chars` of one n."""
    return NGrams(words).top_chars(n)


def duplicate_ngram_chars(words: Sequence[str], n: int) -> int:
    """`NGrams.duplicate_chars` of one n."""
    return NGrams(words).duplicate_chars(n)


def ends_with_terminal(line: str, stops: tuple[str, ...] = TERMINAL_PUNCTUATION) -> bool:
    return line.endswith(stops)
