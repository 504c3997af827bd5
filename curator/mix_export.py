"""`curator mix export RUN --to megatron|olmo|hf`: what a trainer reads to mix at train time.

From a run written with `shards.per_domain: true` (one shard set per domain, each document
once) and the run's mixture weights (or `--weights`), it writes into `RUN/blends/`:

- megatron: `megatron-<seq_len>.txt`, the `--data-path w1 p1 w2 p2 ...` arguments (one entry
  per shard, the domain's weight split over its shards by tokens), and `megatron-<seq_len>.json`,
  the same list as Megatron's `--per-split-data-args-path` JSON (`{"train": [...]}`).
- olmo: `olmo-<seq_len>.yaml`, an OLMo-core source mixture: per domain `source_name`,
  `target_ratio`, `paths` (the .npy token files) and `max_repetition_ratio` (the run's max_epochs).
- hf: `hf-<seq_len>.json`, per domain its Parquet files and the `probabilities` for
  `datasets.interleave_datasets`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from curator.errors import ManifestError
from curator.rundir import read_bounded

FORMAT_OF = {"megatron": "megatron", "olmo": "olmo", "hf": "parquet"}


def _json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise ManifestError(f"{path} is missing: {what}")
    try:
        return json.loads(read_bounded(path))
    except ValueError:
        raise ManifestError(f"{path}: not the JSON curator writes; re-run the run") from None


def run_weights(run_dir: Path) -> dict[str, float]:
    """The mixture weights a run used (its plan in stats/mixed.json)."""
    mixed = _json(run_dir / "stats" / "mixed.json", "run the mix phase first (`curator run MANIFEST`)")
    try:
        return {d: float(p["weight"]) for d, p in mixed["plan"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ManifestError(f"{run_dir / 'stats' / 'mixed.json'}: no mixture plan in it") from None


def domain_files(run_dir: Path, fmt: str, seq_len: int | None) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """(seq_len, {domain: [(file, tokens), ...]}) of the run's per-domain shard sets."""
    shards = run_dir / "shards"
    top = _json(shards / "manifest.json", "run the shards phase first")
    if not top.get("domains"):
        raise ManifestError(f"{shards / 'manifest.json'}: no per-domain shard sets; set shards.per_domain: true "
                            f"in the manifest and re-run")
    if fmt not in top.get("formats", []):
        raise ManifestError(f"run {run_dir} has no {fmt} shards; add {fmt!r} to shards.formats and re-run")
    try:
        return _domain_files(shards, top, fmt, seq_len)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        raise ManifestError(f"{shards}: per-domain shard manifests are not the ones curator writes; "
                            f"re-run the shards phase") from None


def _domain_files(shards: Path, top: dict, fmt: str, seq_len: int | None):
    out: dict[str, list[tuple[str, int]]] = {}
    for domain, info in sorted(top["domains"].items()):
        if not re.fullmatch(r"[A-Za-z0-9_-]+", domain):  # a domain name, as the manifest allows
            raise ValueError(domain)
        entry = _json(shards / "domains" / domain / "manifest.json", "the run's shards are incomplete; re-run")
        lens = entry["seq_lens"]
        n = str(seq_len) if seq_len is not None else sorted(lens, key=int)[0]
        if n not in lens:
            raise ManifestError(f"--seq-len {seq_len}: the run wrote {', '.join(sorted(lens, key=int))}")
        folder = (shards / "domains" / domain / n).resolve()
        files = []
        for s in lens[n]["shards"]:
            names = s["files"][fmt]["files"]
            name = names[0].removesuffix(".bin") if fmt == "megatron" else names[0]
            files.append((str(folder / name), int(s["tokens"])))
        out[domain] = files
    return int(n), out


def megatron_args(weights: dict[str, float], files: dict[str, list[tuple[str, int]]]) -> list[str]:
    """`w1 p1 w2 p2 ...`: each domain's weight split over its shards in proportion to tokens."""
    args = []
    for d in sorted(files):
        total = sum(t for _, t in files[d])
        if weights.get(d, 0) <= 0 or total <= 0:
            continue
        for prefix, t in files[d]:
            if t > 0:
                args += [f"{weights[d] * t / total:.8g}", prefix]
    return args


def olmo_yaml(weights, files, seq_len: int, max_epochs: float, seed: int) -> str:
    import yaml

    sources = [{"source_name": d, "target_ratio": round(weights[d], 8), "max_repetition_ratio": max_epochs,
                "paths": [f for f, _ in files[d]]} for d in sorted(files) if weights.get(d, 0) > 0]
    return yaml.safe_dump({"source_mixture": {"sequence_length": seq_len, "seed": seed,
                                              "source_configs": sources}}, sort_keys=False)


def hf_json(weights, files, seed: int) -> str:
    used = [d for d in sorted(files) if weights.get(d, 0) > 0]
    total = sum(weights[d] for d in used)
    return json.dumps({
        "datasets": [{"domain": d, "data_files": [f for f, _ in files[d]]} for d in used],
        "probabilities": [weights[d] / total for d in used],
        "seed": seed, "stopping_strategy": "all_exhausted",
    }, indent=1) + "\n"


def mix_export(run_dir: str, to: str, seq_len: int | None, weights_text: str | None, echo=print) -> int:
    from curator.mixplan import parse_weights
    from curator.phases import write_atomic

    run = Path(run_dir)
    weights = run_weights(run)
    if weights_text:
        weights = parse_weights(weights_text, sorted(weights))
    total = sum(weights.values())
    weights = {d: w / total for d, w in weights.items()}
    n, files = domain_files(run, FORMAT_OF[to], seq_len)
    missing = sorted(d for d, w in weights.items() if w > 0 and d not in files)
    if missing:
        raise ManifestError(f"domain(s) {missing} have weight but no shards in {run}; give them weight 0")
    mixed = _json(run / "stats" / "mixed.json", "")
    max_epochs = float(mixed.get("max_epochs", 4.0))
    seed = int(mixed.get("seed", 0))
    out = run / "blends"
    out.mkdir(exist_ok=True)
    if to == "megatron":
        args = megatron_args(weights, files)
        write_atomic(out / f"megatron-{n}.txt", " ".join(args) + "\n")
        write_atomic(out / f"megatron-{n}.json", json.dumps({"train": args}, indent=1) + "\n")
        echo("--data-path " + " ".join(args))
        written = [f"megatron-{n}.txt", f"megatron-{n}.json"]
    elif to == "olmo":
        write_atomic(out / f"olmo-{n}.yaml", olmo_yaml(weights, files, n, max_epochs, seed))
        written = [f"olmo-{n}.yaml"]
    else:
        write_atomic(out / f"hf-{n}.json", hf_json(weights, files, seed))
        written = [f"hf-{n}.json"]
    for name in written:
        echo(f"wrote {out / name}")
    return 0
