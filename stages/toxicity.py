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
from stages.base import AssetPath, Stage, StageSettings, Threshold, decide
from stages.text_stats import base_lang


class DetoxifyToxicity(Stage):
    """Per-label scores `detoxify_<label>` and their maximum `toxicity_score`; drops a document
    when a label's score exceeds its threshold in `max_scores` (rule = the label's name)."""

    name = "detoxify"

    class Settings(StageSettings):
        model_type: str = "original"
        """Detoxify model name: original, unbiased, multilingual, original-small, unbiased-small."""
        checkpoint: AssetPath | None = "asset:detoxify_tiny"
        """A Detoxify checkpoint file (or `asset:<name>`); None downloads `model_type` (network)."""
        huggingface_config: AssetPath | None = None
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

    @classmethod
    def thresholds(cls, settings) -> dict[str, list[Threshold]]:
        """One maximum per label of `max_scores`, in the fixed order of LABELS: the first
        label over its limit names the rule."""
        limits = cls._settings(settings).max_scores
        return {f"detoxify_{label}": [Threshold("<=", float(limits[label]), label)] for label in LABELS if label in limits}

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        return decide(self._limits, scores, docs.num_rows)


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
        lists: AssetPath = "asset:ldnoobw"
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

    @classmethod
    def thresholds(cls, settings) -> dict[str, list[Threshold]]:
        """`count` then `ratio`: the stage's limits for the languages without their own, then
        each language of `per_language` (keyed by the base code of `lang`, `lang_base`)."""
        s = cls._settings(settings)
        per = s.per_language
        default = ("lang_base", tuple(sorted(per)), True) if per else ()
        out: dict[str, list[Threshold]] = {}
        for column, field, rule in (("toxic_words", "max_count", "count"), ("toxic_words_ratio", "max_ratio", "ratio")):
            rows = [Threshold("<=", float(getattr(s, field)), rule, *default)] if getattr(s, field) is not None else []
            rows += [
                Threshold("<=", float(getattr(lim, field)), rule, "lang_base", (lang,))
                for lang, lim in per.items() if getattr(lim, field) is not None
            ]
            if rows:
                out[column] = rows
        return out

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        langs = [base_lang(x) or "" for x in docs.column("lang").to_pylist()]
        return decide(self._limits, {**scores, "lang_base": langs}, docs.num_rows)
