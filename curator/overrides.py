"""Command-line overrides of a manifest, applied to its YAML data before validation, so a
recipe is run as written with only what the command line names replaced:

- `--inputs NAME=PATH[,PATH...]` replaces the inputs of the source named NAME (local stand-ins
  for a snapshot or a folder of clones); its `paths_file`, `limit` and `sample` are dropped,
  since they describe the inputs replaced. Local paths are relative to the working directory.
- `--set KEY=VALUE` sets one value by its dotted path: `output.dir=/tmp/runs`,
  `shards.tokens_per_shard=65536`, `sources.github.licenses=["*"]`, and a stage's setting by
  the stage's name, `stages.detoxify.checkpoint=models/toxic.ckpt` (every stage of that name).
  VALUE is read as YAML (`0.5` is a number, `[a, b]` a list); a path setting of a stage, the
  tokenizer path and a source's paths_file are relative to the working directory.

An override naming a source or stage the manifest does not have is a one-line ManifestError.
"""

from __future__ import annotations

import os
from typing import Any

from curator.errors import ManifestError
from curator.manifest import anchor_path, anchor_stage_paths, load_yaml


def _pair(text: str, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ManifestError(f"{option} {text!r}: write it as NAME=VALUE")
    return key.strip(), value


def _local(path: str, cwd: str) -> str:
    return path if "://" in path or os.path.isabs(path) else os.path.normpath(os.path.join(cwd, path))


def _named(items: Any, name: str, what: str, option: str) -> list[dict]:
    """The entries of `sources:` (by `name`) or `stages:` (by their key) called `name`."""
    if not isinstance(items, list):
        items = []
    if what == "source":
        found = [s for s in items if isinstance(s, dict) and s.get("name") == name]
        known = [str(s.get("name")) for s in items if isinstance(s, dict)]
    else:
        found = [s for s in items if isinstance(s, dict) and len(s) == 1 and name in s]
        known = [str(next(iter(s))) for s in items if isinstance(s, dict) and len(s) == 1]
    if not found:
        raise ManifestError(
            f"{option}: the manifest has no {what} named {name!r}; its {what}s: {', '.join(known) or 'none'}"
        )
    return found


def override_inputs(data: dict, specs: list[str], cwd: str) -> None:
    """Each source named in `specs` (NAME=PATH[,PATH...]) reads exactly those paths."""
    replaced: dict[str, list[str]] = {}
    for spec in specs:
        name, value = _pair(spec, "--inputs")
        paths = [p for p in value.split(",") if p]
        if not paths:
            raise ManifestError(f"--inputs {spec!r}: give at least one path after '='")
        replaced.setdefault(name, []).extend(_local(p, cwd) for p in paths)
    for name, paths in replaced.items():
        for src in _named(data.get("sources"), name, "source", f"--inputs {name}"):
            src["inputs"] = paths
            for key in ("paths_file", "limit", "sample"):
                src.pop(key, None)


def override_settings(data: dict, specs: list[str], cwd: str) -> None:
    """Each KEY=VALUE of `specs` set at its dotted path (see the module's docstring)."""
    for spec in specs:
        key, text = _pair(spec, "--set")
        value = load_yaml(text, f"--set {key}") if text.strip() else None
        parts = key.split(".")
        if parts[0] in ("stages", "sources") and len(parts) >= 3:
            what = parts[0][:-1]
            for entry in _named(data.get(parts[0]), parts[1], what, f"--set {key}"):
                if what == "stage":
                    settings = entry[parts[1]] if isinstance(entry[parts[1]], dict) else {}
                    entry[parts[1]] = settings
                    _put(settings, parts[2:], value, key, lambda v, p=parts: _stage_path(p, v, cwd))
                else:
                    _put(entry, parts[2:], value, key,
                         lambda v, p=parts: _local(v, cwd) if p[2:] == ["paths_file"] and isinstance(v, str) else v)
            continue
        if parts in (["tokenizer", "path"], ["output", "dir"]) and isinstance(value, str):
            value = anchor_path(value, cwd) if parts[0] == "tokenizer" else value
        _put(data, parts, value, key, lambda v: v)


def _stage_path(parts: list[str], value: Any, cwd: str) -> Any:
    if len(parts) != 3:
        return value
    try:
        return anchor_stage_paths({parts[2]: value}, cwd, stage=parts[1])[parts[2]]
    except LookupError:  # an unknown stage: validation names it
        return value


def _put(data: dict, parts: list[str], value: Any, key: str, convert) -> None:
    node = data
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ManifestError(f"--set {key}: {'.'.join(parts[:i + 1])} is not a mapping")
        node = nxt
    node[parts[-1]] = convert(value)


def apply_overrides(data: Any, inputs: list[str] | None = None, sets: list[str] | None = None,
                    cwd: str | None = None) -> Any:
    """The manifest's data with `--inputs` and `--set` applied (in place)."""
    if not inputs and not sets:
        return data
    if not isinstance(data, dict):
        raise ManifestError("the manifest must be a YAML mapping at the top level")
    cwd = os.path.abspath(cwd or os.getcwd())
    override_inputs(data, inputs or [], cwd)
    override_settings(data, sets or [], cwd)
    return data
