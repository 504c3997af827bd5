"""Mixture: targets from weights and budget, epoch cap, deterministic sampling near target."""

from __future__ import annotations

import pytest

from curator.errors import ManifestError
from curator.manifest import MixtureSettings
from stages.mix import apply_mixture, plan


def test_default_budget_uses_scarcest_domain_once():
    p = plan({"web": 1000, "code": 100}, MixtureSettings(weights={"web": 0.8, "code": 0.2}))
    assert p["code"].target_tokens == 100 and p["code"].rate == pytest.approx(1.0)
    assert p["web"].target_tokens == 400 and p["web"].rate == pytest.approx(0.4)


def test_weights_are_normalised_and_budget_respected():
    p = plan({"web": 1000, "code": 100}, MixtureSettings(weights={"web": 3, "code": 1}, budget_tokens=400))
    assert (p["web"].target_tokens, p["code"].target_tokens) == (300, 100)


def test_upsampling_within_cap_and_refused_beyond():
    ok = plan({"web": 1000, "code": 100}, MixtureSettings(weights={"web": 0.5, "code": 0.5}, budget_tokens=600, max_epochs=3))
    assert ok["code"].rate == pytest.approx(3.0)
    with pytest.raises(ManifestError, match=r"domain 'code' needs 4.00 epochs .*max_epochs is 3.0"):
        plan({"web": 1000, "code": 100}, MixtureSettings(weights={"web": 0.5, "code": 0.5}, budget_tokens=800, max_epochs=3))


def test_weighted_domain_without_tokens_is_an_error():
    with pytest.raises(ManifestError, match="mixture.weights.code"):
        plan({"web": 1000, "code": 0}, MixtureSettings(weights={"web": 0.5, "code": 0.5}))


def test_sampling_is_deterministic_and_lands_near_target(spark):
    from pyspark.sql import functions as F

    n = 20000
    df = spark.range(n).select(
        F.concat(F.lit("doc-"), F.col("id").cast("string")).alias("id"),
        F.when(F.col("id") % 4 == 0, "code").otherwise("web").alias("domain"),
        F.lit(100).cast("long").alias("n_tokens"),
        F.lit(None).cast("string").alias("drop_reason"),
    )
    available = {"web": 15000 * 100, "code": 5000 * 100}
    p = plan(available, MixtureSettings(weights={"web": 0.5, "code": 0.5}, budget_tokens=1_200_000, seed=7))
    # web: 600k of 1.5M tokens (rate 0.4); code: 600k of 500k (rate 1.2: every doc once, 20% twice)
    out = apply_mixture(df, p, seed=7)
    got = {r["domain"]: r["t"] for r in out.groupBy("domain").agg(F.sum(F.col("n_tokens") * F.col("repeats")).alias("t")).collect()}
    for d in ("web", "code"):
        assert abs(got[d] - p[d].target_tokens) / p[d].target_tokens < 0.03, (d, got[d])
    assert out.where("domain = 'code' and repeats = 0").count() == 0
    assert out.where("repeats = 0").where(F.col("drop_reason") != "mix.downsampled").count() == 0
    again = apply_mixture(df, p, seed=7).select("id", "repeats").orderBy("id").collect()
    assert again == out.select("id", "repeats").orderBy("id").collect()
    other = apply_mixture(df, p, seed=8).select("id", "repeats").orderBy("id").collect()
    assert other != again


# -- calibrated sampling, the plan command, and a run that realises its plan -------------
import json  # noqa: E402
import re  # noqa: E402

from curator.cli import main  # noqa: E402
from stages.mix import calibrate_thresholds, compute_plan, pick_threshold  # noqa: E402


def test_pick_threshold_comes_closest_to_the_goal():
    rows = [(0.30, "c", 50), (0.10, "a", 100), (0.20, "b", 100)]
    assert pick_threshold(rows, before=0, goal=190, upper=0.5) == 0.30  # a + b = 200
    assert pick_threshold(rows, before=0, goal=140, upper=0.5) == 0.20  # a = 100 (b would give 200)
    assert pick_threshold(rows, before=0, goal=160, upper=0.5) == 0.30  # a + b = 200 beats 100
    assert pick_threshold(rows, before=0, goal=1000, upper=0.5) == 0.5  # the whole bucket
    assert pick_threshold(rows, before=900, goal=910, upper=0.5) == 0.10


def test_over_cap_is_flagged_by_compute_plan_and_refused_by_plan():
    p = compute_plan({"web": 1000, "code": 100}, {"web": 0.5, "code": 0.5}, 1000, max_epochs=4)
    assert p["code"].over_cap and p["code"].rate == pytest.approx(5.0) and not p["web"].over_cap
    assert p["code"].extra_tokens == 0 and p["web"].extra_tokens == 500


def test_calibrated_sampling_lands_within_one_document(spark):
    from pyspark.sql import functions as F

    n = 6000  # documents of 1..400 tokens: plain Bernoulli sampling would miss by several %
    df = spark.range(n).select(
        F.concat(F.lit("doc-"), F.col("id").cast("string")).alias("id"),
        F.when(F.col("id") % 3 == 0, "code").otherwise("web").alias("domain"),
        (F.abs(F.xxhash64(F.col("id"))) % 400 + 1).alias("n_tokens"),
        F.lit(None).cast("string").alias("drop_reason"),
    )
    available = {r["domain"]: r["t"] for r in df.groupBy("domain").agg(F.sum("n_tokens").alias("t")).collect()}
    p = plan(available, MixtureSettings(weights={"web": 0.45, "code": 0.55}, budget_tokens=int(1.6 * available["code"] / 0.55), seed=3))
    assert 0 < p["web"].rate < 1 < p["code"].rate < 2
    thresholds = calibrate_thresholds(df, p, seed=3)
    out = apply_mixture(df, p, 3, thresholds)
    got = {r["domain"]: r["t"] for r in out.groupBy("domain").agg(F.sum(F.col("n_tokens") * F.col("repeats")).alias("t")).collect()}
    for d in ("web", "code"):
        assert abs(got[d] - p[d].target_tokens) <= 200, (d, got[d], p[d].target_tokens)  # half the longest doc
    assert calibrate_thresholds(df, p, seed=3) == thresholds


def _write_corpus(root, rng, n_files: int, ext: str, words: list[str]) -> None:
    repo = root / "repo"
    repo.mkdir(parents=True)
    for i in range(n_files):
        k = int(rng.integers(10, 300))
        picked = list(rng.choice(words, size=k))
        # short lines: one long line would be dropped as a minified file by the code source
        text = "\n".join(" ".join(picked[j:j + 12]) for j in range(0, k, 12)) + f"\nfile {i}\n"
        (repo / f"f{i:05d}{ext}").write_text(text)


def test_mix_plan_and_a_run_that_realises_it(spark, tmp_path, capsys):
    """tiktoken cl100k_base end to end on a synthetic two-domain corpus: `mix plan` shows the
    epochs each weight set implies, and the run lands on the planned tokens within 1%."""
    import csv
    import gzip
    import warnings

    import numpy as np
    import pyarrow.parquet as pq
    import tiktoken
    import yaml
    from tiktoken.load import load_tiktoken_bpe

    from curator.assets import resolve
    from curator.manifest import load
    from curator.pipeline import Pipeline
    from stages.tokenize import TIKTOKEN_ENCODINGS

    rng = np.random.default_rng(0)
    words = ["data", "Spark", "token", "über", "naïve", "東京", "x=1;", "return", "def", "€42", "mixture"] + [
        "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=int(rng.integers(2, 9)))) for _ in range(400)
    ]
    _write_corpus(tmp_path / "prose", rng, 500, ".md", words)
    _write_corpus(tmp_path / "code", rng, 200, ".py", words)
    data = {
        "run": "synthetic",
        # the synthetic repositories have no LICENSE file: accept any licence
        "sources": [{"name": "p", "kind": "code", "inputs": ["prose"], "domain": "prose", "licenses": ["*"]},
                    {"name": "c", "kind": "code", "inputs": ["code"], "domain": "code", "licenses": ["*"]}],
        "mixture": {"weights": {"prose": 0.6, "code": 0.4}, "max_epochs": 3, "seed": 5},
        "tokenizer": {"path": "tiktoken:cl100k_base"},
        "shards": {"seq_lens": [256], "formats": ["megatron", "olmo"], "tokens_per_shard": 80000, "seed": 2},
        "output": {"dir": str(tmp_path / "runs"), "rejected_samples": 0},
    }
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data))

    assert main(["mix", "plan", str(path)]) == 2
    assert "curator run MANIFEST --until tokenize" in capsys.readouterr().err

    Pipeline(load(path), spark=spark, log=lambda s: None).run(until="tokenize")
    tok_stats = json.loads((tmp_path / "runs" / "synthetic" / "stats" / "tokenized.json").read_text())
    avail = {d: tok_stats["domains"][d]["tokens_kept"] for d in ("prose", "code")}
    budget = int(1.5 * avail["code"] / 0.4)  # code at 1.5 epochs
    capsys.readouterr()
    assert main(["mix", "plan", str(path), "--budget", str(budget), "--weights", "prose=0.2,code=0.8"]) == 0
    out = capsys.readouterr().out
    assert "manifest" in out and "set 1" in out
    code_row = next(line for line in out.splitlines() if line.startswith("code"))
    # the manifest's weights: 1.50 epochs of code; 0.8 of the budget would need 3.00 (allowed)
    assert "1.50" in code_row and "3.00" in code_row
    assert main(["mix", "plan", str(path), "--budget", str(budget), "--weights", "prose=0.1,code=0.9"]) == 2
    out = capsys.readouterr().out
    assert re.search(r"error: \[set 1\] domain 'code' needs 3\.3[78] epochs .* more than mixture.max_epochs 3", out), out
    assert "error: [manifest]" not in out

    data["mixture"]["budget_tokens"] = budget
    path.write_text(yaml.safe_dump(data))
    m = load(path)
    Pipeline(m, spark=spark, log=lambda s: None).run()
    mixed = json.loads((m.run_dir / "stats" / "mixed.json").read_text())
    for d in ("prose", "code"):
        target, got = mixed["plan"][d]["target_tokens"], mixed["realised"][d]["tokens"]
        assert abs(got - target) / target < 0.01, (d, got, target)
    assert mixed["plan"]["code"]["epochs"] == pytest.approx(1.5, abs=1e-3)

    # the shards hold the realised mixture, cl100k ids as int32, documents as tiktoken encodes them
    top = json.loads((m.run_dir / "shards" / "manifest.json").read_text())
    assert top["mixture"]["realised"] == mixed["realised"] and top["tokenizer"]["vocab_size"] == 100277
    entry = json.loads((m.run_dir / "shards" / "256" / "manifest.json").read_text())
    assert entry["dtype"] == {"megatron": "int32", "olmo": "uint32"} and len(entry["shards"]) >= 2
    pattern, special = TIKTOKEN_ENCODINGS["cl100k_base"]
    enc = tiktoken.Encoding("cl100k_ref", pat_str=pattern, mergeable_ranks=load_tiktoken_bpe(resolve("tiktoken:cl100k_base")),
                            special_tokens=special)
    texts = {r["id"]: r["text"] for r in pq.read_table(m.run_dir / "deduped", columns=["id", "text"]).to_pylist()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from megatron.core.datasets.indexed_dataset import IndexedDataset
    folder = m.run_dir / "shards" / "256"
    copies = 0
    for shard in entry["shards"]:
        flat = np.fromfile(folder / shard["files"]["olmo"]["files"][0], dtype=np.uint32)
        with gzip.open(folder / shard["files"]["olmo"]["files"][1], "rt") as f:
            for start, end, doc_id in csv.reader(f):
                assert flat[int(start):int(end)].tolist() == enc.encode_ordinary(texts[doc_id]) + [100257]
                copies += 1
        ds = IndexedDataset(str(folder / shard["files"]["megatron"]["files"][0]).removesuffix(".bin"))
        assert ds.index.dtype is np.int32
        np.testing.assert_array_equal(np.concatenate([ds[i] for i in range(len(ds))]), flat)
    assert copies == mixed["documents_out"]
