"""Gopher quality rules (Rae et al. 2021, appendix A.1.1), as in datatrove's GopherQualityFilter.

Cheap heuristics that reject pages which are not running prose: too short or too long,
odd word lengths, many `#` or ellipses, mostly bullet lines, mostly lines cut off with an
ellipsis, too few words with letters, and (English only) no ordinary function words.

`score_document` only measures; every threshold is applied in `keep_document`, so a
threshold changed in the manifest is re-applied to the stored score columns without
re-scoring. A null score means "not measured" and its rule is not applied.

What a "word" is, the paper leaves open; its thresholds were set on some tokenizer's
output, and datatrove counts spaCy's English tokens. We cut text by the same rules
(`stages.word_tokens`, the exact spaCy algorithm without spaCy), so a document near the
80%-alphabetic or 50-word line falls on the same side: "l'objet" is one word,
"__init__" is one word among five tokens, "2021-07-25" three numbers and two hyphens.
A word is a token with a letter or digit; the ratios divide by all tokens.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import pyarrow as pa
from pydantic import Field

from stages.base import DocumentFilter, StageSettings, Threshold, thresholds_from
from stages.text_stats import NO_SPACE_LANGUAGES, base_lang
from stages.word_tokens import word_tokens


def _punct_class() -> str:
    """Regex class body: Unicode punctuation and symbols (P*, S*) of the Basic Multilingual
    Plane, plus the emoji blocks. Rarer astral symbols are left out on purpose: each astral
    range is a linear check per character in `re`, which made the tokenizer 5x slower."""
    ranges: list[list[int]] = []
    for cp in range(0x10000):
        if unicodedata.category(chr(cp))[0] in "PS":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    ranges.append([0x1F000, 0x1FAFF])
    return "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


_P = _punct_class()
# A word: a whitespace-separated token with punctuation and symbols stripped from both ends;
# tokens that are only punctuation/symbols give no word. Inner punctuation stays ("don't",
# "e-mail", "3.5"), and combining marks are not stripped, so Indic words keep their length.
# One regex pass, about as fast as str.split().
_WORD = re.compile(rf"[^\s{_P}](?:\S*[^\s{_P}])?")


BULLETS = ("•", "●", "○", "◦", "▪", "▫", "‣", "∙", "·", "-", "–", "—", "*")
"""Characters that make a line a bullet line when it starts with one (after indentation)."""
ELLIPSES = ("...", "…")


def split_words(text: str) -> list[str]:
    """Words of `text`: one regex pass (no per-character Python loop, no NLTK)."""
    return _WORD.findall(text)


def split_tokens(text: str, lang: str | None = None) -> tuple[str, ...]:
    """Words and punctuation tokens of `text`, cut by spaCy's English rules as datatrove
    counts them (see `stages.word_tokens`); English contractions and abbreviations only
    when `lang` is English or not yet known."""
    return _split_tokens(text, base_lang(lang) in (None, "en"))


TOKEN_CACHE_CHARS = 16 << 20
"""Characters of text whose tokens `_split_tokens` keeps. Gopher repetition, Gopher quality
and FineWeb tokenize the same documents, but each stage runs over a whole Arrow batch (up to
16 MiB, spark.sql.execution.arrow.maxBytesPerBatch) before the next one starts, so the cache
must hold a batch's texts to be hit: a few texts (it was 8) were never found again."""

_TOKENS: OrderedDict[tuple[str, bool], tuple[str, ...]] = OrderedDict()
_TOKEN_CHARS = [0]


def _split_tokens(text: str, english: bool) -> tuple[str, ...]:
    """Tokens of `text`, kept for the texts of the last TOKEN_CACHE_CHARS characters used."""
    key = (text, english)
    tokens = _TOKENS.get(key)
    if tokens is not None:
        _TOKENS.move_to_end(key)
        return tokens
    tokens = tuple(word_tokens(text, english))
    if len(text) <= TOKEN_CACHE_CHARS:
        _TOKENS[key] = tokens
        _TOKEN_CHARS[0] += len(text)
        while _TOKEN_CHARS[0] > TOKEN_CACHE_CHARS:
            (old, _), _ = _TOKENS.popitem(last=False)
            _TOKEN_CHARS[0] -= len(old)
    return tokens


_WORD_CHAR = re.compile(r"[^\W_]").search


def is_word(token: str) -> bool:
    """A token with a letter or digit: not only punctuation or symbols ('_', '→', '©')."""
    return _WORD_CHAR(token) is not None


@lru_cache(maxsize=1 << 16)
def _has_letter(token: str) -> bool:
    """A token with a character `str.isalpha` calls a letter (cached: tokens repeat)."""
    return token.isalpha() or any(c.isalpha() for c in token)


class GopherQuality(DocumentFilter):
    """Gopher quality rules; rule names in drop_reason, checked in this order:
    word_count, avg_word_length, symbol_word_ratio, bullet_lines, ellipsis_lines,
    alpha_words, stop_words.

    Languages: documents whose `lang` is in `skip_languages` are not measured (null scores,
    kept). The stop-word rule is measured only when `lang` is "en" or null (not yet
    identified), because the Gopher paper defines it with an English list and applies it to
    English (MassiveWeb); for other languages `gopher_stop_words` is null and the rule is
    skipped, while the language-neutral rules still apply.

    Words: counts and lengths are over the tokens of `split_tokens` that hold a letter or
    digit; the symbol and alphabetic ratios are over all tokens, punctuation included, as
    datatrove computes them. Two choices differ from datatrove on purpose: stop words match
    case-insensitively ("The" counts as "the"), and a lone symbol ('→', '©', '،') is not a
    word (datatrove's punctuation list misses them).

    Lines: the line ratios are over non-blank lines, so blank lines between paragraphs do
    not dilute them (datatrove counts blank lines too); bullets are the common list marks in
    `BULLETS`, not only datatrove's '•' and '-'.
    """

    name = "gopher_quality"
    language_note = "zh, ja, th, lo, km, my, bo: no rule evaluated (kept, null scores); stop words: English only"

    class Settings(StageSettings):
        """Gopher's published thresholds; None turns a rule off."""

        min_doc_words: int | None = Field(default=50, ge=0)
        max_doc_words: int | None = Field(default=100_000, ge=0)
        min_avg_word_length: float | None = Field(default=3.0, ge=0)
        max_avg_word_length: float | None = Field(default=10.0, ge=0)
        max_symbol_word_ratio: float | None = Field(default=0.1, ge=0)
        """Applies to `#` and to ellipses ('...' or '…') separately, per word."""
        max_bullet_lines_ratio: float | None = Field(default=0.9, ge=0, le=1)
        max_ellipsis_lines_ratio: float | None = Field(default=0.3, ge=0, le=1)
        min_alpha_words_ratio: float | None = Field(default=0.8, ge=0, le=1)
        min_stop_words: int | None = Field(default=2, ge=0)
        """Distinct words of `stop_words` a document must contain (English only, see above)."""
        stop_words: list[str] = ["the", "be", "to", "of", "and", "that", "have", "with"]
        """Gopher's English list; matched case-insensitively."""
        skip_languages: list[str] = list(NO_SPACE_LANGUAGES)
        """Languages written without spaces between words, where a whitespace word count is
        meaningless: no rule is evaluated, all scores stay null and the document is kept."""

    columns = {
        "gopher_words": pa.int64(),  # tokens that are words (see `split_tokens`)
        "gopher_avg_word_length": pa.float64(),  # mean characters per word
        "gopher_symbol_word_ratio": pa.float64(),  # max('#' count, ellipsis count) / tokens
        "gopher_bullet_lines_ratio": pa.float64(),  # bullet lines / non-blank lines
        "gopher_ellipsis_lines_ratio": pa.float64(),  # ellipsis-ended / non-blank lines
        "gopher_alpha_words_ratio": pa.float64(),  # tokens with a letter / tokens
        "gopher_stop_words": pa.int64(),  # distinct stop words present (English only)
    }

    settings: Settings

    def __init__(self, settings=None):
        super().__init__(settings)
        self._stop = {w.lower() for w in self.settings.stop_words}

    def score_document(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        if self.skips_language(doc.get("lang")):
            return {}
        lang = base_lang(doc.get("lang"))
        text = doc.get("text") or ""
        tokens = split_tokens(text, lang)
        words = list(filter(_WORD_CHAR, tokens))  # is_word, without a Python call per token
        n, nt = len(words), len(tokens)
        lines = [ln.strip() for ln in text.splitlines()]
        lines = [ln for ln in lines if ln]
        return {
            "gopher_words": n,
            "gopher_avg_word_length": sum(map(len, words)) / n if n else None,
            "gopher_symbol_word_ratio": (
                max(text.count("#"), sum(text.count(e) for e in ELLIPSES)) / nt if nt else None
            ),
            "gopher_bullet_lines_ratio": (
                sum(ln.startswith(BULLETS) for ln in lines) / len(lines) if lines else None
            ),
            "gopher_ellipsis_lines_ratio": (
                sum(ln.endswith(ELLIPSES) for ln in lines) / len(lines) if lines else None
            ),
            "gopher_alpha_words_ratio": (
                sum(map(_has_letter, tokens)) / nt if nt else None
            ),
            "gopher_stop_words": (
                len(self._stop.intersection(w.lower() for w in words))
                if lang in (None, "en")
                else None
            ),
        }

    @classmethod
    def thresholds(cls, settings) -> dict[str, list[Threshold]]:
        s = cls._settings(settings)
        limits = [
            ("gopher_words", ">=", s.min_doc_words, "word_count"),
            ("gopher_words", "<=", s.max_doc_words, "word_count"),
            ("gopher_avg_word_length", ">=", s.min_avg_word_length, "avg_word_length"),
            ("gopher_avg_word_length", "<=", s.max_avg_word_length, "avg_word_length"),
            ("gopher_symbol_word_ratio", "<=", s.max_symbol_word_ratio, "symbol_word_ratio"),
            ("gopher_bullet_lines_ratio", "<=", s.max_bullet_lines_ratio, "bullet_lines"),
            ("gopher_ellipsis_lines_ratio", "<=", s.max_ellipsis_lines_ratio, "ellipsis_lines"),
            ("gopher_alpha_words_ratio", ">=", s.min_alpha_words_ratio, "alpha_words"),
            ("gopher_stop_words", ">=", s.min_stop_words, "stop_words"),
        ]
        return thresholds_from(limits)

