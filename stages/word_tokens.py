"""Word tokens as spaCy's English tokenizer cuts them, without spaCy at run time.

Why spaCy's rules: the Gopher paper fixes its thresholds ("80% of words contain an
alphabetic character", 50 to 100,000 words, ...) but not what a word is; datatrove, the
reference implementation the filters are checked against, counts the tokens of
`spacy.blank("en")`. A regex that only resembled them disagreed on documents near a
threshold (code, paths, French elisions, "don't" vs "dont", "__init__"), so this module
applies spaCy's own rules, exported to `data/en_token_rules.json` by
`scripts/export_en_token_rules.py`: split on whitespace; per chunk, the special cases
("don't" -> "do", "n't"; "dont" -> "do", "nt"; "a.m."), then prefixes and suffixes peeled
off in a loop, a URL kept whole, infixes ("-" between letters, "..."); and finally the
special cases matched across the pieces ("z.B." -> "z.", "B."). This is the algorithm of
spaCy's `Tokenizer.explain`, in plain Python with Python's `re`, as spaCy itself uses.

The special cases are English ("im" is "I'm", "Ill." an abbreviation), so text in another
language is cut by the punctuation rules alone: German "im" stays one word.

Speed: the tokens of a chunk depend on the chunk alone, and words repeat (Zipf), so chunks
are tokenized once and looked up after; a document costs a `str.split` and one dict lookup
per chunk. The cache is bounded (cleared when full), which changes no result.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_RULES = json.loads((Path(__file__).parent / "data" / "en_token_rules.json").read_text("utf-8"))
_PREFIX = re.compile(_RULES["prefix"]).match  # every alternative starts with '^'
_SUFFIX = re.compile(_RULES["suffix"]).search
_INFIX = re.compile(_RULES["infix"]).finditer
_URL = re.compile(_RULES["url"]).match
# The optional "user:pass@" part can only match with an '@', and without one it backtracks
# quadratically on a long chunk; the same pattern without it answers the same there.
_USERINFO = r"(?:\S+(?::\S*)?@)?"
assert _RULES["url"].count(_USERINFO) == 1
_URL_NO_AT = re.compile(_RULES["url"].replace(_USERINFO, "")).match
_SPECIAL: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _RULES["special_cases"].items()}
# special case -> the pieces the affix rules cut it into, which are merged back
_MATCHED: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _RULES["matched_special_cases"].items()}
_MATCHED_MAX = max(map(len, _MATCHED.values()))
_MATCHED_FIRST = {v[0] for v in _MATCHED.values()}
_SPECIAL_MAX = max(map(len, _SPECIAL))
_WINDOW = 16  # > the longest bounded prefix or suffix (a unit like "mbar") + look-around
_NONE: dict[str, tuple[str, ...]] = {}
_CACHES: dict[bool, dict[str, tuple[str, ...]]] = {True: {}, False: {}}
_CACHE_MAX = 200_000


def _prefix_len(chunk: str, i: int, j: int) -> int:
    """Length of the prefix of chunk[i:j]. Prefixes are short except a run of dots, so the
    pattern sees a window and the whole rest only when a match reaches the window's end."""
    w = chunk[i : min(j, i + _WINDOW)]
    m = _PREFIX(w)
    if m and m.end() >= len(w) - 1 and j - i > len(w):
        m = _PREFIX(chunk[i:j])
    return m.end() if m else 0


def _suffix_len(chunk: str, i: int, j: int) -> int:
    """Length of the suffix of chunk[i:j], searched in a window at the end: suffixes are
    short (plus two characters of look-behind) except a run of dots, and without the window
    each search would scan the whole chunk, quadratic on a long run of '=' or '#'."""
    a = max(i, j - _WINDOW)
    m = _SUFFIX(chunk[a:j])
    if m and m.start() < 3 and a > i:
        m = _SUFFIX(chunk[i:j])
    return m.end() - m.start() if m else 0


def _affixes(chunk: str, special: dict) -> tuple[list[str], str, list[str]]:
    """Peel prefixes and suffixes off `chunk` until nothing changes or a special case is left
    (spaCy's `_split_affixes`): (prefixes, rest, suffixes in the order they were cut).
    Works on indices, so a long run of prefixes costs linear time."""
    prefixes: list[str] = []
    suffixes: list[str] = []
    i, j, last = 0, len(chunk), -1
    while i < j and j - i != last:
        if j - i <= _SPECIAL_MAX and chunk[i:j] in special:
            break
        last = j - i
        pre = _prefix_len(chunk, i, j)
        if pre and j - i - pre <= _SPECIAL_MAX and chunk[i + pre : j] in special:
            prefixes.append(chunk[i : i + pre])
            i += pre
            break
        suf = _suffix_len(chunk, i + pre, j)
        if suf and j - i - suf <= _SPECIAL_MAX and chunk[i : j - suf] in special:
            suffixes.append(chunk[j - suf : j])
            j -= suf
            break
        if pre and suf and pre + suf <= j - i:
            prefixes.append(chunk[i : i + pre])
            suffixes.append(chunk[j - suf : j])
            i, j = i + pre, j - suf
        elif pre:
            prefixes.append(chunk[i : i + pre])
            i += pre
        elif suf:
            suffixes.append(chunk[j - suf : j])
            j -= suf
    return prefixes, chunk[i:j], suffixes


def _infixes(s: str) -> list[str]:
    """`s` cut at its infixes, the infixes kept as tokens (a match at position 0 is skipped)."""
    out: list[str] = []
    start = 0
    for m in _INFIX(s):
        a, b = m.span()
        if a == 0:
            continue
        if a != start:
            out.append(s[start:a])
        if a != b:
            out.append(s[a:b])
        start = b
    if start < len(s):
        out.append(s[start:])
    return out


def _merge_special(tokens: list[str]) -> list[str]:
    """Special cases that the affix rules cut apart, merged back (spaCy's special matcher):
    longest match first (the leftmost of equals), a token used by at most one match."""
    found = []
    for i in range(len(tokens)):
        if tokens[i] not in _MATCHED_FIRST:
            continue
        for j in range(i + 1, min(len(tokens), i + _MATCHED_MAX) + 1):
            key = "".join(tokens[i:j])
            if _MATCHED.get(key) == tuple(tokens[i:j]):
                found.append((j - i, i, key))
    if not found:
        return tokens
    seen: set[int] = set()
    keep = []
    for n, i, key in sorted(found, key=lambda f: (-f[0], f[1])):
        if i not in seen and i + n - 1 not in seen:
            keep.append((i, n, key))
        seen.update(range(i, i + n))
    out, pos = [], 0
    for i, n, key in sorted(keep):
        out += tokens[pos:i]
        out += _SPECIAL[key]
        pos = i + n
    return out + tokens[pos:]


def chunk_tokens(chunk: str, english: bool = True) -> tuple[str, ...]:
    """Tokens of one whitespace-free chunk; `english`: apply the English special cases."""
    special = _SPECIAL if english else _NONE
    if chunk in special:
        return special[chunk]
    if chunk.isalpha() or chunk.isdecimal():  # no affix, infix or URL rule can apply
        return (chunk,)
    prefixes, s, suffixes = _affixes(chunk, special)
    if not s:
        middle: list[str] | tuple[str, ...] = []
    elif s in special:
        middle = special[s]
    elif "." in s and (_URL if "@" in s else _URL_NO_AT)(s):  # a host needs a dot
        middle = [s]
    else:
        middle = _infixes(s)
    tokens = [*prefixes, *middle, *reversed(suffixes)]
    return tuple(_merge_special(tokens) if english and len(tokens) > 1 else tokens)


def word_tokens(text: str, english: bool = True) -> list[str]:
    """Tokens of `text`, punctuation tokens included, as spaCy's English tokenizer gives them
    (whitespace tokens left out, as datatrove leaves them out); `english=False` leaves out
    the English special cases."""
    out: list[str] = []
    cache = _CACHES[english]
    for chunk in text.split():
        toks = cache.get(chunk)
        if toks is None:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            toks = cache[chunk] = chunk_tokens(chunk, english)
        out += toks
    return out
