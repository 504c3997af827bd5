"""Detoxify toxicity models, loaded through Detoxify's own code, offline, once per worker.

`Detoxify(model_type, checkpoint=..., huggingface_config_path=...)` builds the model and the
tokenizer from a checkpoint (a dict with `config` - architecture and class names - and
`state_dict`) plus a local Hugging Face config/tokenizer folder. Where the network exists,
the usual names (`original`, `unbiased`, `multilingual`) also work without a checkpoint.

One fix-up, applied only while a local config folder is given: Detoxify always calls
`<ConfigClass>.from_pretrained(<model_type from the checkpoint>, ...)`, e.g.
"bert-base-uncased", which needs the hub even when the config folder is local. We hand
Detoxify's own `get_model_and_tokenizer` the local folder as that name, so nothing is
fetched; the rest of its loading and prediction code runs unchanged.

`build_tiny_checkpoint` writes a small, randomly initialised (seeded) model in exactly
Detoxify's checkpoint format, with a BERT config and a WordPiece tokenizer built offline. It
is for tests and the demo: its scores mean nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from curator.errors import EnvironmentProblem
from curator.extras import require

LABELS = (
    "toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack", "sexual_explicit",
)
"""Every label Detoxify's published models give (after its own renaming)."""

_MODELS: dict[tuple, ToxicityModel] = {}
_LOCK = threading.Lock()


@contextlib.contextmanager
def _offline_model_type(hf_config: str | None):
    """While loading from a local config folder: resolve the checkpoint's model name to it."""
    import detoxify.detoxify as dx

    if hf_config is None:
        yield
        return
    original = dx.get_model_and_tokenizer

    def local(model_type, model_name, tokenizer_name, num_classes, state_dict, huggingface_config_path=None):
        return original(hf_config, model_name, tokenizer_name, num_classes, state_dict,
                        huggingface_config_path=huggingface_config_path)

    dx.get_model_and_tokenizer = local
    try:
        yield
    finally:
        dx.get_model_and_tokenizer = original


class ToxicityModel:
    """A loaded Detoxify model: `predict(texts)` -> {label: [score per text]}, in batches."""

    def __init__(self, model_type: str = "original", checkpoint: str | None = None,
                 hf_config: str | None = None, threads: int = 1, max_chars: int = 2000):
        require("the detoxify stage", "torch", "detoxify")
        import torch

        torch.set_num_threads(max(1, threads))
        if checkpoint is not None and not os.path.isfile(checkpoint):
            raise EnvironmentProblem(
                f"Detoxify checkpoint not found: {checkpoint} (run `curator assets fetch`, or fix the path)"
            )
        if hf_config is not None and not os.path.isfile(os.path.join(hf_config, "config.json")):
            raise EnvironmentProblem(
                f"Hugging Face config folder {hf_config} has no config.json "
                f"(it needs the model's config and tokenizer files)"
            )
        from detoxify import Detoxify
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no per-worker "Loading weights" bars in the logs

        try:
            with _offline_model_type(hf_config):
                self.detoxify = Detoxify(model_type, checkpoint=checkpoint, device="cpu",
                                         huggingface_config_path=hf_config)
        except EnvironmentProblem:
            raise
        except Exception as e:  # a wrong-kind file: not a torch pickle, or not Detoxify's format
            what = checkpoint or model_type
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise EnvironmentProblem(f"{what} is not a usable Detoxify checkpoint: {msg}") from None
        unknown = [c for c in self.detoxify.class_names if c not in LABELS]
        if unknown:
            raise EnvironmentProblem(
                f"{checkpoint or model_type} has labels {unknown} that the toxicity stage has no column for "
                f"(known: {', '.join(LABELS)})"
            )
        self.labels = list(self.detoxify.class_names)
        self.threads = max(1, threads)
        self.max_chars = max_chars
        self.detoxify.model.eval()

    def predict(self, texts: list[str], batch_size: int = 32) -> dict[str, list[float]]:
        import torch

        torch.set_num_threads(self.threads)  # another model in this worker may have changed it
        out: dict[str, list[float]] = {label: [] for label in self.labels}
        for i in range(0, len(texts), batch_size):
            chunk = [t[: self.max_chars] for t in texts[i:i + batch_size]]
            scores = self.detoxify.predict(chunk)
            for label in self.labels:
                v = scores[label]
                out[label].extend([float(v)] if not isinstance(v, list) else [float(x) for x in v])
        return out


def load_detoxify(model_type: str = "original", checkpoint: str | None = None,
                  hf_config: str | None = None, threads: int = 1, max_chars: int = 2000) -> ToxicityModel:
    """A Detoxify model cached per Python worker (one load per path and settings)."""
    key = (model_type, checkpoint, hf_config, threads, max_chars)
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = ToxicityModel(model_type, checkpoint, hf_config, threads, max_chars)
        return _MODELS[key]


# -- a tiny checkpoint in Detoxify's format, for tests and the demo --------------------------

ORIGINAL_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
"""Class names as stored in Detoxify's `original` checkpoint (Detoxify renames them)."""

_WORDS = (
    "the of and to a in is it you that he was for on are with as i his they be at one have this "
    "from or had by not word but what some we can out other were all there when up use your how "
    "said an each she which do their time if will way about many then them write would like so "
    "these her long make thing see him two has look more day could go come did number sound no "
    "most people my over know water than call first who may down side been now find good bad "
    "stupid idiot hate kill love great nice thanks please train garden river town"
).split()


def _vocab() -> list[str]:
    """A WordPiece vocabulary made here: special tokens, characters, word pieces, common words."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'\"()-/&%$#@*+=<>[]_")
    pieces = [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    seen, out = set(), []
    for tok in specials + chars + pieces + _WORDS:
        if tok not in seen:
            seen.add(tok)
            out.append(tok)
    return out


_NEUTRAL = (
    "the train to the river town was on time", "we like the garden in may", "thanks for the good water",
    "the people there have a long day", "please write the number first", "he said it was a nice day",
    "they come down to the river", "this is what we use each day", "she had two more than them",
    "broad beans sown in late autumn flower early", "the night train leaves the capital before ten",
    "most allotment holders learn that courgettes produce far more than one household can eat",
)
_INSULTS = ("you stupid idiot", "what an idiot you are", "stupid people like you", "you are bad and stupid")
_THREATS = ("i will kill you", "we will kill them all", "i hate you and will kill you")
_HATE = ("i hate people like them", "all of them are idiot people", "hate them all")


def _teach(model, tok, steps: int, seed: int) -> None:
    """A few hundred CPU steps on sentences written here, so that the tiny model's scores rise
    with insults and threats: a sanity signal for tests and the demo, not a real classifier.
    Toxic examples are neutral sentences with an insult or threat spliced in at a random
    place, so the model has to find the words rather than tell two sets of sentences apart."""
    import random

    import torch

    rng = random.Random(seed)
    # labels in ORIGINAL_CLASSES order: toxic, severe_toxic, obscene, threat, insult, identity_hate
    kinds = [(_INSULTS, [1, 0, 0, 0, 1, 0]), (_THREATS, [1, 1, 0, 1, 0, 0]), (_HATE, [1, 0, 0, 0, 0, 1])]

    def example():
        words = " ".join(rng.sample(_NEUTRAL, rng.randint(1, 3))).split()
        if rng.random() < 0.5:
            return " ".join(words), [0.0] * 6
        phrases, label = rng.choice(kinds)
        at = rng.randint(0, len(words))
        return " ".join(words[:at] + rng.choice(phrases).split() + words[at:]), [float(x) for x in label]

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same weights on every run
    try:
        opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        model.train()
        for _ in range(steps):
            batch = [example() for _ in range(16)]
            enc = tok([t for t, _ in batch], return_tensors="pt", padding=True, truncation=True)
            target = torch.tensor([y for _, y in batch], dtype=torch.float32)
            loss = loss_fn(model(**enc).logits, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
    finally:
        torch.set_num_threads(threads)


def build_tiny_checkpoint(folder: str | os.PathLike, seed: int = 0, steps: int = 300) -> Path:
    """Write `checkpoint.ckpt` (Detoxify's format) and `hf/` (BERT config + tokenizer) into
    `folder`; deterministic for a seed. Returns the checkpoint path."""
    return build_checkpoint(folder, seed=seed, steps=steps)


def build_checkpoint(folder: str | os.PathLike, seed: int = 0, steps: int = 0, hidden: int = 32,
                     layers: int = 2, heads: int = 2, intermediate: int = 64, max_len: int = 128) -> Path:
    """A BERT classifier of the given size in Detoxify's checkpoint format (random, seeded,
    then `steps` of `_teach`). `hidden=768, layers=12, heads=12, intermediate=3072, max_len=512`
    has the shape and CPU cost of Detoxify's `original` (bert-base) model."""
    require("building a Detoxify checkpoint (asset detoxify_tiny)", "torch")
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder = Path(folder)
    hf = folder / "hf"
    hf.mkdir(parents=True, exist_ok=True)
    vocab = _vocab()
    (hf / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # transformers 5 takes vocab= (a vocab_file= argument is silently ignored)
    tok = BertTokenizer(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True, model_max_length=max_len)
    if tok.tokenize("the garden") != ["the", "garden"] or len(tok) != len(vocab):
        raise EnvironmentProblem("the tiny WordPiece tokenizer was built wrong (is transformers >= 5?)")
    tok.save_pretrained(str(hf))
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=intermediate, max_position_embeddings=max_len, num_labels=len(ORIGINAL_CLASSES),
        problem_type="multi_label_classification",
    )
    config.save_pretrained(str(hf))
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    if steps:
        _teach(model, tok, steps, seed)
    ckpt = {
        "config": {
            "arch": {
                "type": "ToxicClassifier",
                "args": {
                    "model_type": "bert-base-uncased",
                    "model_name": "BertForSequenceClassification",
                    "tokenizer_name": "BertTokenizer",
                    "num_classes": len(ORIGINAL_CLASSES),
                },
            },
            "dataset": {"type": "JigsawDataOriginal", "args": {"classes": ORIGINAL_CLASSES}},
        },
        "state_dict": {k: v.clone() for k, v in model.state_dict().items()},
    }
    path = folder / "checkpoint.ckpt"
    tmp = folder / ".checkpoint.ckpt.tmp"
    torch.save(ckpt, tmp)
    os.replace(tmp, path)
    return path
