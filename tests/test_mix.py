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
