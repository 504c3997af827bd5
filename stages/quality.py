"""Model-based quality: a fastText classifier's positive-label probability, thresholded per domain.

Any supervised fastText model works (DCLM's `__label__hq`/`__label__cc`, one trained with
`curator train quality`, ...). The score is kept as `quality_score`, so a threshold changed
in the manifest can be re-applied without re-running the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property

import pyarrow as pa
from pydantic import Field

from classifiers.fasttext_quality import QualityClassifier
from curator.assets import resolve
from stages.base import AssetPath, Stage, StageSettings, Threshold, decide


class FastTextQuality(Stage):
    """Drops documents whose `quality_score` is below the domain's threshold (rule `low_score`)."""

    name = "fasttext_quality"

    class Settings(StageSettings):
        model: AssetPath
        """Path to a supervised fastText model (.bin or .ftz), or `asset:<name>`."""
        positive_label: str = "hq"
        """The label whose probability is the quality score (without `__label__`)."""
        min_score: float | None = Field(default=0.5, ge=0.0, le=1.0)
        """Keep documents scoring at least this; None only scores."""
        min_score_by_domain: dict[str, float] = {}
        """Per mixture domain thresholds that replace `min_score`."""
        max_chars: int = Field(default=100_000, gt=0)
        """Only the first characters of a document are classified."""

    columns = {"quality_label": pa.string(), "quality_score": pa.float64()}
    settings: Settings

    @cached_property
    def model(self) -> QualityClassifier:
        """Loaded on first use, inside the Python worker that runs the stage."""
        s = self.settings
        return QualityClassifier(resolve(s.model), s.positive_label, s.max_chars)

    def score_batch(self, docs: pa.Table) -> dict[str, Sequence]:
        labels, scores = self.model.predict(docs.column("text").to_pylist())
        return {"quality_label": labels, "quality_score": scores}

    @classmethod
    def thresholds(cls, settings) -> dict[str, list[Threshold]]:
        """`min_score` for the domains without their own, then one limit per domain of
        `min_score_by_domain`."""
        s = cls._settings(settings)
        by_domain = s.min_score_by_domain
        rows = []
        if s.min_score is not None:
            rows.append(Threshold(">=", float(s.min_score), "low_score", *(("domain", tuple(sorted(by_domain)), True) if by_domain else ())))
        rows += [Threshold(">=", float(v), "low_score", "domain", (d,)) for d, v in by_domain.items()]
        return {"quality_score": rows} if rows else {}

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        columns = {"quality_score": scores["quality_score"], "domain": docs.column("domain").to_pylist()}
        return decide(self._limits, columns, docs.num_rows)
