"""fastText language identification (lid.176 or any fastText LID model), loaded once per process."""

from __future__ import annotations

import os
import threading

from curator.errors import EnvironmentProblem

_MODELS: dict[str, object] = {}
_LOCK = threading.Lock()


def load_fasttext(path: str):
    """A fastText model from a local path, cached per Python worker; clear error if unusable."""
    with _LOCK:
        if path in _MODELS:
            return _MODELS[path]
        if not os.path.isfile(path):
            raise EnvironmentProblem(
                f"fastText model not found: {path} (run `curator assets fetch`, or fix the model path)"
            )
        import fasttext

        fasttext.FastText.eprint = lambda *a, **k: None  # silence its load-time warning
        try:
            model = fasttext.load_model(path)
        except ValueError as e:
            raise EnvironmentProblem(f"{path} is not a fastText model: {e}") from None
        _MODELS[path] = model
        return model


class LanguageIdentifier:
    def __init__(self, model_path: str):
        self.model = load_fasttext(model_path)
        labels = self.model.get_labels()
        if not labels or not str(labels[0]).startswith("__label__"):
            raise EnvironmentProblem(f"{model_path} is not a fastText classifier (no __label__ labels)")

    def predict(self, texts: list[str]) -> tuple[list[str], list[float]]:
        """Top language code and its probability for each text (newlines folded: fastText reads one line)."""
        lines = [" ".join(t.split()) for t in texts]
        labels, probs = self.model.predict(lines, k=1)
        return (
            [lab[0].removeprefix("__label__") if lab else "unknown" for lab in labels],
            [float(min(p[0], 1.0)) if len(p) else 0.0 for p in probs],
        )
