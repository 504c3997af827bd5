"""`curator takedown`: a site's documents leave the built shards, and nothing else changes.

On copies of the demo run (bundled sample, best_fit, four formats, two sequence lengths,
several shards): the site's tokens are gone from every format, the shards that did not hold
it are byte-identical, the rewritten ones match their manifest checksums and read back with
megatron-core, HF datasets and Grain, the record is kept and shown; a second run is a no-op.
With concat packing (Parquet/ArrayRecord only, so the stream is rebuilt from packed windows
and lineage) the removed documents are cut out of the stream and the rest re-cut in order."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.test_shard_readers import _megatron, packed_pieces
from tests.test_shard_writers import example_class


def test_concat_pieces_match_the_packer():
    from stages.lineage import concat_pieces
    from stages.packing import ConcatPacker

    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 700, size=60)
    packer = ConcatPacker(256)
    pieces, windows = [], 0
    for n in lengths:
        for batch in (packer.add(np.ones(n, np.int64)), ):
            if batch is not None:
                pieces.append(batch.pieces + [windows, 0, 0, 0, 0])
                windows += len(batch)
    b = packer.flush()
    pieces.append(b.pieces + [windows, 0, 0, 0, 0])
    np.testing.assert_array_equal(concat_pieces(lengths, 256), np.concatenate(pieces))


def _copy_run(run_dir: Path, tmp_path: Path) -> Path:
    run = tmp_path / run_dir.name
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("hf-cache"))
    return run


def _reshard(demo_run, spark, folder: Path, **shards) -> Path:
    """A copy of the demo run whose shards phase ran again with these shard settings."""
    from curator.pipeline import Pipeline

    m, _, _ = demo_run
    run = _copy_run(m.run_dir, folder)
    from curator.manifest import ShardSettings

    m2 = m.model_copy(deep=True)
    m2.output.dir = str(run.parent)
    settings = {**m.shards.model_dump(exclude_none=True), **shards}
    if "stages" in shards:
        settings.pop("seq_lens")
    m2.shards = ShardSettings.model_validate(settings)
    Pipeline(m2, spark=spark, log=lambda s: None).run()
    return run


@pytest.fixture(scope="module")
def multi_shard_run(demo_run, spark, tmp_path_factory):
    """The demo's shards (best_fit, four formats, 512 and 2048) cut into about six shards."""
    m, _, _ = demo_run
    tokens = json.loads((m.run_dir / "shards" / "manifest.json").read_text())["seq_lens"]["512"]["tokens"]
    return _reshard(demo_run, spark, tmp_path_factory.mktemp("multi"), tokens_per_shard=max(tokens // 6, 4096))


def _file_hashes(shards: Path) -> dict[str, str]:
    return {str(p.relative_to(shards)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(shards.rglob("*")) if p.is_file() and "lineage" not in p.parts and p.suffix != ".json"}


def _documents(shards: Path, n: int) -> list:
    return [pq.read_table(p).to_pylist() for p in sorted((shards / "lineage" / str(n)).glob("*.documents.parquet"))]


def _site_in_one_shard(shards: Path) -> str:
    where: dict[str, set] = {}
    for k, docs in enumerate(_documents(shards, 512)):
        for r in docs:
            if r["host"]:
                where.setdefault(r["host"], set()).add(k)
    single = sorted(h for h, s in where.items() if len(s) == 1)
    assert single, "the demo run should hold a site whose documents sit in one shard"
    return single[0]


def test_lineage_traces_every_copy_to_its_source(multi_shard_run):
    shards = multi_shard_run / "shards"
    top = json.loads((shards / "manifest.json").read_text())
    for n, entry in top["seq_lens"].items():
        docs = [r for d in _documents(shards, int(n)) for r in d]
        assert len(docs) == entry["documents"] and sum(r["tokens"] for r in docs) == entry["tokens"]
    web = [r for r in docs if r["kind"] == "warc"]
    code = [r for r in docs if r["kind"] == "code"]
    assert web and code
    assert all(r["warc_file"] and r["warc_offset"] is not None and r["host"] for r in web)
    from curator.schema import code_doc_id

    assert all(r["id"] == code_doc_id(r["repo"], r["path"], r["blob"]) for r in code)


def test_takedown_of_a_site_from_a_multi_shard_run(multi_shard_run, tmp_path, capsys):
    from curator.cli import main

    run = _copy_run(multi_shard_run, tmp_path)
    shards = run / "shards"
    site = _site_in_one_shard(shards)
    before = _file_hashes(shards)
    top_before = json.loads((shards / "manifest.json").read_text())
    n_shards = len(top_before["seq_lens"]["512"]["shards"])
    assert n_shards >= 3
    gone_ids = {r["id"] for d in _documents(shards, 512) for r in d if r["host"] == site}
    gone_tokens = sum(r["tokens"] for d in _documents(shards, 512) for r in d if r["host"] == site)

    assert main(["takedown", str(run), "--domain", site.upper(), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would remove" in out and "dry run" in out and f"{gone_tokens} tokens" in out
    assert _file_hashes(shards) == before and not (run / "stats" / "takedowns.json").exists()

    assert main(["takedown", str(run), "--domain", site]) == 0
    records = json.loads((run / "stats" / "takedowns.json").read_text())
    assert len(records) == 1
    rec = records[0]
    assert rec["domains"] == [site] and rec["tokens"] == gone_tokens and rec["shards_rewritten"] == 1
    assert {"at", "urls", "ids", "documents", "by_domain"} <= set(rec) and rec["by_domain"]["web"]["tokens"] == gone_tokens

    # only the files of the one shard changed, in every format and sequence length
    after = _file_hashes(shards)
    rewritten = f"shard-{rec['shards'][0]['shard']:05d}"
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed and all(rewritten in k for k in changed)
    assert after.keys() == before.keys()

    # zero tokens of the site left: lineage, OLMo ids, and the manifests' totals
    top = json.loads((shards / "manifest.json").read_text())
    for n in (512, 2048):
        assert not any(r["host"] == site for d in _documents(shards, n) for r in d)
        assert top["seq_lens"][str(n)]["tokens"] == top_before["seq_lens"][str(n)]["tokens"] - gone_tokens
    assert top["mixture"]["realised"]["web"]["tokens"] == top_before["mixture"]["realised"]["web"]["tokens"] - gone_tokens
    import csv
    import gzip

    for p in (shards / "512").glob("*.csv.gz"):
        with gzip.open(p, "rt") as f:
            assert not {row[2] for row in csv.reader(f)} & gone_ids

    # checksums in the manifests match the files
    assert main(["inspect", str(shards), "-n", "0"]) == 0
    assert f"ok: {8 * n_shards} shard file sets verified" in capsys.readouterr().out

    # the trainers' readers read the rewritten shard: the same documents in every format
    _, indexed_dataset = _megatron()
    man = json.loads((shards / "512" / "manifest.json").read_text())
    entry = next(s for s in man["shards"] if f"shard-{s['shard']:05d}" == rewritten)
    olmo = np.fromfile(shards / "512" / f"{rewritten}.npy", dtype=np.uint32).astype(np.int64)
    ds = indexed_dataset.IndexedDataset(str(shards / "512" / rewritten))
    assert len(ds) == entry["documents"]
    np.testing.assert_array_equal(np.concatenate([np.array(ds[i]) for i in range(len(ds))]), olmo)
    docs = _documents(shards, 512)[int(rewritten[-5:])]
    want = Counter()
    for r in docs:
        d = olmo[r["start"] : r["start"] + r["tokens"]]
        for k in range(0, d.size, 512):
            want[tuple(d[k : k + 512].tolist())] += 1
    from datasets import load_dataset

    hf = load_dataset("parquet", data_files=[str(shards / "512" / f"{rewritten}.parquet")], split="train",
                      cache_dir=str(tmp_path / "hf-cache"))
    assert packed_pieces(np.array(hf["input_ids"]), np.array(hf["segment_ids"]), np.array(hf["positions"]),
                         512, man["pad_id"], "datasets") == want
    import grain

    Example = example_class()
    rows = list(grain.MapDataset.source(grain.sources.ArrayRecordDataSource([str(shards / "512" / f"{rewritten}.array_record")]))
                .map(lambda b: {k: np.array(v.int64_list.value) for k, v in Example.FromString(b).features.feature.items()}))
    assert packed_pieces(*(np.stack([r[k] for r in rows]) for k in ("input_ids", "segment_ids", "positions")),
                         512, man["pad_id"], "grain") == want

    # the record is shown, accounting still adds up; the same takedown again changes nothing
    assert main(["stats", str(run)]) == 0
    out = capsys.readouterr().out
    assert "takedowns (removed from the built shards" in out and "accounting: ok" in out
    assert main(["stats", str(run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [r["domains"] for r in info["takedowns"]] == [[site]] and not info["accounting_problems"]
    web = next(r for r in info["mixture"] if r["domain"] == "web")
    assert web["realised_tokens"] == top["mixture"]["realised"]["web"]["tokens"]
    again = _file_hashes(shards)
    assert main(["takedown", str(run), "--domain", site]) == 0
    assert "nothing to remove" in capsys.readouterr().out
    assert _file_hashes(shards) == again and len(json.loads((run / "stats" / "takedowns.json").read_text())) == 1


def test_takedown_with_concat_packing_cuts_the_documents_out_of_the_stream(demo_run, spark, tmp_path):
    from curator.takedown import selection, takedown

    run = _reshard(demo_run, spark, tmp_path, packing="concat", formats=["parquet", "arrayrecord"], seq_lens=[512],
                   tokens_per_shard=20000)
    shards = run / "shards"

    def stream(k):  # the document stream of shard k: its windows, without the last one's padding
        man = json.loads((shards / "512" / "manifest.json").read_text())
        flat = np.concatenate(pq.read_table(shards / "512" / f"shard-{k:05d}.parquet").column("input_ids").to_pylist())
        return flat[: man["shards"][k]["tokens"]]

    docs = _documents(shards, 512)
    k = max(range(len(docs)), key=lambda i: len(docs[i]))
    old = stream(k)
    victims = [docs[k][1], docs[k][len(docs[k]) // 2]]
    ids = tmp_path / "ids.txt"
    ids.write_text(f"# takedown request\n{victims[0]['id']}\n")
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{victims[1]['url']}\n")
    gone = {victims[0]["id"], victims[1]["id"]}
    rec = takedown(run, selection(urls_file=str(urls), ids_file=str(ids)))
    assert rec["urls"] == 1 and rec["ids"] == 1 and rec["shards_rewritten"] >= 1
    kept = [r for r in docs[k] if r["id"] not in gone and r["url"] != victims[1]["url"]]
    want = np.concatenate([old[r["start"] : r["start"] + r["tokens"]] for r in kept])
    np.testing.assert_array_equal(stream(k), want)
    new_docs = _documents(shards, 512)[k]
    assert [r["id"] for r in new_docs] == [r["id"] for r in kept]
    # the windows are full but the last: the stream is re-cut, not padded where a document was
    tab = pq.read_table(shards / "512" / f"shard-{k:05d}.parquet")
    segs = np.array(tab.column("segment_ids").to_pylist())
    assert (segs[:-1] > 0).all()


@pytest.mark.parametrize("bad", [["--domain", "https://x.org/a"], []])
def test_bad_requests_are_one_line_errors(demo_run, tmp_path, capsys, bad):
    from curator.cli import main

    m, _, _ = demo_run
    assert main(["takedown", str(m.run_dir), *bad]) == 2
    err = capsys.readouterr().err
    assert err.startswith("curator: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("packing,fmt", [("best_fit", "parquet"), ("concat", "arrayrecord")])
def test_windows_alone_rebuild_the_same_shard(demo_run, spark, tmp_path, packing, fmt):
    """A run holding only packed windows is rebuilt from them and the lineage's pieces to the
    same bytes as a run that also has the Megatron stream to read from."""
    from curator.takedown import selection, takedown

    settings = {"packing": packing, "seq_lens": [512], "tokens_per_shard": 20000}
    alone = _reshard(demo_run, spark, tmp_path / "alone", formats=[fmt], **settings)
    both = _reshard(demo_run, spark, tmp_path / "both", formats=[fmt, "megatron"], **settings)
    docs = [r for d in _documents(alone / "shards", 512) for r in d]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(r["id"] for r in docs[3::7]) + "\n")
    for run in (alone, both):
        assert takedown(run, selection(ids_file=str(ids)))["documents"] > 0
    files = sorted(p.name for p in (alone / "shards" / "512").glob(f"shard-*.{'parquet' if fmt == 'parquet' else 'array_record'}"))
    assert files
    for name in files:
        assert (alone / "shards" / "512" / name).read_bytes() == (both / "shards" / "512" / name).read_bytes()


def test_a_takedown_writes_what_a_build_without_the_documents_writes(multi_shard_run, spark, tmp_path):
    """Every shard file after a takedown equals what the shards phase writes from the mixture
    without those documents: the takedown is a rebuild of the affected shards, nothing else."""
    from pyspark.sql import functions as F

    from curator.takedown import selection, takedown
    from stages.shards import write_shards

    run = _copy_run(multi_shard_run, tmp_path)
    site = _site_in_one_shard(run / "shards")
    rec = takedown(run, selection([site]))
    gone = [r["id"] for d in _documents(multi_shard_run / "shards", 512) for r in d if r["host"] == site]
    assert rec["documents"] == len(gone) > 0
    top = json.loads((run / "shards" / "manifest.json").read_text())
    df = spark.read.parquet(str(run / "mixed")).where(F.col("drop_reason").isNull() & ~F.col("id").isin(gone))
    fresh = tmp_path / "fresh"
    write_shards(df, str(fresh), [512, 2048], top["tokenizer"]["vocab_size"], len(top["seq_lens"]["512"]["shards"]),
                 top["seed"], top["formats"],
                 packing={"packing": top["packing"], "pad_id": top["pad_id"], "lookahead": top["lookahead"]})
    assert _file_hashes(fresh) == _file_hashes(run / "shards")


def test_takedown_from_training_stages(demo_run, spark, tmp_path):
    """With shards.stages each shard belongs to one sequence length: only that shard of that
    stage is rewritten, and the stages together still account for the mixture."""
    from curator.runstats import collect
    from curator.takedown import selection, takedown

    run = _reshard(demo_run, spark, tmp_path, formats=["megatron", "olmo"], tokens_per_shard=8192,
                   stages=[{"seq_len": 512, "fraction": 0.6}, {"seq_len": 2048, "fraction": 0.4}])
    shards = run / "shards"
    top = json.loads((shards / "manifest.json").read_text())
    assert top["stages"] and sum(len(e["shards"]) for e in top["seq_lens"].values()) >= 3
    docs = [(n, r) for n in (512, 2048) for d in _documents(shards, n) for r in d]
    site = next(r["host"] for _, r in docs if r["host"])
    before = _file_hashes(shards)
    rec = takedown(run, selection([site]))
    assert rec["tokens"] == sum(r["tokens"] for _, r in docs if r["host"] == site) > 0
    after = _file_hashes(shards)
    changed = {k for k in before if before[k] != after[k]}
    assert len({k.split(".")[0] for k in changed}) == rec["shards_rewritten"]
    assert not any(r["host"] == site for n in (512, 2048) for d in _documents(shards, n) for r in d)
    assert not collect(run)["accounting_problems"]


def _all_bytes(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted((run / "shards").rglob("*")) if p.is_file()}


def test_a_killed_takedown_is_finished_by_the_next_one(multi_shard_run, tmp_path, monkeypatch, capsys):
    """Killed after its journal and some renames: a dry run leaves the journal alone, the next
    takedown finishes it, and the shards are byte-identical to an uninterrupted takedown with
    the record appended once."""
    from curator.cli import main
    from curator.faults import TAKEDOWN_KILL_ENV, InjectedFault
    from curator.takedown import JOURNAL, selection, takedown

    whole = _copy_run(multi_shard_run, tmp_path / "whole")
    killed = _copy_run(multi_shard_run, tmp_path / "killed")
    site = _site_in_one_shard(whole / "shards")
    takedown(whole, selection([site]))
    before = _all_bytes(killed)

    monkeypatch.setenv(TAKEDOWN_KILL_ENV, "3")
    with pytest.raises(InjectedFault):
        takedown(killed, selection([site]))
    monkeypatch.delenv(TAKEDOWN_KILL_ENV)
    journal = json.loads((killed / JOURNAL).read_text())
    assert len(journal["renames"]) > 3 and journal["record"]["tokens"] > 0
    half = _all_bytes(killed)
    assert half != before and half != _all_bytes(whole)  # some renames done, not all
    assert not (killed / "stats" / "takedowns.json").exists()

    journal_bytes = (killed / JOURNAL).read_bytes()
    assert main(["takedown", str(killed), "--domain", site, "--dry-run"]) == 0
    assert "interrupted takedown" in capsys.readouterr().out
    assert (killed / JOURNAL).read_bytes() == journal_bytes and _all_bytes(killed) == half

    # a file changed since the journal was written is not overwritten: a one-line error
    pending = next(killed / r["to"] for r in journal["renames"] if (killed / r["from"]).exists())
    saved = pending.read_bytes()
    pending.write_bytes(b"changed by someone else")
    assert main(["takedown", str(killed), "--domain", site]) == 2
    err = capsys.readouterr().err
    assert "changed since the takedown began" in err and err.count("\n") == 1
    pending.write_bytes(saved)

    from curator.phases import make_tmp

    (make_tmp(killed, "takedown") / "x.bin").write_bytes(b"killed before its journal")
    (killed / "takedown.tmp-notours").mkdir()
    (killed / "takedown.tmp-notours" / "keep").write_text("not written by curator")
    assert main(["takedown", str(killed), "--domain", site]) == 0
    out = capsys.readouterr().out
    assert out.count("finished an interrupted takedown") == 1 and "nothing to remove" in out
    assert not (killed / JOURNAL).exists()
    assert [p.name for p in killed.glob("takedown.tmp-*")] == ["takedown.tmp-notours"]
    assert _all_bytes(killed) == _all_bytes(whole)
    records = json.loads((killed / "stats" / "takedowns.json").read_text())
    assert len(records) == 1 and records[0] == journal["record"]
    for k in ("documents", "tokens", "shards", "by_domain"):
        assert records[0][k] == json.loads((whole / "stats" / "takedowns.json").read_text())[0][k]
    assert main(["inspect", str(killed / "shards"), "-n", "0"]) == 0


def test_the_card_shows_the_takedown(multi_shard_run, tmp_path, capsys):
    """After a takedown, `curator card` reports its documents and tokens as recorded."""
    from curator.cli import main

    run = _copy_run(multi_shard_run, tmp_path / "run")
    site = _site_in_one_shard(run / "shards")
    assert main(["takedown", str(run), "--domain", site]) == 0
    rec = json.loads((run / "stats" / "takedowns.json").read_text())[0]
    assert main(["card", str(run), "--out", str(tmp_path / "card")]) == 0
    capsys.readouterr()
    card = json.loads((tmp_path / "card" / "card.json").read_text())
    assert card["takedowns"]["records"] == [rec]
    assert (card["takedowns"]["documents"], card["takedowns"]["tokens"]) == (rec["documents"], rec["tokens"]) != (0, 0)
    top = json.loads((run / "shards" / "manifest.json").read_text())
    assert card["shards"]["seq_lens"]["512"]["tokens"] == top["seq_lens"]["512"]["tokens"]
    md = (tmp_path / "card" / "card.md").read_text()
    assert f"1 takedown(s): {rec['documents']:,} documents, {rec['tokens']:,} tokens removed." in md
    assert site in md


def test_takedown_from_per_domain_shard_sets(demo_run, spark, tmp_path, capsys):
    """With shards.per_domain the site also leaves its domain's shard set: only that set's
    shards holding it are rewritten, its manifest lists the new files, other sets are untouched."""
    from curator.cli import main
    from curator.inspect_shards import verify
    from curator.mix_export import domain_files

    run = _reshard(demo_run, spark, tmp_path, per_domain=True, formats=["megatron", "olmo", "parquet"],
                   tokens_per_shard=8192)
    shards = run / "shards"
    top_before = json.loads((shards / "manifest.json").read_text())
    assert {"web", "code"} <= set(top_before["domains"])
    web = shards / "domains" / "web"
    web_docs = [r for d in _documents(web, 512) for r in d]
    site = next(r["host"] for r in web_docs if r["host"])
    site_tokens = sum(r["tokens"] for r in web_docs if r["host"] == site)
    code_before = _file_hashes(shards / "domains" / "code")
    web_before = _file_hashes(web)
    _, files_before = domain_files(run, "olmo", 512)

    assert main(["takedown", str(run), "--domain", site]) == 0
    assert f"per-domain set web: -{site_tokens} tokens" in capsys.readouterr().out
    rec = json.loads((run / "stats" / "takedowns.json").read_text())[0]
    assert rec["domain_sets"] == {"web": {"documents": sum(r["host"] == site for r in web_docs), "tokens": site_tokens,
                                          "shards_rewritten": rec["domain_sets"]["web"]["shards_rewritten"]}}
    assert rec["tokens"] > 0  # the mixed shards too

    top = json.loads((shards / "manifest.json").read_text())
    entry = json.loads((web / "manifest.json").read_text())
    assert top["domains"]["web"]["tokens"] == top_before["domains"]["web"]["tokens"] - site_tokens
    assert top["domains"]["code"] == top_before["domains"]["code"]
    for n in (512, 2048):
        assert not any(r["host"] == site for d in _documents(web, n) for r in d)
        assert entry["seq_lens"][str(n)]["tokens"] == top["domains"]["web"]["tokens"]
        assert verify(web / str(n), entry["seq_lens"][str(n)])  # the files match the new checksums
    after = _file_hashes(web)
    changed = {k.split("/")[-1].split(".")[0] for k in web_before if web_before[k] != after.get(k)}
    assert len(changed) == rec["domain_sets"]["web"]["shards_rewritten"] >= 1
    assert _file_hashes(shards / "domains" / "code") == code_before
    _, files = domain_files(run, "olmo", 512)  # what `curator mix export` hands trainers
    assert sum(t for _, t in files["web"]) == sum(t for _, t in files_before["web"]) - site_tokens

    assert main(["takedown", str(run), "--domain", site]) == 0
    assert "nothing to remove" in capsys.readouterr().out


@pytest.mark.parametrize("journal", [
    {"stage": "takedown.tmp-0a1b", "renames": [{"from": "takedown.tmp-0a1b/x", "to": "../outside",
                                                "old_sha256": None, "new_sha256": "0" * 64}], "record": {}},
    {"stage": "../elsewhere", "renames": [], "record": {}},
    {"renames": 3},
])
def test_a_journal_renames_only_inside_the_run(tmp_path, capsys, journal):
    from curator.cli import main
    from curator.takedown import JOURNAL

    (tmp_path / "outside").write_text("not the run's")
    run = tmp_path / "run"
    run.mkdir()
    (run / JOURNAL).write_text(json.dumps(journal))
    assert main(["takedown", str(run), "--domain", "example.com"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("curator: error: ") and JOURNAL in err and err.count("\n") == 1
    assert (tmp_path / "outside").read_text() == "not the run's" and (run / JOURNAL).exists()
