"""Benchmark decontamination: documents holding evaluation items are dropped, excised or tagged.

Matching (stages/decontam_index.py): n-grams of words (13 by default, the GPT-3 recipe, also
NeMo Curator's) of the eval items (`curator evalsets import`), on exact dedup's normalisation.
Before the annotate phase the pipeline builds the index once on the driver, counts in how many
documents (of this stage's domains, entering the phase) each indexed n-gram occurs, removes the
n-grams found in more than `max_matches` documents (too common to mean contamination: licence
headers, boilerplate), and writes the index as one .npz file in the run directory that every
Python worker loads once (`prepare`). Each Arrow batch is then hashed and looked up vectorised.

Actions, per benchmark (`actions`) or for all (`action`); a document matching several
benchmarks takes the strongest (drop > excise > tag), its reason naming the first benchmark
(sorted) with that action:
- drop: `drop_reason` = `decontaminate.<benchmark>`;
- excise: each matched span plus `margin` (200) characters each side is cut out, fragments
  shorter than `min_fragment_chars` (200) are dropped, and the document is dropped when it is
  split more than `max_splits` (10) times or nothing is left. Like C4's removed lines, the
  modification is counted per document (`decontam_chars_removed`, `decontam_spans_removed`)
  and a dropped document keeps its original text for the rejected samples;
- tag: only the columns.

Columns: `decontam_hits` (matched n-gram windows), `decontam_words` (words they cover),
`decontam_benchmarks` and `decontam_items` (`<benchmark>/<split>/<id>`, for the share of each
benchmark's items seen), and `decontam_spans` (up to 3 matched passages, highlighted in the
report's rejected samples).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from stages.base import AssetPath, Stage, StageSettings
from stages.decontam_index import WORD, Index

Action = Literal["drop", "excise", "tag"]
_STRENGTH = {"tag": 0, "excise": 1, "drop": 2}
MAX_ITEMS_LISTED = 100
MAX_SPANS_SHOWN = 3
MAX_SPAN_CHARS = 300


class Decontaminate(Stage):
    """Rules: one per benchmark, `decontaminate.<benchmark>` (see the module docstring)."""

    name = "decontaminate"

    class Settings(StageSettings):
        evalsets: AssetPath | list[AssetPath]
        """Folders (or files) of eval-set JSONL made by `curator evalsets import`."""
        action: Action = "drop"
        actions: dict[str, Action] = {}
        """Per benchmark, overriding `action`."""
        ngram: int = Field(default=13, ge=3, le=64)
        max_matches: int = Field(default=10, ge=1)
        """An n-gram found in more training documents than this is ignored as too common."""
        margin: int = Field(default=200, ge=0, le=100_000)
        min_fragment_chars: int = Field(default=200, ge=0, le=1_000_000)
        max_splits: int = Field(default=10, ge=0, le=100_000)
        index_file: AssetPath | None = None
        """The built index; set by the pipeline (`prepare`), not in manifests."""

    columns = {
        "decontam_hits": pa.int64(),
        "decontam_words": pa.int64(),
        "decontam_benchmarks": pa.list_(pa.string()),
        "decontam_items": pa.list_(pa.string()),
        "decontam_spans": pa.list_(pa.string()),
        "decontam_chars_removed": pa.int64(),
        "decontam_spans_removed": pa.int64(),
    }

    settings: Settings

    # -- the driver's part ------------------------------------------------------------------
    @classmethod
    def build_index(cls, settings: Settings) -> Index:
        from curator.evalsets import load_items

        counts: dict[str, int] = {}
        index = Index.build(load_items(settings.evalsets, counts), settings.ngram)
        index.info["skipped_records"] = counts
        return index

    @classmethod
    def input_files(cls, settings: Settings) -> list[str]:
        """The eval-set files, whose state is part of the annotate phase's fingerprint."""
        from curator.evalsets import eval_files

        return [str(p) for p in eval_files(settings.evalsets)]

    @classmethod
    def prepare(cls, settings: Settings, spark, df, work_dir: Path) -> tuple[Settings, dict[str, Any]]:
        """Build the index, drop the n-grams too common in `df` (the documents entering the
        phase), write it under `work_dir`; the settings that point at it and the index's stats."""
        from curator.schema import spark_schema

        index = cls.build_index(settings)
        counter = _CommonCounter(index, settings)
        schema = pa.schema([("h", pa.int64())])
        counts = (df.select("text", "domain").mapInArrow(counter, spark_schema(schema))
                  .groupBy("h").count().where(f"count > {int(settings.max_matches)}").collect())
        common = np.array([r["h"] for r in counts], np.int64).view(np.uint64)
        index = index.without(common)
        data = index.to_bytes()  # everything the workers read: hashes, items, names and ids
        work_dir.mkdir(parents=True, exist_ok=True)
        path = work_dir / f"decontam-{hashlib.sha256(data).hexdigest()[:16]}.npz"
        if not path.exists():
            from curator.phases import write_atomic

            write_atomic(path, data)
        info = {**index.info, "ngram": settings.ngram, "benchmarks": index.benchmarks,
                "index_entries": int(len(index.hashes)), "index_bytes": index.nbytes,
                "index_file_bytes": path.stat().st_size}
        return settings.model_copy(update={"index_file": str(path)}), info

    # -- the executors' part -----------------------------------------------------------------
    @cached_property
    def index(self) -> Index:
        s = self.settings
        if s.index_file:
            return Index.load(s.index_file)
        return self.build_index(s)  # outside the pipeline (tests, the Python API): no max_matches pass

    def _action(self, bench: str) -> str:
        return self.settings.actions.get(bench, self.settings.action)

    def score_batch(self, docs: pa.Table) -> dict[str, list]:
        idx = self.index
        texts = docs.column("text").to_pylist()
        out: dict[str, list] = {name: [] for name in self.columns}
        out["text"] = []
        self._rules: list[str | None] = []
        for text, (pos, hashes) in zip(texts, idx.match_batch(texts)):
            text = text or ""
            rule, new_text, scores = None, text, dict.fromkeys(self.columns, 0)
            scores.update(decontam_benchmarks=[], decontam_items=[], decontam_spans=[])
            if len(pos):
                rule, new_text, scores = self._decide(text, pos, hashes)
            for name in self.columns:
                out[name].append(scores[name])
            out["text"].append(new_text)
            self._rules.append(rule)
        return out

    def _decide(self, text: str, pos: np.ndarray, hashes: np.ndarray) -> tuple[str | None, str, dict[str, Any]]:
        idx, n, s = self.index, self.index.n, self.settings
        spans = [(m.start(), m.end()) for m in WORD.finditer(text)]
        # the benchmarks of each matched window
        items = idx.items_of(np.unique(hashes))
        benches = sorted({idx.benchmarks[b] for b in idx.item_bench[items]})
        item_names = sorted(f"{idx.benchmarks[idx.item_bench[i]]}/{idx.ids[i]}" for i in items)
        covered = np.zeros(len(spans), bool)
        for p in pos:
            covered[p:p + n] = True
        ranges = _merge([(spans[p][0], spans[p + n - 1][1]) for p in pos])
        scores: dict[str, Any] = {
            "decontam_hits": int(len(pos)), "decontam_words": int(covered.sum()),
            "decontam_benchmarks": benches, "decontam_items": item_names[:MAX_ITEMS_LISTED],
            "decontam_spans": [text[a:b][:MAX_SPAN_CHARS] for a, b in ranges[:MAX_SPANS_SHOWN]],
            "decontam_chars_removed": 0, "decontam_spans_removed": 0,
        }
        strongest = max(_STRENGTH[self._action(b)] for b in benches)
        action = next(a for a, v in _STRENGTH.items() if v == strongest)
        first = next(b for b in benches if self._action(b) == action)
        if action == "tag":
            return None, text, scores
        if action == "drop":
            return first, text, scores
        # excise only the windows of benchmarks whose action is excise
        keep_hashes = [h for h in np.unique(hashes)
                       if any(self._action(idx.benchmarks[idx.item_bench[i]]) == "excise" for i in idx.items_of(np.array([h])))]
        sel = np.isin(hashes, np.array(keep_hashes, np.uint64))
        cut = _merge([(max(0, spans[p][0] - s.margin), min(len(text), spans[p + n - 1][1] + s.margin)) for p in pos[sel]])
        scores["decontam_spans_removed"] = len(cut)
        if len(cut) > s.max_splits:
            return first, text, scores
        pieces, last = [], 0
        for a, b in cut:
            pieces.append(text[last:a])
            last = b
        pieces.append(text[last:])
        kept = [p.strip() for p in pieces if len(p.strip()) >= s.min_fragment_chars]
        new = "\n".join(kept)
        scores["decontam_chars_removed"] = len(text) - sum(len(p) for p in kept)
        if not kept:
            return first, text, scores
        return None, new, scores

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        return list(self._rules)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


class _CommonCounter:
    """mapInArrow function of the max_matches pass: each document's distinct indexed n-grams."""

    def __init__(self, index: Index, settings: Decontaminate.Settings):
        self.index, self.domains = index, settings.domains

    def __call__(self, batches):
        for batch in batches:
            texts = batch.column("text").to_pylist()
            if self.domains is not None:
                doms = batch.column("domain").to_pylist()
                texts = [t if d in self.domains else None for t, d in zip(texts, doms)]
            found = [np.unique(h) for _, h in self.index.match_batch(texts)]
            hs = np.concatenate(found) if found else np.empty(0, np.uint64)
            yield pa.RecordBatch.from_arrays([pa.array(hs.view(np.int64), pa.int64())], ["h"])

