"""`curator train quality`: a fastText quality classifier from positive and negative documents.

Inputs are files or folders: `.txt` (one document per line), `.jsonl` (one object per line
with a `text` field), `.parquet` (a `text` column; when a `drop_reason` column exists only
kept rows are read), or a folder of such files, e.g. a previous run's `annotated/` phase
directory. A fixed share of each set is held out by a hash of the text (so the split does
not depend on input order), the model is trained on the rest, and precision, recall and AUC
on the held-out documents are printed and written next to the model as `<model>.json`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from classifiers.fasttext_quality import QualityClassifier, TrainSettings, metrics, train_fasttext
from curator.errors import ManifestError
from curator.phases import write_atomic

SUFFIXES = (".txt", ".jsonl", ".json", ".parquet")


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                       and not p.name.startswith((".", "_")))
        if not found:
            raise ManifestError(f"{path}: no .txt, .jsonl or .parquet files inside")
        return found
    raise ManifestError(f"training input not found: {path}")


def read_documents(paths: list[str]) -> list[str]:
    """Non-empty texts from the given files/folders, in a stable order."""
    import pyarrow.parquet as pq

    docs: list[str] = []
    for raw in paths:
        for f in _files(Path(raw)):
            if f.suffix == ".parquet":
                table = pq.read_table(f)
                if "text" not in table.column_names:
                    raise ManifestError(f"{f}: no `text` column")
                texts = table.column("text").to_pylist()
                if "drop_reason" in table.column_names:
                    kept = table.column("drop_reason").to_pylist()
                    texts = [t for t, r in zip(texts, kept) if r is None]
                docs.extend(t for t in texts if t and t.strip())
            elif f.suffix in (".jsonl", ".json"):
                with open(f, encoding="utf-8") as fh:
                    for n, line in enumerate(fh, 1):
                        if not line.strip():
                            continue
                        try:
                            text = json.loads(line).get("text")
                        except (ValueError, AttributeError):
                            raise ManifestError(f"{f}:{n}: not a JSON object with a `text` field") from None
                        if text and text.strip():
                            docs.append(text)
            else:
                with open(f, encoding="utf-8") as fh:
                    docs.extend(line.rstrip("\n") for line in fh if line.strip())
    return docs


def _held_out(text: str, fraction: float, seed: int) -> bool:
    h = hashlib.sha256(f"{seed}\0{text}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < fraction


def split(positive: list[str], negative: list[str], holdout: float, seed: int):
    """(train, test) lists of (label, text); texts in both sets are left out of both."""
    both = set(positive) & set(negative)
    train, test = [], []
    for label, docs in ((1, positive), (0, negative)):
        for text in dict.fromkeys(docs):  # de-duplicated, order kept
            if text in both:
                continue
            (test if _held_out(text, holdout, seed) else train).append((label, text))
    # interleave deterministically (by hash), so fastText's SGD does not see one class first
    train.sort(key=lambda x: hashlib.sha256(f"{seed}\1{x[1]}".encode()).digest())
    return train, test, len(both)


def train_quality(positive: list[str], negative: list[str], out: str, holdout: float = 0.2,
                  settings: TrainSettings = TrainSettings(), log: Callable[[str], None] = print) -> dict:
    """Read, split, train, evaluate; returns the metrics written to `<out>.json`."""
    pos, neg = read_documents(positive), read_documents(negative)
    if not pos or not neg:
        raise ManifestError(f"need documents in both sets (got {len(pos)} positive, {len(neg)} negative)")
    train, test, overlap = split(pos, neg, holdout, settings.seed)
    if not any(y for y, _ in train) or not any(not y for y, _ in train):
        raise ManifestError("the training split lacks one of the classes; give more documents")
    train_fasttext(train, out, settings)
    result = {
        "model": os.path.basename(out),
        "positive_docs": len(pos), "negative_docs": len(neg), "in_both_sets_dropped": overlap,
        "train": len(train), "held_out": len(test),
        "held_out_positive": sum(y for y, _ in test), "held_out_negative": sum(1 - y for y, _ in test),
        "settings": asdict(settings),
    }
    if test:
        clf = QualityClassifier(out, settings.positive_label)
        _, scores = clf.predict([t for _, t in test])
        result.update(metrics([y for y, _ in test], scores))
    write_atomic(Path(f"{out}.json"), json.dumps(result, indent=1, sort_keys=True) + "\n")
    log(f"trained on {len(train)} documents ({sum(y for y, _ in train)} positive), "
        f"held out {len(test)} ({result['held_out_positive']} positive)")
    if overlap:
        log(f"{overlap} texts were in both sets and were left out")
    if test:
        log(f"held-out  precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
            f"AUC {result['auc']:.3f}  (threshold {result['threshold']})")
    else:
        log("nothing held out (--holdout 0): no metrics")
    log(f"model: {out}  (metrics: {out}.json)")
    return result


def train_settings(args) -> TrainSettings:
    """TrainSettings from the CLI's options (those not given keep their defaults)."""
    given = {f: getattr(args, f) for f in ("dim", "epoch", "lr", "word_ngrams", "min_count", "bucket", "seed")
             if getattr(args, f, None) is not None}
    return TrainSettings(**given)
