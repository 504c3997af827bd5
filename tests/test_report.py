"""report.html without a browser: every score column gets a histogram with the thresholds
its stage declares, whatever stages a run had; text is escaped; the plots are placed right."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import yaml
from pydantic import Field

from curator import runstats
from curator.plots import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, histogram_svg
from curator.report import SECTIONS
from curator.schema import DOC_SCHEMA, with_columns
from stages.base import Stage, StageSettings, Threshold

HOSTILE = '</pre><script>document.title="pwned";window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


class FakeToxicity(Stage):
    """Stands for a stage another module adds: one score column and a maximum."""

    name = "toxicity"

    class Settings(StageSettings):
        max_score: float = Field(default=0.5)

    @classmethod
    def thresholds(cls, settings):
        return {"toxicity_score": [Threshold("<=", cls._settings(settings).max_score, "toxic")]}


def make_run(root: Path, monkeypatch) -> tuple[Path, list[float | None]]:
    """A run directory where only the annotate phase has finished, with a new score column."""
    import stages

    real = stages.registry
    monkeypatch.setattr(stages, "registry", lambda: {**real(), "toxicity": FakeToxicity})
    run = root / "partial"
    rng = np.random.default_rng(1)
    n = 200
    tox = [None if i % 10 == 0 else float(x) for i, x in enumerate(rng.random(n))]
    # pages too short for Gopher are the ones without a toxicity score
    words = [5 if t is None else int(x) for t, x in zip(tox, rng.integers(20, 400, n))]
    schema = with_columns(DOC_SCHEMA, {"toxicity_score": pa.float64(), "gopher_words": pa.int64(),
                                       "dup_cluster_id": pa.int64(), "n_tokens": pa.int64()})
    rows = []
    for i in range(n):
        reason = "toxicity.toxic" if tox[i] is not None and tox[i] > 0.4 else (
            "gopher_quality.word_count" if words[i] < 20 else None)
        rows.append({"id": f"doc-{i:04d}", "source": "s", "kind": "warc", "domain": "web", "url": f"https://x.example/{i}",
                     "text": "words " * 5, "lang": "en", "lang_score": None, "meta": [], "drop_reason": reason,
                     "toxicity_score": tox[i], "gopher_words": words[i], "dup_cluster_id": i, "n_tokens": 7})
    (run / "annotated").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), run / "annotated" / "part-00000.parquet")
    kept = sum(r["drop_reason"] is None for r in rows)
    dropped: dict[str, int] = {}
    for r in rows:
        if r["drop_reason"]:
            dropped[r["drop_reason"]] = dropped.get(r["drop_reason"], 0) + 1
    (run / "stats").mkdir()
    (run / "stats" / "annotated.json").write_text(json.dumps({
        "docs_in": n, "kept": kept, "dropped": dropped,
        "domains": {"web": {"docs_in": n, "kept": kept, "dropped": dropped, "chars_kept": 0}}}))
    (run / "manifest.lock.yaml").write_text(yaml.safe_dump({"run": "partial", "stages": [
        {"toxicity": {"max_score": 0.4}}, {"gopher_quality": {"min_doc_words": 20}}]}))
    (run / "rejected").mkdir()
    hostile = {"id": HOSTILE, "url": 'javascript:alert(1)"><script>window.__pwned=3</script>', "domain": "web",
               "source": "s", "lang": "en<b>", "text": HOSTILE, "drop_reason": "toxicity.toxic", "toxicity_score": 0.9}
    (run / "rejected" / "toxicity.toxic.jsonl").write_text(json.dumps(hostile) + "\n")
    return run, tox


def test_every_numeric_score_column_gets_a_histogram_with_its_stage_thresholds(tmp_path, monkeypatch):
    run, tox = make_run(tmp_path, monkeypatch)
    hists = {h["column"]: h for h in runstats.score_histograms(run)}
    # ids, counts and all-null columns are not scores
    assert set(hists) == {"toxicity_score", "gopher_words"}
    t = hists["toxicity_score"]
    values = np.array([x for x in tox if x is not None])
    assert sum(t["kept"]) + sum(t["dropped"]) == len(values) and t["null"] == tox.count(None)
    edges = np.array(t["edges"])
    assert edges[0] <= values.min() and edges[-1] >= values.max()
    # every dropped value is above the maximum: no dropped count in a bin wholly below it
    below = edges[1:] <= 0.4
    assert not np.array(t["dropped"])[below].any() and np.array(t["kept"])[below].sum() > 0
    assert t["thresholds"] == [["<=", 0.4, "toxicity.toxic", "toxicity"]]
    g = hists["gopher_words"]
    assert [x[:3] for x in g["thresholds"]] == [[">=", 20.0, "gopher_quality.word_count"],
                                                 ["<=", 100000.0, "gopher_quality.word_count"]]
    assert sum(g["kept"]) + sum(g["dropped"]) == 200


def test_report_of_a_partial_run_has_every_section_and_escapes_documents(tmp_path, monkeypatch):
    from curator.cli import main

    run, _ = make_run(tmp_path, monkeypatch)
    assert main(["report", str(run)]) == 0  # regenerated from the run directory alone
    page = (run / "report.html").read_text()
    for key in SECTIONS:
        assert f"<section id='{key}'>" in page, key
    assert "The mix phase has not run." in page and "No shards written yet." in page
    assert re.search(r'<svg class="plot"[^>]*aria-label="toxicity_score"', page)
    assert "toxicity.toxic: keep &lt;= 0.4" in page  # the threshold line's tooltip
    # nothing from a document reaches the page as markup
    assert "<script" not in page and "<img" not in page and "javascript:alert(1)\"" not in page
    assert "&lt;script&gt;document.title=&#34;pwned&#34;" in page  # Jinja2's autoescape (markupsafe)
    assert "en&lt;b&gt;" in page
    assert "toxicity_score = 0.9" in page  # the score that made the rule fire, in the sample's summary


def test_demo_report_draws_every_score_column_and_its_manifest_thresholds(demo_run):
    m, _, _ = demo_run
    page = (m.run_dir / "report.html").read_text()
    schema = ds.dataset(str(m.run_dir / "annotated"), format="parquet").schema
    cols = runstats.score_columns(schema)
    assert {"lang_score", "gopher_words", "gopher_stop_words"} <= set(cols)
    values = ds.dataset(str(m.run_dir / "annotated"), format="parquet").to_table(columns=cols)
    for col in [c for c in cols if values.column(c).null_count < values.num_rows]:  # a column with values
        assert f'aria-label="{col}"' in page, col
    assert "min 50" in page and "min 0.65" in page  # gopher's default, the demo's langid setting
    for n in (512, 2048):  # document lengths with the window drawn, per sequence length
        assert f"document lengths, window {n} tokens" in page
        assert f"window {n}: keep &lt;= {n.bit_length() - 1}</title>" in page  # the window line, log2 axis
    hists = {h["column"]: h for h in runstats.score_histograms(m.run_dir)}
    table = ds.dataset(str(m.run_dir / "annotated"), format="parquet").to_table(columns=["gopher_words", "drop_reason"])
    scored = [(w, r) for w, r in zip(table.column("gopher_words").to_pylist(), table.column("drop_reason").to_pylist())
              if w is not None]
    assert sum(hists["gopher_words"]["kept"]) == sum(r is None for _, r in scored)
    assert sum(hists["gopher_words"]["dropped"]) == sum(r is not None for _, r in scored)


def test_histogram_places_thresholds_and_escapes_labels():
    svg = histogram_svg([0, 2.5, 5, 7.5, 10], {"kept": [1, 2, 3, 4], "dropped": [0, 0, 0, 5]}, "a<b",
                        [(">=", 5.0, "r.min"), ("<=", 1e6, "r.max")])
    assert "a&lt;b" in svg and "a<b" not in svg
    lines = re.findall(r'<line class="threshold" x1="([\d.]+)"', svg)
    plot_w = WIDTH - LEFT - RIGHT
    assert float(lines[0]) == round(LEFT + plot_w / 2, 2) and float(lines[1]) == round(LEFT + plot_w, 2)
    assert "max 1M (off scale)" in svg
    heights = [float(h) for h in re.findall(r'class="bar"[^>]* height="([\d.]+)"', svg)]
    assert len(heights) == 5  # one bar per non-zero count
    assert abs(heights[-2] + heights[-1] - (HEIGHT - TOP - BOTTOM)) < 0.02  # the tallest stack fills the plot
    assert abs(heights[0] * 9 - (HEIGHT - TOP - BOTTOM)) < 0.05


def test_axis_range_widens_to_near_thresholds_only():
    assert runstats.axis_range(0.88, 1.0, [0.65]) == (0.65, 1.0)
    assert runstats.axis_range(26, 574, [50, 100_000]) == (26, 574)
    assert runstats.axis_range(0.0, 0.0, [0.3]) == (0.0, 0.3)


def test_every_template_value_is_redacted_escaped_and_made_visible_by_default():
    """report.html is rendered by Jinja2 with autoescape and a `finalize` that masks secrets
    and escapes control characters, so a value a template shows without any filter is safe;
    only markup report.py marks as such (the plots) passes, and the `url`/`body` filters keep
    a document's query string and lines."""
    from markupsafe import Markup

    from curator.report import _environment

    env = _environment()
    leak = "see https://user:s3cr3t-pw@host.example/a.warc.gz?X-Amz-Signature=tok-9f8e7d <b>\x1b[2J"
    out = env.from_string("{{ x }}|{{ n }}|{{ nothing }}|{{ svg }}").render(x=leak, n=1234, nothing=None, svg=Markup("<svg/>"))
    assert out == ("see https://***@host.example/a.warc.gz?X-Amz-Signature=*** &lt;b&gt;\\x1b[2J|1234||<svg/>")
    assert env.from_string("{{ u | url }}").render(u="https://u:pw@x.example/p?q=1&r=<2>") == \
        "https://***@x.example/p?q=1&amp;r=&lt;2&gt;"
    assert env.from_string("<pre>{{ t | body }}</pre>").render(t="a\r\n<b>\tc\x07") == "<pre>a\n&lt;b&gt;\tc\\x07</pre>"
