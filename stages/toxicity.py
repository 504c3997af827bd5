"""Toxicity, model-based (Detoxify) and keyword-based (multilingual bad-word lists).

Both keep their scores as columns and apply thresholds from the manifest, so a threshold can
change without re-scoring. Detoxify is by far the slowest stage on CPU: put it after the cheap
filters, which it then runs only on the documents they kept (stages skip dropped rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from classifiers.detoxify_model import LABELS, ToxicityModel, load_detoxify
from classifiers.wordlists import WordList, load_wordlists
from curator.assets import resolve
from stages.base import Stage, StageSettings
from stages.text_stats import base_lang


class DetoxifyToxicity(Stage):
    """Per-label scores `detoxify_<label>` and their maximum `toxicity_score`; drops a document
    when a label's score exceeds its threshold in `max_scores` (rule = the label's name)."""

    name = "detoxify"

    class Settings(StageSettings):
        model_type: str = "original"
        """Detoxify model name: original, unbiased, multilingual, original-small, unbiased-small."""
        checkpoint: str | None = "asset:detoxify_tiny"
        """A Detoxify checkpoint file (or `asset:<name>`); None downloads `model_type` (network)."""
        huggingface_config: str | None = None
        """Local folder with the model's Hugging Face config and tokenizer files (offline use).
        None: the tiny asset's own folder for `asset:detoxify_tiny`, otherwise Detoxify looks the
        checkpoint's model name up on the hub (network or a filled Hugging Face cache)."""
        max_scores: dict[str, float] = {}
        """Label -> highest score kept, e.g. {toxicity: 0.8}; labels not named are only scored."""
        batch_size: int = Field(default=32, gt=0)
        threads: int = Field(default=1, gt=0)
        """torch threads per Spark Python worker (workers already run in parallel)."""
        max_chars: int = Field(default=2000, gt=0)
        """Characters of a document given to the model (its tokenizer truncates anyway)."""

        @field_validator("max_scores")
        @classmethod
        def _labels(cls, v: dict[str, float]) -> dict[str, float]:
            unknown = sorted(set(v) - set(LABELS))
            if unknown:
                raise ValueError(f"unknown Detoxify label(s) {unknown}; known: {', '.join(LABELS)}")
            return v

    columns = {f"detoxify_{label}": pa.float64() for label in LABELS} | {"toxicity_score": pa.float64()}
    settings: Settings

    @cached_property
    def model(self) -> ToxicityModel:
        """Loaded on first use, inside the Python worker that runs the stage."""
        s = self.settings
        hf = s.huggingface_config
        if hf is None and s.checkpoint == "asset:detoxify_tiny":
            hf = "asset:detoxify_tiny/hf"
        return load_detoxify(
            s.model_type,
            resolve(s.checkpoint) if s.checkpoint else None,
            resolve(hf) if hf else None,
            s.threads, s.max_chars,
        )

    def score_batch(self, docs: pa.Table) -> dict[str, Sequence]:
        texts = docs.column("text").to_pylist()
        scores = self.model.predict(texts, self.settings.batch_size)
        out: dict[str, Sequence] = {f"detoxify_{label}": v for label, v in scores.items()}
        out["toxicity_score"] = [max(vals) for vals in zip(*scores.values())] if scores else [None] * len(texts)
        return out

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        limits = self.settings.max_scores
        out: list[str | None] = []
        for i in range(docs.num_rows):
            rule = None
            for label in LABELS:  # a fixed order: the first label over its limit names the rule
                col = scores.get(f"detoxify_{label}")
                if label in limits and col is not None and col[i] is not None and col[i] > limits[label]:
                    rule = label
                    break
            out.append(rule)
        return out


class WordLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_count: int | None = Field(default=None, ge=0)
    max_ratio: float | None = Field(default=None, ge=0.0, le=1.0)


class ToxicWords(Stage):
    """Counts bad words of the document's language (`lang` from langid); rules `count` (more
    than `max_count` matches) and `ratio` (matches per word above `max_ratio`). Documents in
    a language without a list are not measured (null scores, kept)."""

    name = "toxic_words"

    class Settings(StageSettings):
        lists: str = "asset:ldnoobw"
        """Folder of `<lang>.txt` word lists (LDNOOBW by default), or `asset:<name>`."""
        max_count: int | None = Field(default=None, ge=0)
        max_ratio: float | None = Field(default=0.01, ge=0.0, le=1.0)
        per_language: dict[str, WordLimits] = {}
        """Language -> its own limits, replacing the two above for that language."""
        languages: list[str] | None = None
        """Only these languages are measured; None: every language that has a list."""

    columns = {"toxic_words": pa.int64(), "toxic_words_ratio": pa.float64()}
    settings: Settings

    @cached_property
    def lists(self) -> dict[str, WordList]:
        """Loaded on first use, inside the Python worker that runs the stage."""
        return load_wordlists(resolve(self.settings.lists))

    def score_batch(self, docs: pa.Table) -> dict[str, Sequence]:
        wanted = set(self.settings.languages) if self.settings.languages is not None else None
        counts, ratios = [], []
        for text, lang in zip(docs.column("text").to_pylist(), docs.column("lang").to_pylist()):
            base = base_lang(lang)
            wl = self.lists.get(base) if base and (wanted is None or base in wanted) else None
            if wl is None:
                counts.append(None)
                ratios.append(None)
                continue
            n, words = wl.count(text or "")
            counts.append(n)
            ratios.append(n / words if words else 0.0)
        return {"toxic_words": counts, "toxic_words_ratio": ratios}

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        s = self.settings
        out: list[str | None] = []
        langs = docs.column("lang").to_pylist()
        for lang, n, ratio in zip(langs, scores["toxic_words"], scores["toxic_words_ratio"]):
            limits = s.per_language.get(base_lang(lang) or "", None)
            max_count = limits.max_count if limits else s.max_count
            max_ratio = limits.max_ratio if limits else s.max_ratio
            if n is not None and max_count is not None and n > max_count:
                out.append("count")
            elif ratio is not None and max_ratio is not None and ratio > max_ratio:
                out.append("ratio")
            else:
                out.append(None)
        return out
