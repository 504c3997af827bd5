"""Text measurements shared by the heuristic filters (Gopher repetition, C4, FineWeb).

One place for how lines, paragraphs, duplicates, n-grams and sentence ends are counted, so
the filters agree with each other. Words and tokens come from `stages.gopher`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import compress

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


def top_ngram_chars(words: Sequence[str], n: int) -> int | None:
    """Characters covered by the most frequent word n-gram (its length with single spaces,
    times its count); None when the text has fewer than n words."""
    if len(words) < n:
        return None
    grams = Counter(zip(*(words[i:] for i in range(n))))
    gram, count = grams.most_common(1)[0]
    return (sum(map(len, gram)) + n - 1) * count


def duplicate_ngram_chars(words: Sequence[str], n: int) -> int:
    """Characters of words inside n-grams that repeat an earlier n-gram, scanning left to
    right and jumping past a repeat so no character is counted twice (Gopher's "duplicate
    n-gram character fraction"; spaces not counted).

    Only n-grams that occur more than once can be repeats, so the left-to-right scan visits
    just their positions (found with C-level Counter/compress), which gives the same result
    as visiting every position."""
    grams = list(zip(*(words[i:] for i in range(n))))
    counts = Counter(grams)
    if len(counts) == len(grams):  # the common case: nothing repeats
        return 0
    repeated = {g for g, c in counts.items() if c > 1}
    seen: set[tuple[str, ...]] = set()
    chars = skip_until = 0
    for i in compress(range(len(grams)), map(repeated.__contains__, grams)):
        if i < skip_until:
            continue
        gram = grams[i]
        if gram in seen:
            chars += sum(map(len, gram))
            skip_until = i + n
        else:
            seen.add(gram)
    return chars


def ends_with_terminal(line: str, stops: tuple[str, ...] = TERMINAL_PUNCTUATION) -> bool:
    return line.endswith(stops)
