"""`curator card`: the datasheet's figures are the run's stats, takedowns are read when recorded,
and a run without its stats is a one-line error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from curator.card import card_data, markdown


def _stats(run_dir: Path, name: str) -> dict:
    return json.loads((run_dir / "stats" / f"{name}.json").read_text())


def _copy(run_dir: Path, to: Path) -> Path:
    """The parts of a run the card reads: its stats and its resolved manifest."""
    to.mkdir()
    shutil.copytree(run_dir / "stats", to / "stats")
    shutil.copy(run_dir / "manifest.lock.yaml", to / "manifest.lock.yaml")
    return to


def test_the_cards_figures_are_the_runs_stats(demo_run, tmp_path, capsys):
    from curator.cli import main

    m, _, _ = demo_run
    run = Path(m.run_dir)
    assert main(["card", str(run), "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("card: ") == 2
    card = json.loads((tmp_path / "card.json").read_text())
    phases = {f["phase"]: f for f in card["funnel"]}
    for phase, name in (("extract", "extracted"), ("annotate", "annotated"), ("dedup", "deduped"),
                        ("tokenize", "tokenized"), ("mix", "mixed")):
        s = _stats(run, name)
        assert (phases[phase]["docs_in"], phases[phase]["kept"], phases[phase]["dropped"]) == (s["docs_in"], s["kept"], s["dropped"])
    mixed, annotated, extracted = _stats(run, "mixed"), _stats(run, "annotated"), _stats(run, "extracted")
    assert card["tokens"]["in_mixture"] == mixed["tokens_out"] and card["tokens"]["after_dedup"] == _stats(run, "tokenized")["tokens_kept"]
    assert card["tokens"]["documents_in_mixture"] == mixed["documents_out"]
    by_stage = {s["name"]: s for s in card["stages"]}
    for reason, n in annotated["dropped"].items():  # every annotate drop is its stage's, with the same count
        assert by_stage[reason.split(".")[0]]["removed"][reason] == n
    assert by_stage["gopher_quality"]["settings"]["domains"] == ["web"]
    assert card["dedup"]["dropped"] == _stats(run, "deduped")["dropped"]
    assert card["code_licenses"] == extracted["licenses"] and sum(v["kept"] for v in card["code_licenses"].values()) > 0
    assert card["shards"]["seq_lens"]["512"]["tokens"] == _stats(run, "shards")["seq_lens"]["512"]["tokens"]
    assert card["decontamination"]["removed"] == {} and card["takedowns"]["records"] == []
    assert any("tagged, not removed" in x for x in card["limitations"])
    assert any("no web_optout stage" in x for x in card["limitations"])
    md = (tmp_path / "card.md").read_text()
    assert f"{mixed['tokens_out']:,} tokens of {mixed['documents_out']:,} documents in the mixture" in md
    assert "## Takedowns\n\nNone." in md and "## Known limitations" in md


def test_takedowns_are_read_from_the_stats_when_recorded(demo_run, tmp_path, capsys):
    from curator.cli import main

    m, _, _ = demo_run
    run = _copy(Path(m.run_dir), tmp_path / "run")
    record = {"at": "2026-01-02T03:04:05Z", "domains": ["bad.example"], "urls": [], "ids": ["x"], "documents": 3,
              "tokens": 1200, "shards_rewritten": ["512/shard-0"], "by_domain": {"web": 3}}
    (run / "stats" / "takedowns.json").write_text(json.dumps([record, {**record, "documents": 2, "tokens": 5}]))
    card = card_data(run)
    assert (card["takedowns"]["documents"], card["takedowns"]["tokens"]) == (5, 1205)
    assert "2 takedown(s): 5 documents, 1,205 tokens removed." in markdown(card)
    (run / "stats" / "takedowns.json").write_text('{"not": "a list"}')
    assert main(["card", str(run), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "takedowns.json: not a list of takedown records" in err[0]


@pytest.mark.parametrize("remove", ["stats", "stats/shards.json"])
def test_a_run_without_its_stats_is_a_one_line_error(demo_run, tmp_path, capsys, remove):
    from curator.cli import main

    m, _, _ = demo_run
    run = _copy(Path(m.run_dir), tmp_path / "run")
    target = run / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    assert main(["card", str(run), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("no stats/ folder" in err[0] or "no stats/shards.json" in err[0])
    assert not (tmp_path / "o" / "card.md").exists()
