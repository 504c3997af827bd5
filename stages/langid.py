"""Language ID: label and score per document, then a keep-list and a minimum score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from classifiers.fasttext_lid import LanguageIdentifier
from curator.assets import resolve
from stages.base import AssetPath, Stage, StageSettings, Threshold, decide


class LanguageIdSettings(StageSettings):
    model: AssetPath = "asset:lid176"
    keep: list[str] | None = None
    """Language codes to keep; None keeps every language."""
    min_score: float = Field(default=0.65, ge=0.0, le=1.0)
    """Documents whose top language scores below this are dropped (`langid.low_score`)."""
    label_code: bool = False
    """Code documents (`kind == "code"`) are never language-filtered; with this set they are
    still labelled (`lang`, `lang_score`), otherwise they are not scored at all."""


class LanguageId(Stage):
    """Fills the base columns `lang`/`lang_score`; drops by keep-list, then by low confidence.

    Per-domain keep-lists and thresholds: list the stage once per group of domains, each
    with its `domains:`. The model is any fastText language-ID model (`asset:lid176`, the
    lid.176 file shipped in a registry package, or a path to a .bin/.ftz file).
    """

    name = "langid"
    Settings = LanguageIdSettings
    columns: dict = {}

    @cached_property
    def model(self) -> LanguageIdentifier:
        """Loaded on first use, inside the Python worker that runs the stage."""
        return LanguageIdentifier(resolve(self.settings.model))

    def applies_to(self, batch: pa.RecordBatch) -> pa.Array:
        mask = super().applies_to(batch)
        if not self.settings.label_code:
            not_code = pc.fill_null(pc.not_equal(batch.column("kind"), "code"), True)
            mask = pc.and_(mask, not_code)
        return mask

    @classmethod
    def thresholds(cls, settings) -> dict[str, list[Threshold]]:
        return {"lang_score": [Threshold(">=", cls._settings(settings).min_score, "low_score")]}

    def score_batch(self, docs: pa.Table) -> dict[str, Sequence]:
        langs, scores = self.model.predict(docs.column("text").to_pylist())
        return {"lang": langs, "lang_score": scores}

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        """Code is never filtered; then the keep-list (`language`), then the declared limits."""
        keep = set(self.settings.keep) if self.settings.keep is not None else None
        by_score = decide(self._limits, scores, docs.num_rows)
        out: list[str | None] = []
        for lang, kind, rule in zip(scores["lang"], docs.column("kind").to_pylist(), by_score):
            if kind == "code":
                out.append(None)
            elif keep is not None and lang not in keep:
                out.append("language")
            else:
                out.append(rule)
        return out
