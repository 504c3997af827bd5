"""C4 cleaning rules (Raffel et al. 2020, section 2.2; TFDS c4_utils), as in datatrove's C4QualityFilter.

C4 is mostly a *line* filter: it keeps only lines that end in terminal punctuation, have at
least 3 words, have no word over 1000 characters and do not mention javascript or cookie /
terms-of-use policies, and strips Wikipedia-style citation marks. A page is dropped only
when a kept line holds "lorem ipsum" or a curly bracket, or when fewer than 5 sentences
remain.

How the line removal fits "stages mark, they do not delete": the document stays a row; its
`text` is replaced by the kept lines (joined by newlines) only when the document is kept,
and the lines removed by each rule are counted in `c4_lines_removed_<rule>` columns (with
`c4_lines_removed` their sum), so the modification is visible per document and per rule.
A dropped document keeps its original text, for the rejected samples.

Languages without spaces between words (`skip_languages`: zh, ja, th, ...): the
minimum-words-per-line rule is skipped (a whole line is one whitespace "word" there);
sentences are still counted on sentence-ending punctuation, which includes 。！？.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from pydantic import Field

from stages import text_stats as ts
from stages.base import DocumentFilter, StageSettings, thresholds_from

CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'", "。", "！", "？", "．")
"""C4's terminal marks (period, question and exclamation mark, closing quote), plus their
full-width forms so CJK lines can end a sentence."""
POLICY_SUBSTRINGS = (
    "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies",
)
_SENTENCE_END = re.compile(r"[.!?。！？．]+[\"'”’)\]]*(?=\s|$)")
LINE_RULES = ("long_word", "no_terminal_punct", "too_few_words", "javascript", "policy")


def count_sentences(line: str) -> int:
    """Sentences in a line: runs of sentence-ending punctuation followed by a space or the
    end (at least 1 for a non-empty line)."""
    return max(1, len(_SENTENCE_END.findall(line))) if line else 0


class C4Quality(DocumentFilter):
    """Document rules, in this order: lorem_ipsum, curly_bracket, too_few_sentences.
    Line rules (lines removed, counted per rule): long_word, no_terminal_punct,
    too_few_words, javascript, policy — checked per line in that order, as TFDS does; the
    lorem-ipsum and curly-bracket checks look only at lines that passed the first three."""

    name = "c4"
    language_note = "zh, ja, th, lo, km, my, bo: words-per-line rule skipped; 。！？ end sentences"

    class Settings(StageSettings):
        """C4's published rules; set a number to -1 / a switch to false to turn it off."""

        remove_citations: bool = True
        filter_no_terminal_punct: bool = True
        min_words_per_line: int = Field(default=3, ge=-1)
        max_word_length: int = Field(default=1000, ge=-1)
        filter_lorem_ipsum: bool = True
        filter_javascript: bool = True
        filter_curly_bracket: bool = True
        filter_policy: bool = True
        min_sentences: int = Field(default=5, ge=-1)
        skip_languages: list[str] = list(ts.NO_SPACE_LANGUAGES)
        """Languages where min_words_per_line is not applied (no spaces between words)."""

    columns = {
        "c4_sentences": pa.int64(),  # sentences in the kept lines
        "c4_lorem_ipsum": pa.bool_(),  # a kept line holds "lorem ipsum"
        "c4_curly_bracket": pa.bool_(),  # a kept line holds "{"
        "c4_lines_removed": pa.int64(),  # all lines removed
        **{f"c4_lines_removed_{r}": pa.int64() for r in LINE_RULES},
    }

    settings: Settings

    def clean(self, text: str, lang: str | None = None) -> tuple[str, dict[str, Any]]:
        """The kept lines and the scores of one document."""
        s = self.settings
        removed = dict.fromkeys(LINE_RULES, 0)
        check_words = s.min_words_per_line != -1 and not self.skips_language(lang)
        lorem = curly = False
        sentences = 0
        kept: list[str] = []
        for line in text.splitlines():
            line = line.strip()
            words = line.split()
            if s.max_word_length != -1 and any(len(w) > s.max_word_length for w in words):
                removed["long_word"] += 1
                continue
            if s.remove_citations:
                line = CITATION.sub("", line)
            if s.filter_no_terminal_punct and (not line.endswith(END_PUNCTUATION) or line.endswith("...")):
                removed["no_terminal_punct"] += 1
                continue
            if check_words and len(words) < s.min_words_per_line:
                removed["too_few_words"] += 1
                continue
            low = line.lower()
            if "lorem ipsum" in low:
                lorem = True
            if s.filter_javascript and "javascript" in low:
                removed["javascript"] += 1
                continue
            if "{" in line:
                curly = True
            if s.filter_policy and any(p in low for p in POLICY_SUBSTRINGS):
                removed["policy"] += 1
                continue
            sentences += count_sentences(line)
            kept.append(line)
        scores = {
            "c4_sentences": sentences,
            "c4_lorem_ipsum": lorem,
            "c4_curly_bracket": curly,
            "c4_lines_removed": sum(removed.values()),
            **{f"c4_lines_removed_{r}": n for r, n in removed.items()},
        }
        return "\n".join(kept).strip(), scores

    def score_document(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        return self.clean(doc.get("text") or "", doc.get("lang"))[1]

    def score_batch(self, docs: pa.Table) -> dict[str, list]:
        """Scores, plus `text` replaced by the kept lines where the document is kept."""
        texts = docs.column("text").to_pylist()
        langs = docs.column("lang").to_pylist()
        out: dict[str, list] = {name: [] for name in self.columns}
        out["text"] = []
        for text, lang in zip(texts, langs):
            cleaned, scores = self.clean(text or "", lang)
            for name in self.columns:
                out[name].append(scores[name])
            out["text"].append(text if self.keep_document(scores) else cleaned)
        return out

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        names = list(self.columns)
        return [self.keep_document({n: scores[n][i] for n in names}) for i in range(docs.num_rows)]

    @classmethod
    def thresholds(cls, settings):
        return thresholds_from([("c4_sentences", ">=", cls._settings(settings).min_sentences, "too_few_sentences")])

    def keep_document(self, scores: Mapping[str, Any]) -> str | None:
        s = self.settings
        if s.filter_lorem_ipsum and scores.get("c4_lorem_ipsum"):
            return "lorem_ipsum"
        if s.filter_curly_bracket and scores.get("c4_curly_bracket"):
            return "curly_bracket"
        return super().keep_document(scores)  # the declared limits: too_few_sentences
