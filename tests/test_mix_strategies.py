"""Mixture strategies (natural, temperature, UniMax), epoch warnings, sweep and fit (no Spark)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from curator.cli import main
from curator.errors import InputError, ManifestError
from curator.manifest import MixtureSettings
from curator.mix_fit import dirichlet_mixtures, propose, read_results
from curator.mix_strategies import strategy_weights, unimax_allocation
from stages.mix import plan


def test_unimax_follows_algorithm_1_of_the_paper():
    # Chung et al. 2023, Algorithm 1: languages in ascending size; each takes the remaining
    # budget split evenly over those left, or N epochs of its data when that is less.
    # Budget 1000, N = 4: a (10) -> min(250, 40) = 40; b (50) -> min(960/3 = 320, 200) = 200;
    # c (300) -> min(760/2 = 380, 1200) = 380; d (1000) -> 380.
    got = unimax_allocation({"d": 1000, "a": 10, "c": 300, "b": 50}, 1000, 4)
    assert got == pytest.approx({"a": 40, "b": 200, "c": 380, "d": 380})
    # a budget every domain can meet is uniform; one beyond every cap gives N epochs each
    assert unimax_allocation({"a": 10, "b": 50}, 40, 4) == pytest.approx({"a": 20, "b": 20})
    assert unimax_allocation({"a": 10, "b": 50}, 10_000, 4) == pytest.approx({"a": 40, "b": 200})


def test_natural_and_temperature_weights():
    avail = {"web": 900, "code": 100, "off": 500}
    w = {"web": 1, "code": 1, "off": 0}  # weight 0: left out under every strategy
    assert strategy_weights("natural", avail, w) == pytest.approx({"web": 0.9, "code": 0.1, "off": 0})
    assert strategy_weights("temperature", avail, w, tau=1) == pytest.approx({"web": 0.9, "code": 0.1, "off": 0})
    assert strategy_weights("temperature", avail, w, tau=2) == pytest.approx({"web": 0.75, "code": 0.25, "off": 0})
    flat = strategy_weights("temperature", avail, w, tau=1000)
    assert flat["web"] == pytest.approx(0.5, abs=0.01) and flat["off"] == 0
    assert strategy_weights("temperature", {"a": 10**15, "b": 1}, {"a": 1, "b": 1}, tau=0.01)["b"] == 0.0


def test_plan_uses_the_strategy_and_unimax_stays_within_its_epochs():
    avail = {"a": 10, "b": 50, "c": 300, "d": 1000}
    p = plan(avail, MixtureSettings(weights=dict.fromkeys(avail, 1.0), strategy="unimax", budget_tokens=1000))
    assert {d: x.target_tokens for d, x in p.items()} == {"a": 40, "b": 200, "c": 380, "d": 380}
    assert p["a"].rate == pytest.approx(4.0) and p["d"].rate == pytest.approx(0.38)
    p = plan(avail, MixtureSettings(weights=dict.fromkeys(avail, 1.0), strategy="unimax", unimax_epochs=1))
    # no budget: one pass over the corpus (1360 tokens), at most one epoch of any domain
    assert max(x.rate for x in p.values()) <= 1 + 1e-9 and sum(x.target_tokens for x in p.values()) == 1360
    with pytest.raises(ManifestError, match="max_epochs"):
        plan(avail, MixtureSettings(weights=dict.fromkeys(avail, 1.0), strategy="unimax", budget_tokens=10_000))


def _fake_run(tmp_path, weights, tokens, docs):
    """A manifest and the tokenize statistics `mix plan` reads, without running anything."""
    data = {"run": "r", "sources": [{"name": d, "kind": "code", "inputs": [d], "domain": d, "licenses": ["*"]}
                                    for d in weights],
            "mixture": {"weights": weights, "max_epochs": 8}, "output": {"dir": str(tmp_path / "runs")}}
    for d in weights:
        (tmp_path / d).mkdir()
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data))
    stats = tmp_path / "runs" / "r" / "stats"
    stats.mkdir(parents=True)
    (stats / "tokenized.json").write_text(json.dumps(
        {"domains": {d: {"tokens_kept": tokens[d], "kept": docs[d]} for d in weights}}))
    return path


def test_mix_plan_strategies_warn_above_4_epochs_and_refuse_above_the_cap(tmp_path, capsys):
    path = _fake_run(tmp_path, {"web": 0.5, "code": 0.3, "wiki": 0.2},
                     {"web": 9000, "code": 1000, "wiki": 500}, {"web": 90, "code": 10, "wiki": 5})
    assert main(["mix", "plan", str(path), "--budget", "10500", "--strategy", "natural",
                 "--strategy", "temperature", "--tau", "3", "--strategy", "unimax"]) == 0
    out = capsys.readouterr().out
    assert "natural" in out and "temperature 3" in out and "unimax" in out
    # the manifest's weights: wiki 0.2 * 10500 = 2100 of 500 tokens = 4.2 epochs, warned about
    assert "warning: [manifest] domain 'wiki' is repeated 4.20 times" in out
    assert "error:" not in out
    assert main(["mix", "plan", str(path), "--budget", "30000"]) == 2  # wiki at 12 epochs > 8
    assert "error: [manifest] domain 'wiki' needs 12.00 epochs" in capsys.readouterr().out
    assert main(["mix", "plan", str(path), "--strategy", "zipf"]) == 2
    assert "--strategy 'zipf': use one of weights, natural" in capsys.readouterr().err


def _law(r, T, k):
    return 2.0 + (k[None, :] * np.exp(r @ T.T)).sum(1)


@pytest.mark.slow
def test_fit_recovers_the_optimum_of_a_noisy_mixing_law_and_respects_bounds():
    from scipy.optimize import minimize

    rng = np.random.default_rng(3)
    n = 3
    T, k = -np.eye(n) * 4 + rng.normal(0, 0.3, (n, n)), rng.uniform(0.5, 1.5, n)
    mixes = dirichlet_mixtures({"a": 0.5, "b": 0.3, "c": 0.2}, 64, 0, 10.0)
    r = np.array([[m[d] for d in "abc"] for m in mixes])
    y = _law(r, T, k)
    y = y + rng.normal(0, 0.05 * y.std(), len(y))
    cons = [{"type": "eq", "fun": lambda x: x.sum() - 1}]
    true = minimize(lambda x: _law(x[None], T, k)[0], np.full(n, 1 / n), method="SLSQP",
                    bounds=[(0, 1)] * n, constraints=cons).x
    p = propose(list("abc"), r, y, {}, {}, seed=0)
    got = np.array([p.weights[d] for d in "abc"])
    assert 0.5 * np.abs(got - true).sum() < 0.05 and p.r2_heldout > 0.9
    assert p.predicted == pytest.approx(_law(true[None], T, k)[0], abs=0.05 * y.std() * 4)
    bounded = propose(list("abc"), r, y, {"c": 0.5}, {"a": 0.2}, seed=0, bootstrap=2)
    assert bounded.weights["c"] >= 0.5 - 1e-9 and bounded.weights["a"] <= 0.2 + 1e-9
    assert sum(bounded.weights.values()) == pytest.approx(1.0)
    high = propose(list("abc"), r, -y, {}, {}, maximize=True, seed=0, bootstrap=2)  # a score: higher is better
    assert 0.5 * np.abs(np.array([high.weights[d] for d in "abc"]) - true).sum() < 0.05
    with pytest.raises(ManifestError, match="constraints"):
        propose(list("abc"), r, y, {"a": 0.6, "b": 0.6}, {}, seed=0)


@pytest.mark.slow
def test_sweep_csv_round_trip_and_bad_results_files(tmp_path, capsys):
    run = tmp_path / "run"
    (run / "stats").mkdir(parents=True)
    plan_ = {"a": {"weight": 0.5, "available_tokens": 1000, "target_tokens": 1000},
             "b": {"weight": 0.3, "available_tokens": 300, "target_tokens": 600},
             "c": {"weight": 0.2, "available_tokens": 10000, "target_tokens": 400}}
    (run / "stats" / "mixed.json").write_text(json.dumps({"plan": plan_, "max_epochs": 3}))
    assert main(["mix", "sweep", str(run), "-n", "40", "--seed", "1"]) == 0
    sweep = run / "sweep"
    lines = (sweep / "sweep.csv").read_text().splitlines()
    assert lines[0] == "mixture,a,b,c,result" and len(lines) == 41
    assert lines[1].startswith("mix-0000,0.500000,0.300000,0.200000")
    blends = [json.loads((sweep / f"mix-{i:04d}.json").read_text())["weights"] for i in range(40)]
    # b has 300 tokens of a 2000-token budget: at most 3 epochs = weight 0.45
    assert max(w["b"] for w in blends) <= 0.45 + 1e-9 and len({round(w["a"], 6) for w in blends}) == 40
    first = (sweep / "sweep.csv").read_bytes()
    assert main(["mix", "sweep", str(run), "-n", "40", "--seed", "1"]) == 0
    assert (sweep / "sweep.csv").read_bytes() == first  # same seed, same mixtures

    rng = np.random.default_rng(0)
    T, k = -np.eye(3) * 4 + rng.normal(0, 0.3, (3, 3)), rng.uniform(0.5, 1.5, 3)
    rows = [lines[0]]
    for line in lines[1:]:
        name, *w, _ = line.split(",")
        rows.append(",".join([name, *w, f"{_law(np.array([[float(x) for x in w]]), T, k)[0]:.6f}"]))
    (sweep / "sweep.csv").write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    assert main(["mix", "fit", str(sweep / "sweep.csv"), "--min", "c=0.1"]) == 0
    out = capsys.readouterr().out
    assert "held-out R^2" in out and "predicted result" in out
    prop = json.loads((sweep / "proposal.json").read_text())
    assert prop["weights"]["b"] <= 0.45 + 1e-9 and prop["weights"]["c"] >= 0.1 - 1e-9

    (tmp_path / "few.csv").write_text("mixture,a,b,result\nm0,0.5,0.5,1.0\n")
    with pytest.raises(InputError, match="at least 8"):
        read_results(tmp_path / "few.csv")
    (tmp_path / "bad.csv").write_text("mixture,a,b,result\nm0,0.5,x,1.0\n")
    with pytest.raises(InputError, match=r"bad.csv:2: weights and result must be numbers"):
        read_results(tmp_path / "bad.csv")
    assert main(["mix", "fit", str(tmp_path / "nothing.csv")]) == 2
    assert main(["mix", "fit", str(sweep / "sweep.csv"), "--max", "z=0.5"]) == 2


def test_export_needs_per_domain_shards_and_says_so(tmp_path, capsys):
    run = tmp_path / "run"
    (run / "stats").mkdir(parents=True)
    assert main(["mix", "export", str(run), "--to", "megatron"]) == 2
    assert "run the mix phase first" in capsys.readouterr().err
    (run / "stats" / "mixed.json").write_text(json.dumps({"plan": {"a": {"weight": 1.0}}}))
    (run / "shards").mkdir()
    (run / "shards" / "manifest.json").write_text(json.dumps({"formats": ["megatron"], "seq_lens": {}}))
    assert main(["mix", "export", str(run), "--to", "megatron"]) == 2
    assert "set shards.per_domain: true" in capsys.readouterr().err
    (run / "shards" / "manifest.json").write_text(json.dumps({"formats": ["megatron"], "domains": {"a": {}}}))
    assert main(["mix", "export", str(run), "--to", "megatron"]) == 2
    assert "shards are incomplete" in capsys.readouterr().err
    assert main(["mix", "export", str(run), "--to", "hf"]) == 2
    assert "has no parquet shards; add 'parquet' to shards.formats" in capsys.readouterr().err
    (run / "shards" / "manifest.json").write_text("{not json")
    assert main(["mix", "export", str(run), "--to", "olmo"]) == 2
    assert "not the JSON curator writes" in capsys.readouterr().err


def test_rehydration_repeats_documents_of_larger_clusters_and_lands_on_target(spark):
    from pyspark.sql import functions as F

    from stages.mix import apply_mixture, calibrate_thresholds, compute_plan, rehydration_copies

    n = 3000
    df = spark.range(n).select(
        F.concat(F.lit("doc-"), F.col("id").cast("string")).alias("id"),
        F.lit("web").alias("domain"),
        (F.col("id") % 200 + 1).alias("n_tokens"),
        F.when(F.col("id") % 10 == 0, 5).when(F.col("id") % 10 == 1, 50).otherwise(1).cast("long").alias("dup_cluster_size"),
        F.when(F.col("id") % 10 == 2, 3).cast("long").alias("minhash_cluster_size"),  # null elsewhere
        F.lit(None).cast("string").alias("drop_reason"),
    )
    pooled = rehydration_copies(df, {2: 2, 10: 3, 20: 0})
    copies = {r["id"]: r["rehydration"] for r in pooled.select("id", "rehydration").collect()}
    assert (copies["doc-10"], copies["doc-11"], copies["doc-12"], copies["doc-13"]) == (2, 0, 2, 1)
    avail = pooled.select(F.sum(F.col("n_tokens") * F.col("rehydration"))).first()[0]
    p = compute_plan({"web": avail}, {"web": 1.0}, int(avail * 0.6), 4)
    out = apply_mixture(pooled, p, 1, calibrate_thresholds(pooled, p, 1))
    got = out.select(F.sum(F.col("n_tokens") * F.col("repeats"))).first()[0]
    assert abs(got - p["web"].target_tokens) <= 2 * 200  # one pooled document: 2 copies of <= 200 tokens
    rep = {r["id"]: r["repeats"] for r in out.select("id", "repeats").collect()}
    assert all(rep[f"doc-{i}"] == 0 for i in range(1, n, 10))  # clusters of 50: 0 copies
    assert {rep[f"doc-{i}"] for i in range(0, n, 10)} == {0, 2}  # clusters of 5: both copies or none


def test_hierarchical_domains_mix_groups_to_their_share_of_the_domain(spark, demo_run, tmp_path):
    """The demo's run, copied, re-mixed with web split into length bins (q1 : q2 = 3 : 1, q3
    not named): each group lands within one document of its target, the domain counts
    between phases and the shards still add up, the unnamed group is dropped as
    mix.weight_zero, and the groups reach the stats."""
    import shutil

    import pyarrow.parquet as pq

    from curator.pipeline import Pipeline
    from curator.runstats import collect

    m, _, _ = demo_run
    shutil.copytree(m.run_dir, tmp_path / m.run)
    tok = pq.read_table(m.run_dir / "tokenized").to_pylist()
    lengths = sorted(r["n_tokens"] for r in tok if r["drop_reason"] is None and r["domain"] == "web")
    edges = [float(lengths[len(lengths) // 3]), float(lengths[2 * len(lengths) // 3])]
    assert len(lengths) >= 6 and edges[0] < edges[1]
    grouped = m.model_copy(deep=True)
    grouped.output.dir = str(tmp_path)
    grouped.mixture = MixtureSettings(**{**m.mixture.model_dump(), "groups": {
        "web": {"by": "n_tokens", "bins": edges, "weights": {"q1": 3.0, "q2": 1.0}}}})
    Pipeline(grouped, spark=spark, log=lambda s: None).run()
    info = collect(tmp_path / m.run)
    assert info["accounting_problems"] == []
    mixed = json.loads((tmp_path / m.run / "stats" / "mixed.json").read_text())
    groups = mixed["groups"]
    assert set(groups) == {"web/q1", "web/q2", "code"}
    assert groups["web/q1"]["target_tokens"] == pytest.approx(3 * groups["web/q2"]["target_tokens"], rel=0.01)
    biggest = max(r["n_tokens"] for r in tok if r["n_tokens"] is not None)
    for name, g in groups.items():
        assert abs(g["realised_tokens"] - g["target_tokens"]) <= biggest, (name, g)
    assert mixed["plan"]["web"]["target_tokens"] == groups["web/q1"]["target_tokens"] + groups["web/q2"]["target_tokens"]
    rows = pq.read_table(tmp_path / m.run / "mixed").to_pylist()
    for r in rows:
        if r["domain"] != "web":
            assert r["mix_group"] == r["domain"]
            continue
        q = "q1" if r["n_tokens"] < edges[0] else "q2" if r["n_tokens"] < edges[1] else "q3"
        assert r["mix_group"] == f"web/{q}"
        if q == "q3":
            assert r["drop_reason"] == "mix.weight_zero", r["id"]
    shown = {row["domain"] for row in info["mixture"]}
    assert {"web", "code", "web/q1", "web/q2"} <= shown


def test_groups_must_name_domains_and_bins():
    from curator.manifest import MixtureSettings

    with pytest.raises(ValueError, match="not domains of mixture.weights"):
        MixtureSettings(weights={"web": 1.0}, groups={"wbe": {"by": "lang", "weights": {"en": 1.0}}})
    with pytest.raises(ValueError, match="q1 .. q3"):
        MixtureSettings(weights={"web": 1.0}, groups={"web": {"by": "quality_score", "bins": [0.3, 0.6],
                                                              "weights": {"q4": 1.0}}})
    ok = MixtureSettings(weights={"web": 1.0}, groups={"web": {"by": "quality_score", "bins": [0.3, 0.6],
                                                               "weights": {"q3": 2.0, "q2": 1.0}}})
    from stages.mix_groups import flat_weights

    assert flat_weights(ok.weights, ok.groups) == {"web/q3": 2 / 3, "web/q2": 1 / 3}
