"""The README's worked example end to end: a three-domain run with per-domain shards, a plan
under each strategy, the Megatron/OLMo/HF blends, a sweep, a results file, fit, proposal."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import yaml

from curator.cli import main


def _repo(root, rng, n_files: int, ext: str, words: list[str]) -> None:
    repo = root / "repo"
    repo.mkdir(parents=True)
    for i in range(n_files):
        k = int(rng.integers(10, 200))
        picked = list(rng.choice(words, size=k))
        text = "\n".join(" ".join(picked[j:j + 12]) for j in range(0, k, 12)) + f"\nfile {i}\n"
        (repo / f"f{i:05d}{ext}").write_text(text)


def test_three_domain_plan_export_sweep_fit(spark, tmp_path, capsys):
    import pyarrow.parquet as pq

    from curator.manifest import load
    from curator.pipeline import Pipeline

    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=int(rng.integers(2, 9))))
             for _ in range(300)]
    for name, n, ext in (("web", 150, ".md"), ("code", 80, ".py"), ("books", 30, ".rst")):
        _repo(tmp_path / name, rng, n, ext, words)
    data = {
        "run": "three",
        "sources": [{"name": d, "kind": "code", "inputs": [d], "domain": d, "licenses": ["*"]}
                    for d in ("web", "code", "books")],
        "mixture": {"weights": {"web": 0.5, "code": 0.3, "books": 0.2}, "strategy": "weights",
                    "max_epochs": 4, "seed": 1,
                    "rehydrate": {2: 2, 1000: 1}},  # the path runs; these files have no duplicates
        "tokenizer": {"path": "tiktoken:cl100k_base"},
        "shards": {"seq_lens": [256], "formats": ["megatron", "olmo", "parquet"], "tokens_per_shard": 20000,
                   "per_domain": True},
        "output": {"dir": str(tmp_path / "runs"), "rejected_samples": 0},
    }
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(data))
    m = load(path)
    Pipeline(m, spark=spark, log=lambda s: None).run()
    run = m.run_dir

    capsys.readouterr()
    assert main(["mix", "plan", str(path), "--strategy", "natural", "--strategy", "temperature",
                 "--tau", "2", "--strategy", "unimax"]) == 0
    assert "unimax" in capsys.readouterr().out

    # per-domain shard sets: each domain's kept documents once
    top = json.loads((run / "shards" / "manifest.json").read_text())
    tok = json.loads((run / "stats" / "tokenized.json").read_text())["domains"]
    assert sorted(top["domains"]) == ["books", "code", "web"]
    for d, info in top["domains"].items():
        assert info["tokens"] == tok[d]["tokens_kept"] and info["documents"] == tok[d]["kept"]

    assert main(["mix", "export", str(run), "--to", "megatron"]) == 0
    args = (run / "blends" / "megatron-256.txt").read_text().split()
    assert json.loads((run / "blends" / "megatron-256.json").read_text()) == {"train": args}
    weights, prefixes = [float(w) for w in args[0::2]], args[1::2]
    plan = json.loads((run / "stats" / "mixed.json").read_text())["plan"]
    assert sum(weights) == pytest.approx(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from megatron.core.datasets.indexed_dataset import IndexedDataset
    by_domain: dict[str, float] = {}
    tokens: dict[str, int] = {}
    for w, prefix in zip(weights, prefixes):
        d = prefix.split("/domains/")[1].split("/")[0]
        by_domain[d] = by_domain.get(d, 0) + w
        ds = IndexedDataset(prefix)  # Megatron reads every prefix the blend names
        tokens[d] = tokens.get(d, 0) + int(sum(len(ds[i]) for i in range(len(ds))))
    for d in plan:
        assert by_domain[d] == pytest.approx(plan[d]["weight"], abs=1e-6)
        assert tokens[d] >= tok[d]["tokens_kept"]  # packed windows: the documents plus padding

    assert main(["mix", "export", str(run), "--to", "olmo"]) == 0
    olmo = yaml.safe_load((run / "blends" / "olmo-256.yaml").read_text())["source_mixture"]
    assert {s["source_name"]: s["target_ratio"] for s in olmo["source_configs"]} == pytest.approx(
        {d: p["weight"] for d, p in plan.items()})
    flat = sum(np.fromfile(f, np.uint32).size for s in olmo["source_configs"] for f in s["paths"] if "books" in f)
    assert flat == tok["books"]["tokens_kept"]
    assert main(["mix", "export", str(run), "--to", "hf", "--weights", "web=1,code=1,books=2"]) == 0
    hf = json.loads((run / "blends" / "hf-256.json").read_text())
    assert [x["domain"] for x in hf["datasets"]] == ["books", "code", "web"]
    assert hf["probabilities"] == pytest.approx([0.5, 0.25, 0.25])
    assert all(pq.read_metadata(f).num_rows > 0 for x in hf["datasets"] for f in x["data_files"])

    assert main(["mix", "sweep", str(run), "-n", "48", "--seed", "0"]) == 0
    sweep = run / "sweep"
    blend = json.loads((sweep / "mix-0007.json").read_text())
    assert len(blend["megatron_data_path"]) == len(args)
    # a proxy "loss" that is lowest near web 0.4, code 0.4, books 0.2
    lines = (sweep / "sweep.csv").read_text().splitlines()
    head = lines[0].split(",")
    rows = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        w = {h: float(c) for h, c in zip(head[1:-1], cells[1:-1])}
        loss = 3 + 0.2 * np.exp(-5 * w["web"]) * 6 + 0.3 * np.exp(-8 * w["code"]) * 4 + np.exp(-15 * w["books"])
        rows.append(",".join(cells[:-1] + [f"{loss:.6f}"]))
    (sweep / "sweep.csv").write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    assert main(["mix", "fit", str(sweep / "sweep.csv"), "--max", "web=0.6"]) == 0
    out = capsys.readouterr().out
    assert "held-out R^2" in out and "proposed mixture" in out
    prop = json.loads((sweep / "proposal.json").read_text())
    assert prop["r2_heldout"] > 0.95 and prop["weights"]["web"] <= 0.6 + 1e-9
    assert abs(sum(prop["weights"].values()) - 1) < 1e-6
