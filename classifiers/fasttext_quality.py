"""fastText quality classifiers: apply any supervised fastText model, or train one.

`quality_score` is the probability the model gives the positive label (`hq` by default, as
in DCLM's `__label__hq` / `__label__cc`), so it is comparable across documents whatever label
the model ranks first. Training (used by `curator train quality`) is deterministic: one
thread, a fixed seed, and examples in a fixed order.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass

import numpy as np

from classifiers.fasttext_lid import load_fasttext
from curator.errors import EnvironmentProblem, ManifestError


def fasttext_line(text: str) -> str:
    """fastText reads one example per line: fold every whitespace run to one space."""
    return " ".join(text.split())


class QualityClassifier:
    """A supervised fastText model and the label whose probability is the quality score."""

    def __init__(self, model_path: str, positive_label: str = "hq", max_chars: int = 100_000):
        self.path = model_path
        self.model = load_fasttext(model_path)
        labels = [str(x) for x in self.model.get_labels()]
        if not labels or not labels[0].startswith("__label__"):
            raise EnvironmentProblem(f"{model_path} is not a supervised fastText classifier (no __label__ labels)")
        self.labels = [x.removeprefix("__label__") for x in labels]
        if positive_label not in self.labels:
            raise EnvironmentProblem(
                f"{model_path} has no label {positive_label!r} (its labels: {', '.join(self.labels)}); "
                f"set positive_label in the manifest"
            )
        self.positive = positive_label
        self.max_chars = max_chars

    def predict(self, texts: list[str]) -> tuple[list[str], list[float]]:
        """Per text: top label and the positive label's probability (one batched call)."""
        lines = [fasttext_line(t[: self.max_chars]) for t in texts]
        labels, probs = self.model.predict(lines, k=-1)
        tops, scores = [], []
        for labs, ps in zip(labels, probs):
            by_label = {lab.removeprefix("__label__"): float(p) for lab, p in zip(labs, ps)}
            tops.append(labs[0].removeprefix("__label__") if len(labs) else "")
            scores.append(min(max(by_label.get(self.positive, 0.0), 0.0), 1.0))
        return tops, scores


# -- training ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainSettings:
    dim: int = 32
    epoch: int = 10
    lr: float = 0.1
    word_ngrams: int = 2
    min_count: int = 1
    bucket: int = 200_000
    """Hash buckets for word n-grams: the model's size is about (words + bucket) * dim * 4 bytes."""
    seed: int = 0
    positive_label: str = "hq"
    negative_label: str = "cc"


def auc(labels: list[int], scores: list[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U; ties count one half)."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def metrics(labels: list[int], scores: list[float], threshold: float = 0.5) -> dict[str, float]:
    y = np.asarray(labels, dtype=bool)
    pred = np.asarray(scores) >= threshold
    tp, fp, fn = int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "auc": auc(labels, scores),
        "accuracy": float((pred == y).mean()) if len(y) else math.nan,
        "threshold": threshold,
    }


def train_fasttext(examples: list[tuple[int, str]], out_path: str, s: TrainSettings):
    """Train on (1 = positive, 0 = negative) examples in the given order; save to `out_path`
    through a temporary name. Returns the loaded model."""
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None
    out_dir = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".train-") as tmp:
        data = os.path.join(tmp, "train.txt")
        with open(data, "w", encoding="utf-8") as f:
            for y, text in examples:
                label = s.positive_label if y else s.negative_label
                f.write(f"__label__{label} {fasttext_line(text)}\n")
        try:
            model = fasttext.train_supervised(
                input=data, dim=s.dim, epoch=s.epoch, lr=s.lr, wordNgrams=s.word_ngrams,
                minCount=s.min_count, bucket=s.bucket, thread=1, seed=s.seed, verbose=0,
                loss="softmax",
            )
        except RuntimeError as e:  # fastText's SGD diverged
            # Seen with too high a learning rate, and in a process that had run a bert-base torch
            # model before (then the same data trains fine in a fresh process; prediction is unaffected).
            raise ManifestError(
                f"fastText training failed ({e}); try a lower learning rate (--lr), in a fresh process"
            ) from None
        tmp_model = os.path.join(tmp, "model.bin")
        model.save_model(tmp_model)
        os.replace(tmp_model, out_path)
    return model
