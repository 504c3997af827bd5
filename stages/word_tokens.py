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
_PREFIX = re.compile(_RULES["prefix"]).search
_SUFFIX = re.compile(_RULES["suffix"]).search
_INFIX = re.compile(_RULES["infix"]).finditer
_URL = re.compile(_RULES["url"]).match
_SPECIAL: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _RULES["special_cases"].items()}
# special case -> the pieces the affix rules cut it into, which are merged back
_MATCHED: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _RULES["matched_special_cases"].items()}
_MATCHED_MAX = max(map(len, _MATCHED.values()))
_MATCHED_FIRST = {v[0] for v in _MATCHED.values()}
_NONE: dict[str, tuple[str, ...]] = {}
_CACHES: dict[bool, dict[str, tuple[str, ...]]] = {True: {}, False: {}}
_CACHE_MAX = 200_000


def _affixes(chunk: str, special: dict) -> tuple[list[str], str, list[str]]:
    """Peel prefixes and suffixes off `chunk` until nothing changes or a special case is left
    (spaCy's `_split_affixes`): (prefixes, rest, suffixes in the order they were cut)."""
    prefixes: list[str] = []
    suffixes: list[str] = []
    s, last = chunk, -1
    while s and len(s) != last:
        if s in special:
            break
        last = len(s)
        m = _PREFIX(s)
        pre = m.end() - m.start() if m else 0
        if pre and s[pre:] in special:
            prefixes.append(s[:pre])
            s = s[pre:]
            break
        m = _SUFFIX(s[pre:])
        suf = m.end() - m.start() if m else 0
        if suf and s[:-suf] in special:
            suffixes.append(s[-suf:])
            s = s[:-suf]
            break
        if pre and suf and pre + suf <= len(s):
            prefixes.append(s[:pre])
            suffixes.append(s[-suf:])
            s = s[pre:-suf]
        elif pre:
            prefixes.append(s[:pre])
            s = s[pre:]
        elif suf:
            suffixes.append(s[-suf:])
            s = s[:-suf]
    return prefixes, s, suffixes


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
    elif _URL(s):
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
