"""Language ID: label and score per document, then a keep-list and a minimum score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
from pydantic import Field

from classifiers.fasttext_lid import LanguageIdentifier
from curator.assets import resolve
from stages.base import Stage, StageSettings, Threshold


class LanguageIdSettings(StageSettings):
    model: str = "asset:lid176"
    keep: list[str] | None = None
    """Language codes to keep; None keeps every language."""
    min_score: float = Field(default=0.65, ge=0.0, le=1.0)


class LanguageId(Stage):
    """Fills the base columns `lang`/`lang_score`; drops by keep-list, then by low confidence."""

    name = "langid"
    Settings = LanguageIdSettings
    columns: dict = {}

    def __init__(self, settings=None):
        super().__init__(settings)
        self._model: LanguageIdentifier | None = None

    @property
    def model(self) -> LanguageIdentifier:
        if self._model is None:
            self._model = LanguageIdentifier(resolve(self.settings.model))
        return self._model

    @classmethod
    def thresholds(cls, settings) -> dict[str, list[Threshold]]:
        return {"lang_score": [Threshold(">=", cls._settings(settings).min_score, "low_score")]}

    def score_batch(self, docs: pa.Table) -> dict[str, Sequence]:
        langs, scores = self.model.predict(docs.column("text").to_pylist())
        return {"lang": langs, "lang_score": scores}

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        keep = set(self.settings.keep) if self.settings.keep is not None else None
        out: list[str | None] = []
        for lang, score in zip(scores["lang"], scores["lang_score"]):
            if keep is not None and lang not in keep:
                out.append("language")
            elif score < self.settings.min_score:
                out.append("low_score")
            else:
                out.append(None)
        return out
