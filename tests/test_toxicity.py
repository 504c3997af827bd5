"""Toxicity: Detoxify through its own loading code from a checkpoint built here (offline),
bad-word lists in several languages, and the URL blocklist."""

from __future__ import annotations

import socket

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from classifiers.detoxify_model import LABELS, ToxicityModel, build_tiny_checkpoint
from classifiers.url_blocklist import load_blocklist, write_sorted_list
from curator import assets
from curator.errors import EnvironmentProblem
from curator.manifest import parse
from curator.schema import DOC_SCHEMA
from stages.blocklist import UrlBlocklistFilter
from stages.toxicity import DetoxifyToxicity, ToxicWords


def batch(texts, langs=None, urls=None, domains=None) -> pa.RecordBatch:
    n = len(texts)
    rows = [{"id": str(i), "source": "s", "kind": "warc", "domain": (domains or ["web"] * n)[i],
             "url": (urls or [f"https://site.example/{i}"] * n)[i], "text": texts[i],
             "lang": (langs or ["en"] * n)[i], "lang_score": 1.0, "meta": [], "drop_reason": None}
            for i in range(n)]
    return pa.RecordBatch.from_pylist(rows, schema=DOC_SCHEMA)


# -- Detoxify ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A checkpoint in Detoxify's format, built by the project's own code (no training steps:
    this only checks the format and the loading path)."""
    d = tmp_path_factory.mktemp("detoxify")
    return build_tiny_checkpoint(d, seed=3, steps=0), d / "hf"


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_detoxify_loads_a_local_checkpoint_offline(tiny, no_network):
    ckpt, hf = tiny
    model = ToxicityModel("original", str(ckpt), str(hf), threads=1)
    # Detoxify's renaming of the `original` class names happened in its own code
    assert model.labels == ["toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"]
    texts = ["one short comment", "another, longer comment about the river and the train " * 40, "x"]
    for bs in (1, 2, 32):
        scores = model.predict(texts, batch_size=bs)
        assert set(scores) == set(model.labels)
        assert all(len(v) == 3 and all(0.0 <= x <= 1.0 for x in v) for v in scores.values())
    a, b = model.predict(texts, batch_size=1), model.predict(texts, batch_size=3)
    for label in model.labels:  # padding in a batch does not change a document's scores
        assert a[label] == pytest.approx(b[label], abs=1e-5)


def test_checkpoint_build_is_deterministic(tiny, tmp_path):
    import torch

    ckpt, _ = tiny
    again = build_tiny_checkpoint(tmp_path, seed=3, steps=0)
    a, b = torch.load(ckpt, weights_only=False), torch.load(again, weights_only=False)
    assert a["config"] == b["config"]
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


def test_detoxify_missing_or_wrong_files(tiny, tmp_path):
    ckpt, hf = tiny
    with pytest.raises(EnvironmentProblem, match="checkpoint not found: .*nothere.ckpt"):
        ToxicityModel("original", str(tmp_path / "nothere.ckpt"), str(hf))
    with pytest.raises(EnvironmentProblem, match="no config.json"):
        ToxicityModel("original", str(ckpt), str(tmp_path))
    wrong = tmp_path / "wrong.ckpt"
    wrong.write_text("not a checkpoint")
    with pytest.raises(EnvironmentProblem, match="wrong.ckpt is not a usable Detoxify checkpoint"):
        ToxicityModel("original", str(wrong), str(hf))


def test_detoxify_stage_columns_and_thresholds(tiny):
    ckpt, hf = tiny
    settings = {"checkpoint": str(ckpt), "huggingface_config": str(hf), "batch_size": 2}
    texts = ["first comment", "second comment, rather different", "a third one", "and a fourth text here"]
    scored = DetoxifyToxicity(settings).apply(batch(texts)).to_pylist()
    for r in scored:
        per_label = [r[f"detoxify_{label}"] for label in LABELS if r[f"detoxify_{label}"] is not None]
        assert len(per_label) == 6 and r["detoxify_sexual_explicit"] is None  # not an `original` label
        assert r["toxicity_score"] == max(per_label) and r["drop_reason"] is None
    # a threshold between the scores drops exactly the documents above it, named by label
    values = sorted(r["detoxify_insult"] for r in scored)
    limit = (values[1] + values[2]) / 2
    out = DetoxifyToxicity({**settings, "max_scores": {"insult": limit}}).apply(batch(texts)).to_pylist()
    assert [r["drop_reason"] for r in out] == [
        "detoxify.insult" if r["detoxify_insult"] > limit else None for r in scored
    ]
    # rows already dropped by an earlier stage are not scored
    b = batch(texts)
    b = b.set_column(b.schema.get_field_index("drop_reason"), "drop_reason",
                     pa.array(["gopher_quality.word_count", None, None, None]))
    first = DetoxifyToxicity(settings).apply(b).to_pylist()[0]
    assert first["toxicity_score"] is None and first["drop_reason"] == "gopher_quality.word_count"


def test_detoxify_labels_are_validated_in_the_manifest():
    data = {"run": "r", "sources": [{"name": "s", "kind": "code", "inputs": ["."], "domain": "web"}],
            "mixture": {"weights": {"web": 1}}, "stages": [{"detoxify": {"max_scores": {"rudeness": 0.5}}}]}
    with pytest.raises(Exception, match="rudeness"):
        parse(data, base_dir=".")


def test_demo_asset_model_flags_insults():
    """The demo's tiny model was trained a little (seeded) so its scores respond to insults."""
    if not assets.is_fetched("detoxify_tiny"):
        pytest.skip("run `curator assets fetch`")
    stage = DetoxifyToxicity({"max_scores": {"toxicity": 0.5}})
    out = stage.apply(batch(["we like the garden in may", "you stupid idiot, i will kill you"])).to_pylist()
    assert out[0]["toxicity_score"] < 0.5 < out[1]["toxicity_score"]
    assert [r["drop_reason"] for r in out] == [None, "detoxify.toxicity"]


def test_demo_run_has_detoxify_scores_for_every_kept_document(demo_run):
    m, _, _ = demo_run
    rows = pq.read_table(m.run_dir / "annotated").to_pylist()
    kept_web = [r for r in rows if r["domain"] == "web" and r["drop_reason"] is None]
    assert kept_web
    for r in kept_web:
        assert r["toxicity_score"] is not None and 0.0 <= r["toxicity_score"] <= 1.0
        assert all(r[f"detoxify_{x}"] is not None for x in LABELS if x != "sexual_explicit")
        assert r["quality_score"] is not None and r["quality_score"] >= 0.5
        assert r["toxic_words"] is not None and r["blocklist_match"] is None
    # documents dropped by the cheap filters before Detoxify were never given to the model
    early = [r for r in rows if (r["drop_reason"] or "").startswith(("gopher_quality.", "langid."))]
    assert early and all(r["toxicity_score"] is None for r in early)


# -- word lists -------------------------------------------------------------------------------

WORDLISTS = {  # language: (a sentence holding a word of the LDNOOBW list, a clean sentence)
    "en": ("the man was a total asshole to everyone at the station today", "the train left the station on time today"),
    "de": ("der typ ist ein richtiges arschloch und alle wissen das", "der zug ist heute pünktlich abgefahren"),
    "fr": ("ce type est vraiment un connard avec tout le monde", "le train est parti à l'heure ce matin"),
    "es": ("ese tipo es un auténtico gilipollas con todo el mundo", "el tren salió a tiempo esta mañana"),
    "it": ("quel tipo è proprio uno stronzo con tutti quanti", "il treno è partito in orario stamattina"),
    "nl": ("die vent is echt een klootzak tegen iedereen", "de trein vertrok vanochtend op tijd"),
    "zh": ("这个人真是个王八蛋，大家都知道", "今天早上火车准时出发了"),
}


@pytest.fixture(scope="module")
def ldnoobw():
    if not assets.is_fetched("ldnoobw"):
        pytest.skip("run `curator assets fetch`")
    return assets.resolve("asset:ldnoobw")


@pytest.mark.parametrize("lang", sorted(WORDLISTS))
def test_word_lists_in_many_languages(ldnoobw, lang):
    bad, clean = WORDLISTS[lang]
    stage = ToxicWords({"lists": ldnoobw, "max_count": 0, "max_ratio": None})
    out = stage.apply(batch([bad, clean], langs=[lang, lang])).to_pylist()
    assert out[0]["toxic_words"] >= 1 and out[0]["drop_reason"] == "toxic_words.count"
    assert out[1]["toxic_words"] == 0 and out[1]["drop_reason"] is None


def test_word_list_thresholds_per_language(tmp_path):
    (tmp_path / "en.txt").write_text("# comment\nbadword\nvery bad phrase\n")
    (tmp_path / "de.txt").write_text("schimpfwort\n")
    text_en = "one badword and a very bad phrase in twenty words " + "filler " * 10  # 2 hits / 20 words
    text_de = "ein schimpfwort hier " + "wort " * 7  # 1 hit / 10 words
    settings = {"lists": str(tmp_path), "max_ratio": 0.05, "per_language": {"de": {"max_count": 1}}}
    out = ToxicWords(settings).apply(batch([text_en, text_de, "x badword y"], langs=["en", "de", "sv"])).to_pylist()
    assert (out[0]["toxic_words"], out[0]["toxic_words_ratio"]) == (2, 0.1)
    assert out[0]["drop_reason"] == "toxic_words.ratio"
    assert out[1]["toxic_words"] == 1 and out[1]["drop_reason"] is None  # de: count limit 1, no ratio limit
    assert out[2]["toxic_words"] is None and out[2]["drop_reason"] is None  # no Swedish list: not measured
    with pytest.raises(EnvironmentProblem, match="word-list folder not found: .*nolists"):
        ToxicWords({"lists": str(tmp_path / "nolists")}).apply(batch(["x"]))


# -- URL blocklist ----------------------------------------------------------------------------

def test_url_blocklist_domains_subdomains_and_urls(tmp_path):
    write_sorted_list(["# a list", "Blocked.example", "*.wild.example", "www.spam.example/"], tmp_path / "domains.sorted")
    (tmp_path / "urls").write_text("good.example/one-bad-page\n")
    stage = UrlBlocklistFilter({"lists": [str(tmp_path)]})
    urls = ["https://blocked.example/a", "http://WWW.blocked.example:8080/b", "https://shop.blocked.example/",
            "https://wild.example/", "https://spam.example/x", "https://notblocked.example/",
            "https://good.example/one-bad-page", "https://good.example/another-page", "https://example/"]
    out = stage.apply(batch(["t"] * len(urls), urls=urls)).to_pylist()
    assert [r["drop_reason"] for r in out] == [
        "url_blocklist.domain", "url_blocklist.domain", "url_blocklist.domain", "url_blocklist.domain",
        "url_blocklist.domain", None, "url_blocklist.url", None, None,
    ]
    # a plain, unsorted list file works as well
    plain = tmp_path / "plain.txt"
    plain.write_text("zeta.example\nalpha.example\n")
    assert load_blocklist([str(plain)]).check("https://www.alpha.example/") == "domain"
    assert load_blocklist([str(plain)]).check("https://beta.example/") is None
    with pytest.raises(EnvironmentProblem, match="blocklist not found: .*none.txt"):
        load_blocklist([str(tmp_path / "none.txt")])


def test_ut1_adult_list_drops_a_listed_domain_and_keeps_others():
    if not assets.is_fetched("ut1_adult"):
        pytest.skip("run `curator assets fetch`")
    folder = assets.resolve("asset:ut1_adult")
    with open(f"{folder}/domains.sorted", encoding="utf-8") as f:
        f.readline()
        listed = [f.readline().strip() for _ in range(3)]
    urls = [f"https://{listed[0]}/page", f"https://members.{listed[1]}/x", "https://greenrow-allotments.example/",
            "https://www.wikipedia.org/"]
    out = UrlBlocklistFilter({}).apply(batch(["t"] * 4, urls=urls)).to_pylist()
    assert [r["drop_reason"] for r in out] == ["url_blocklist.domain", "url_blocklist.domain", None, None]
