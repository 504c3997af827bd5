"""Optional dependencies: which extra installs what, and the one-line error when one is missing.

`pip install corpus-curator` is the core (web and code sources, every filter but Detoxify,
dedup, tokenizers, shards). torch is large and platform-specific, so it and what needs it
(Detoxify, megatron-core's shard reader) sit behind the `models` extra; a feature that needs
them calls `require` first, so its user reads which extra to install instead of a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from curator.errors import EnvironmentProblem

EXTRAS = {
    "torch": "models",
    "detoxify": "models",
    "megatron": "models",
}
"""Top-level module -> the extra that installs it."""


def missing(*modules: str) -> list[str]:
    """The modules of `modules` that are not installed (without importing them)."""
    out = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(name)
    return out


def require(what: str, *modules: str) -> None:
    """Raise one line naming the extra when a module `what` needs is not installed."""
    absent = missing(*modules)
    if absent:
        extras = sorted({EXTRAS.get(m.split(".")[0], "models") for m in absent})
        hint = " ".join(f"pip install 'corpus-curator[{e}]'" for e in extras)
        names = " and ".join([", ".join(absent[:-1]), absent[-1]] if len(absent) > 1 else absent)
        verb = "are" if len(absent) > 1 else "is"
        raise EnvironmentProblem(f"{what} needs {names}, which {verb} not installed: {hint}")


def load(what: str, module: str) -> ModuleType:
    """`import module`, or the one-line error naming its extra (also when it fails to import)."""
    require(what, module.split(".")[0])
    try:
        return importlib.import_module(module)
    except ImportError as e:
        extra = EXTRAS.get(module.split(".")[0], "models")
        raise EnvironmentProblem(
            f"{what} could not import {module} ({e}): reinstall it with pip install 'corpus-curator[{extra}]'"
        ) from None
