"""The "code" part of a phase's fingerprint: a hash of the source a phase runs.

A phase's fingerprint (curator/phases.py) chains its inputs, its settings and this hash, so
editing a filter, a reader or the dedup code re-runs the phases it touches instead of
silently reusing their old output. Hashed, for each phase:

* the project files that phase runs (`PHASE_FILES`, globs relative to the project root),
  and `ALWAYS` (the pipeline and the row schema every phase writes);
* for annotate, each configured stage class's module and, transitively, the modules it
  imports at module level from its own package, stages/ or classifiers/ (stages/text_stats.py
  for Gopher, classifiers/fasttext_lid.py for langid);
* for a stage from another installed package (a plug-in), also the name and version of the
  distribution that provides it, so upgrading the plug-in re-runs annotate.

File bytes are hashed with their root-relative names, so a checkout moved to another folder
keeps its fingerprints.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = frozenset({"curator", "stages", "classifiers"})
FOLLOWED = frozenset({"stages", "classifiers"})
"""Packages whose module-level imports are followed from a stage's module (curator's own
modules are infrastructure: the phase files above cover what decides the output)."""

ALWAYS = ("curator/pipeline.py", "curator/schema.py", "curator/stats.py")
PHASE_FILES: dict[str, tuple[str, ...]] = {
    "extract": (
        "stages/warc_source.py", "stages/warc_headers.py", "stages/extractors.py", "stages/code_*.py",
        "stages/inputs.py", "stages/reading.py", "stages/local_files.py", "stages/licenses.py",
        "stages/data/*.json", "curator/tally.py", "curator/redact.py", "stages/optout_signals.py",
    ),
    "annotate": ("stages/base.py", "stages/text_stats.py", "stages/word_tokens.py", "classifiers/*.py",
                 "stages/data/*.json"),
    "dedup": ("stages/dedup_*.py", "stages/minhash.py", "stages/connected_components.py", "curator/dedup_index.py"),
    "tokenize": ("stages/tokenize.py",),
    "mix": ("stages/mix.py", "curator/mix_strategies.py", "stages/mix_groups.py"),
    "shards": ("stages/shards.py", "stages/shard_writers.py", "stages/packing.py", "stages/staging.py", "stages/mix.py",
               "stages/domain_shards.py"),
}


def hash_files(files: Iterable[Path], root: Path = ROOT) -> str:
    """sha256 over (name, bytes) of each file, in name order; a name outside `root` counts by
    its full path, a missing file by its name alone."""
    h = hashlib.sha256()
    named = {}
    for f in files:
        f = Path(f).resolve()
        try:
            name = f.relative_to(root).as_posix()
        except ValueError:
            name = f.as_posix()
        named[name] = f
    for name in sorted(named):
        h.update(name.encode() + b"\0")
        try:
            h.update(hashlib.sha256(named[name].read_bytes()).digest())
        except OSError:
            h.update(b"missing")
    return h.hexdigest()


def phase_files(phase: str, root: Path = ROOT) -> list[Path]:
    """The project files `phase` runs, by `PHASE_FILES` and `ALWAYS`."""
    out: set[Path] = set()
    for pattern in (*ALWAYS, *PHASE_FILES.get(phase, ())):
        out.update(p for p in root.glob(pattern) if p.is_file())
    return sorted(out)


def _top(module_name: str) -> str:
    return module_name.split(".", 1)[0]


def module_files(cls: type) -> list[Path]:
    """The source file of `cls` and of the modules its module imports at module level from
    its own top-level package or from stages/ and classifiers/, transitively."""
    start = sys.modules.get(cls.__module__)
    if start is None:
        path = inspect.getsourcefile(cls)
        return [Path(path)] if path else []
    wanted = FOLLOWED | ({_top(cls.__module__)} - PROJECT_PACKAGES)
    seen: set[str] = set()
    files: list[Path] = []
    todo: list[ModuleType] = [start]
    while todo:
        mod = todo.pop()
        if mod.__name__ in seen:
            continue
        seen.add(mod.__name__)
        path = getattr(mod, "__file__", None)
        if mod is start:
            path = inspect.getsourcefile(cls) or path
        if path:
            files.append(Path(path))
        for value in list(vars(mod).values()):
            if isinstance(value, ModuleType):
                dep = value
            else:
                owner = getattr(value, "__module__", None)
                dep = sys.modules.get(owner) if isinstance(owner, str) else None
            if dep is not None and dep.__name__ not in seen and _top(dep.__name__) in wanted:
                todo.append(dep)
    return files


@cache
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def plugin_versions(cls: type) -> dict[str, str]:
    """{distribution: version} of the installed package a stage from outside this project
    comes from; empty for the project's own stages and for a module not installed as a
    distribution (its source is hashed all the same)."""
    top = _top(cls.__module__)
    if top in PROJECT_PACKAGES:
        return {}
    out = {}
    for dist in _distributions().get(top, ()):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def stage_class(name_or_cls) -> type:
    """A stage class from a class, a registered stage name, an entry point or `module:Class`
    (stages.find; LookupError with a one-line reason)."""
    if isinstance(name_or_cls, type):
        return name_or_cls
    from stages import find

    return find(str(name_or_cls))


def code_fingerprint(phase: str, stages: Iterable = (), root: Path = ROOT) -> str:
    """Hash of the code `phase` runs: its project files, and for annotate the configured
    stages' modules (classes, names or `module:Class`) and plug-in versions."""
    files = phase_files(phase, root)
    versions: dict[str, str] = {}
    for s in stages:
        cls = stage_class(s)
        files.extend(module_files(cls))
        versions.update(plugin_versions(cls))
    h = hashlib.sha256(hash_files(files, root).encode())
    for dist, version in sorted(versions.items()):
        h.update(f"\0{dist}=={version}".encode())
    return h.hexdigest()
