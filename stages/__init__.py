"""Pipeline steps. Per-document stages register themselves by the name the manifest uses.

A stage is found three ways, so that adding one is one file plus one manifest line:
- built in: any module of this package that defines a `Stage` subclass with a `name`
  (the package's modules are imported on the first look-up; nothing lists them);
- installed: a package's `curator.stages` entry point (`name = "module:Class"`);
- named in the manifest as `module:Class`, importable from `sys.path` (PYTHONPATH).
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib import metadata

from stages.base import _REGISTRY, AssetPath, Stage, StageSettings, Threshold

__all__ = ["AssetPath", "Stage", "StageSettings", "Threshold", "find", "registry"]

ENTRY_POINT_GROUP = "curator.stages"
_skipped: dict[str, str] = {}
"""Modules of this package that could not be imported (a missing extra): module -> why."""
_scanned = False


def _import_builtins() -> None:
    """Import every module of this package once: each stage class registers itself."""
    global _scanned
    if _scanned:
        return
    _scanned = True
    for info in pkgutil.iter_modules(__path__):
        try:
            importlib.import_module(f"{__name__}.{info.name}")
        except ImportError as e:  # an optional dependency: its stages are unavailable
            _skipped[info.name] = f"{type(e).__name__}: {e}"


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _check(obj: object, where: str) -> type[Stage]:
    if not (isinstance(obj, type) and issubclass(obj, Stage)):
        raise LookupError(f"{where} is not a stage (a subclass of stages.base.Stage)")
    if "name" not in obj.__dict__:
        raise LookupError(f"{where} has no `name` of its own; set `name = \"...\"` on the class")
    return obj


def _import_class(spec: str) -> type[Stage]:
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise LookupError(f"{spec!r} is not `module:Class`")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise LookupError(
            f"cannot import module {module!r} for stage {spec!r} ({e}); put its folder on PYTHONPATH "
            f"or install its package"
        ) from None
    except Exception as e:  # noqa: BLE001 - the plug-in's own code failed: say so in one line
        raise LookupError(f"importing module {module!r} for stage {spec!r} failed: {type(e).__name__}: {e}") from None
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise LookupError(f"module {module!r} has no {attr!r} (stage {spec!r})")
        obj = getattr(obj, part)
    return _check(obj, spec)


def find(name: str) -> type[Stage]:
    """The stage class a manifest entry names: a registered name (built in or already
    imported), an installed `curator.stages` entry point, or `module:Class`. LookupError with
    a one-line reason otherwise."""
    if ":" in name:
        return _import_class(name)
    if name in _REGISTRY:
        return _REGISTRY[name]
    _import_builtins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    ep = _entry_points().get(name)
    if ep is not None:
        try:
            obj = ep.load()
        except Exception as e:  # noqa: BLE001
            raise LookupError(f"stage {name!r} (entry point {ep.value!r}) cannot be loaded: {type(e).__name__}: {e}") from None
        return _check(obj, f"entry point {name} = {ep.value}")
    why = "".join(f"; stages.{m} was not imported ({err})" for m, err in sorted(_skipped.items()))
    raise LookupError(f"unknown stage {name!r}; allowed: {', '.join(sorted(registry()))}{why}")


def registry() -> dict[str, type[Stage]]:
    """Stage name -> class of the stages a manifest can name without `module:Class`: the
    built-in ones and installed entry points (loaded; those that fail are left out, `find` says
    why). A stage class defined elsewhere (a test, a `module:Class` plug-in already imported)
    is found by `find` but not listed here."""
    _import_builtins()
    out = {n: c for n, c in _REGISTRY.items() if c.__module__.startswith(f"{__name__}.")}
    for name, ep in _entry_points().items():
        if name not in out:
            try:
                out[name] = _check(ep.load(), f"entry point {name} = {ep.value}")
            except Exception:  # noqa: BLE001
                continue
    return out
