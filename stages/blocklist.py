"""URL blocklist: drop pages whose domain (or a parent domain) or URL is on a list.

The default is UT1's adult list from datatrove's wheel (`asset:ut1_adult`), the list
RefinedWeb and FineWeb use; any list files can be named instead (one domain or URL a line).
Runs before the models: it needs only the URL, so it is the cheapest filter there is; with
`extract.precheck.urls` (the default) it runs before extraction too (stages/precheck.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property

import pyarrow as pa

from classifiers.url_blocklist import UrlBlocklist, load_blocklist
from curator.assets import resolve
from stages.base import AssetPath, Stage, StageSettings


class UrlBlocklistFilter(Stage):
    """Rules: `domain` (the host or a parent domain is listed), `url` (the URL is listed)."""

    name = "url_blocklist"
    before_extraction = True
    """It reads only `url`: the extraction cascade (stages/precheck.py) runs it before
    extraction, so a blocklisted page costs no extractor time."""

    class Settings(StageSettings):
        lists: list[AssetPath] = ["asset:ut1_adult"]
        """Domain lists: files, or folders with `domains[.sorted]` and `urls` (UT1 layout)."""
        url_lists: list[AssetPath] = []
        """Extra files of full URLs (`host/path`, scheme optional)."""

    columns = {"blocklist_match": pa.string()}
    settings: Settings

    @cached_property
    def lists(self) -> UrlBlocklist:
        """Loaded on first use, inside the Python worker that runs the stage."""
        return load_blocklist(
            [resolve(x) for x in self.settings.lists], [resolve(x) for x in self.settings.url_lists]
        )

    def score_batch(self, docs: pa.Table) -> dict[str, Sequence]:
        return {"blocklist_match": [self.lists.check(u) for u in docs.column("url").to_pylist()]}

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        return list(scores["blocklist_match"])
