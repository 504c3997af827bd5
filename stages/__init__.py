"""Pipeline steps. Per-document stages are registered here by the name the manifest uses."""

from __future__ import annotations

from stages.base import Stage


def registry() -> dict[str, type[Stage]]:
    """Stage name -> class, for the manifest's `stages:` list."""
    from stages.blocklist import UrlBlocklistFilter
    from stages.gopher import GopherQuality
    from stages.langid import LanguageId
    from stages.quality import FastTextQuality
    from stages.toxicity import DetoxifyToxicity, ToxicWords

    return {cls.name: cls for cls in (LanguageId, GopherQuality, UrlBlocklistFilter, ToxicWords,
                                      FastTextQuality, DetoxifyToxicity)}
