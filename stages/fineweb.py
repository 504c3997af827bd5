"""FineWeb quality rules (Penedo et al. 2024), as in datatrove's FineWebQualityFilter.

Three rules FineWeb added on top of Gopher and C4 to remove list-like and boilerplate pages:
too few lines ending in punctuation, too many short lines, too many characters in
duplicated lines; plus a newline-to-word ratio that catches one-word-per-line lists.
Lines are the non-blank lines of the text split on newlines.

Languages without spaces between words (`skip_languages`: zh, ja, th, ...): the
newline/word rule and the short-line rule are skipped (null scores): a line of 30
characters there holds as much as a long English line. The punctuation and duplicated-line
rules apply, with sentence ends that include 。！？ (`stages.text_stats.TERMINAL_PUNCTUATION`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from pydantic import Field

from stages import text_stats as ts
from stages.base import DocumentFilter, StageSettings, thresholds_from
from stages.gopher import split_tokens


class FineWebQuality(DocumentFilter):
    """Rules, in this order: empty (no non-blank line), line_punct_ratio, short_line_ratio,
    char_dup_ratio, newline_word_ratio."""

    name = "fineweb_quality"
    language_note = "zh, ja, th, lo, km, my, bo: newline/word and short-line rules skipped"

    class Settings(StageSettings):
        """FineWeb's published thresholds; None turns a rule off."""

        min_line_punct_ratio: float | None = Field(default=0.12, ge=0, le=1)
        """Lines ending in sentence punctuation / lines must be at least this."""
        line_punct_exclude_zero: bool = False
        """Do not apply the rule to documents with no punctuated line at all."""
        max_short_line_ratio: float | None = Field(default=0.67, ge=0, le=1)
        short_line_length: int = Field(default=30, ge=0)
        """A line of at most this many characters is short."""
        max_char_dup_ratio: float | None = Field(default=0.01, ge=0, le=1)
        """Characters in lines that repeat an earlier line / characters (newlines excluded)."""
        max_newline_word_ratio: float | None = Field(default=0.3, ge=0)
        skip_languages: list[str] = list(ts.NO_SPACE_LANGUAGES)

    columns = {
        "fineweb_lines": pa.int64(),  # non-blank lines
        "fineweb_line_punct_ratio": pa.float64(),
        "fineweb_short_line_ratio": pa.float64(),
        "fineweb_char_dup_ratio": pa.float64(),
        "fineweb_newline_word_ratio": pa.float64(),
    }

    settings: Settings

    def score_document(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        text = doc.get("text") or ""
        lines = ts.nonblank_lines(text)
        if not lines:
            return {"fineweb_lines": 0}
        n = len(lines)
        short = self.settings.short_line_length
        chars = len(text) - text.count("\n")
        out = {
            "fineweb_lines": n,
            "fineweb_line_punct_ratio": sum(ts.ends_with_terminal(ln) for ln in lines) / n,
            "fineweb_char_dup_ratio": ts.find_duplicates(lines)[1] / chars if chars else 0.0,
        }
        if not self.skips_language(doc.get("lang")):
            out["fineweb_short_line_ratio"] = sum(len(ln) <= short for ln in lines) / n
            words = len(split_tokens(text, doc.get("lang")))
            out["fineweb_newline_word_ratio"] = text.count("\n") / max(words, 1)
        return out

    @classmethod
    def thresholds(cls, settings):
        s = cls._settings(settings)
        return thresholds_from([
            ("fineweb_line_punct_ratio", ">=", s.min_line_punct_ratio, "line_punct_ratio"),
            ("fineweb_short_line_ratio", "<=", s.max_short_line_ratio, "short_line_ratio"),
            ("fineweb_char_dup_ratio", "<=", s.max_char_dup_ratio, "char_dup_ratio"),
            ("fineweb_newline_word_ratio", "<=", s.max_newline_word_ratio, "newline_word_ratio"),
        ])

    def keep_document(self, scores: Mapping[str, Any]) -> str | None:
        if scores.get("fineweb_lines") == 0:
            return "empty"
        if scores.get("fineweb_line_punct_ratio") == 0 and self.settings.line_punct_exclude_zero:
            scores = {**scores, "fineweb_line_punct_ratio": None}  # the rule does not apply
        return super().keep_document(scores)
