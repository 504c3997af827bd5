"""Gopher repetition rules (Rae et al. 2021, table A1), as in datatrove's GopherRepetitionFilter.

Pages that repeat themselves (navigation repeated per item, spam, generated lists) are
rejected by the fraction of duplicated lines and paragraphs (by count and by characters),
by how much of the text the most frequent 2-, 3- and 4-gram covers, and by how much of it
lies in repeated 5- to 10-grams. Each fraction is a column; thresholds are applied in
`keep_document`, so a changed threshold is re-applied without re-scoring.

Languages without spaces between words (`skip_languages`: zh, ja, th, ...): the line and
paragraph rules apply (they do not need words); the n-gram rules are skipped (null scores),
since whitespace "words" there are whole clauses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from pydantic import Field, field_validator

from stages import text_stats as ts
from stages.base import DocumentFilter, StageSettings, thresholds_from
from stages.gopher import split_tokens

TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)


class GopherRepetition(DocumentFilter):
    """Rules, in this order: dup_paragraphs, dup_paragraph_chars, dup_lines, dup_line_chars,
    top_2gram, top_3gram, top_4gram, dup_5gram ... dup_10gram.

    Fractions of characters are over the whole text's length. Paragraphs are split on blank
    lines, lines on runs of newlines; an n-gram's characters count its words and the single
    spaces between them (top n-grams) or its words only (duplicated n-grams), as datatrove.
    """

    name = "gopher_repetition"
    language_note = "zh, ja, th, lo, km, my, bo: n-gram rules skipped; line and paragraph rules apply"

    class Settings(StageSettings):
        """Gopher's published thresholds; None turns a rule off."""

        max_dup_para_frac: float | None = Field(default=0.30, ge=0, le=1)
        max_dup_para_char_frac: float | None = Field(default=0.20, ge=0, le=1)
        max_dup_line_frac: float | None = Field(default=0.30, ge=0, le=1)
        max_dup_line_char_frac: float | None = Field(default=0.20, ge=0, le=1)
        max_top_ngram_char_frac: dict[int, float] = {2: 0.20, 3: 0.18, 4: 0.16}
        max_dup_ngram_char_frac: dict[int, float] = {
            5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10,
        }
        skip_languages: list[str] = list(ts.NO_SPACE_LANGUAGES)
        """Languages whose n-gram rules are skipped (no spaces between words)."""

        @field_validator("max_top_ngram_char_frac")
        @classmethod
        def _top(cls, v: dict[int, float]) -> dict[int, float]:
            if not set(v) <= set(TOP_NGRAMS):
                raise ValueError(f"n must be one of {TOP_NGRAMS}, got {sorted(v)}")
            return v

        @field_validator("max_dup_ngram_char_frac")
        @classmethod
        def _dup(cls, v: dict[int, float]) -> dict[int, float]:
            if not set(v) <= set(DUP_NGRAMS):
                raise ValueError(f"n must be one of {DUP_NGRAMS}, got {sorted(v)}")
            return v

    columns = {
        "gopher_dup_para_frac": pa.float64(),  # repeated paragraphs / paragraphs
        "gopher_dup_para_char_frac": pa.float64(),  # their characters / text characters
        "gopher_dup_line_frac": pa.float64(),
        "gopher_dup_line_char_frac": pa.float64(),
        **{f"gopher_top_{n}gram_char_frac": pa.float64() for n in TOP_NGRAMS},
        **{f"gopher_dup_{n}gram_char_frac": pa.float64() for n in DUP_NGRAMS},
    }

    settings: Settings

    def score_document(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        text = doc.get("text") or ""
        if not text:
            return {}
        size = len(text)
        out: dict[str, Any] = {}
        paras = ts.paragraphs(text)
        n, chars = ts.find_duplicates(paras)
        out["gopher_dup_para_frac"] = n / len(paras)
        out["gopher_dup_para_char_frac"] = chars / size
        lines = ts.lines(text)
        n, chars = ts.find_duplicates(lines)
        out["gopher_dup_line_frac"] = n / len(lines)
        out["gopher_dup_line_char_frac"] = chars / size
        if self.skips_language(doc.get("lang")):
            return out
        grams = ts.NGrams(split_tokens(text, doc.get("lang")))  # n = 2, 3, ... 10 in turn
        for n in TOP_NGRAMS:
            top = grams.top_chars(n)
            out[f"gopher_top_{n}gram_char_frac"] = None if top is None else top / size
        chars = 1
        for n in DUP_NGRAMS:
            # no repeated n-gram means no repeated longer one either
            chars = grams.duplicate_chars(n) if chars else 0
            out[f"gopher_dup_{n}gram_char_frac"] = chars / size
        return out

    @classmethod
    def thresholds(cls, settings):
        s = cls._settings(settings)
        return thresholds_from([
            ("gopher_dup_para_frac", "<=", s.max_dup_para_frac, "dup_paragraphs"),
            ("gopher_dup_para_char_frac", "<=", s.max_dup_para_char_frac, "dup_paragraph_chars"),
            ("gopher_dup_line_frac", "<=", s.max_dup_line_frac, "dup_lines"),
            ("gopher_dup_line_char_frac", "<=", s.max_dup_line_char_frac, "dup_line_chars"),
            *[(f"gopher_top_{n}gram_char_frac", "<=", v, f"top_{n}gram") for n, v in s.max_top_ngram_char_frac.items()],
            *[(f"gopher_dup_{n}gram_char_frac", "<=", v, f"dup_{n}gram") for n, v in s.max_dup_ngram_char_frac.items()],
        ])

