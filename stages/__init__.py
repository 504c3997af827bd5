"""Pipeline steps. Per-document stages are registered here by the name the manifest uses."""

from __future__ import annotations

from stages.base import Stage


def registry() -> dict[str, type[Stage]]:
    """Stage name -> class, for the manifest's `stages:` list."""
    from stages.blocklist import UrlBlocklistFilter
    from stages.c4 import C4Quality
    from stages.code_quality import CodeQuality
    from stages.fineweb import FineWebQuality
    from stages.gopher import GopherQuality
    from stages.gopher_repetition import GopherRepetition
    from stages.langid import LanguageId
    from stages.pii import PiiRedaction
    from stages.quality import FastTextQuality
    from stages.toxicity import DetoxifyToxicity, ToxicWords

    return {
        cls.name: cls
        for cls in (
            LanguageId, GopherQuality, GopherRepetition, C4Quality, FineWebQuality, CodeQuality,
            UrlBlocklistFilter, ToxicWords, FastTextQuality, DetoxifyToxicity, PiiRedaction,
        )
    }
