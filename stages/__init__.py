"""Pipeline steps. Per-document stages are registered here by the name the manifest uses."""

from __future__ import annotations

from stages.base import Stage


def registry() -> dict[str, type[Stage]]:
    """Stage name -> class, for the manifest's `stages:` list."""
    from stages.gopher import GopherQuality
    from stages.langid import LanguageId

    return {cls.name: cls for cls in (LanguageId, GopherQuality)}
