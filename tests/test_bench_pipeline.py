"""benchmarks/pipeline.py compares datatrove with the project's FineWeb recipe: the manifest it
writes must be that recipe's extract settings, stages (less `pii`, which datatrove's side does
not run) and dedup, and must validate, so the comparison cannot drift from the recipe."""

from __future__ import annotations

from pathlib import Path

import yaml

from benchmarks.pipeline import RECIPE, TIMEOUT_S, curator_manifest, write_yaml
from curator.manifest import load


def test_the_benchmark_runs_the_fineweb_recipe(tmp_path):
    spec = yaml.safe_load(RECIPE.read_text())
    files = [Path(__file__).resolve().parents[1] / "manifests" / "sample" / "web.warc.gz"]
    written = curator_manifest(files, tmp_path / "out")
    assert written["extract"] == {**spec["extract"], "timeout_s": TIMEOUT_S}  # the one override, on both sides
    assert written["dedup"] == spec["dedup"]
    assert written["stages"] == [s for s in spec["stages"] if "pii" not in s]
    assert [next(iter(s)) for s in written["stages"]] == [
        "url_blocklist", "langid", "gopher_repetition", "gopher_quality", "c4", "fineweb_quality"]
    m = load(str(write_yaml(written, tmp_path / "m.yaml")))
    assert m.extract.timeout_s == TIMEOUT_S and m.extract.favor_precision
    assert not m.dedup.exact and not m.dedup.minhash.verify
    assert (m.dedup.minhash.bands, m.dedup.minhash.rows, m.dedup.minhash.ngram) == (14, 8, 5)
