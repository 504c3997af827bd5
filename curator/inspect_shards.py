"""`curator inspect SHARD`: verify shards against their manifest and decode a few sequences.

PATH may be one shard file (`shards/2048/shard-00000.bin`, `.idx`, `.npy`, `.csv.gz`,
`.parquet`, `.array_record`), a shard prefix (`shards/2048/shard-00000`), a sequence-length
folder (`shards/2048/`) or the whole `shards/` folder. Every file named by the manifest in
scope is checked (size and sha256); a mismatch or missing file is an `AccountingError`.
Then the first `n` sequences of the first shard in scope are decoded (packed Parquet and
ArrayRecord windows list their segments and padding; the padding is not decoded) with the run's
tokenizer (when it is available here and has the recorded hash; token ids otherwise).
Decoded text is whatever the documents held, and paths and the tokenizer spec come from
files, so everything is printed through curator.terminal (control characters escaped).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from curator.assets import sha256_file
from curator.errors import AccountingError, ManifestError
from curator.rundir import read_bounded
from curator.terminal import shown, visible

_SEGMENTS: list[np.ndarray] = []  # segment ids of the sequences read last (packed layouts)
SUFFIXES = (".bin", ".idx", ".npy", ".csv.gz", ".parquet", ".array_record")
READ_ORDER = ("megatron", "parquet", "arrayrecord", "olmo")


def _scope(path: Path) -> tuple[list[tuple[Path, dict]], str | None]:
    """[(folder, per-seq_len manifest)] in scope, and the shard name when PATH is one shard."""
    if path.is_dir():
        if (path / "manifest.json").is_file():
            data = json.loads(read_bounded(path / "manifest.json"))
            if "seq_lens" in data:  # the shards/ folder
                return [(path / n, json.loads(read_bounded(path / e["manifest"])))
                        for n, e in sorted(data["seq_lens"].items(), key=lambda kv: int(kv[0]))], None
            return [(path, data)], None
        raise ManifestError(f"{shown(path)}: no manifest.json here; give a shards/ folder, a shards/<seq_len>/ folder or a shard file")
    name = path.name
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    folder = path.parent
    if not (folder / "manifest.json").is_file():
        raise ManifestError(f"{shown(path)}: no manifest.json beside it in {shown(folder)}; is this a curator shard?")
    data = json.loads(read_bounded(folder / "manifest.json"))
    if not any(f"shard-{s['shard']:05d}" == name for s in data.get("shards", [])):
        raise ManifestError(f"{shown(path)}: {shown(folder / 'manifest.json')} lists no shard named {name!r}")
    return [(folder, data)], name


def verify(folder: Path, manifest: dict, only: str | None = None) -> list[str]:
    """Check every file of the shards in scope against the manifest; returns what was checked."""
    checked = []
    for shard in manifest["shards"]:
        name = f"shard-{shard['shard']:05d}"
        if only is not None and name != only:
            continue
        for fmt, info in sorted(shard["files"].items()):
            paths = [folder / f for f in info["files"]]
            missing = [str(p) for p in paths if not p.is_file()]
            if missing:
                raise AccountingError(f"{shown(missing[0])}: listed in {shown(folder / 'manifest.json')} but missing")
            size = sum(p.stat().st_size for p in paths)
            if size != info["bytes"]:
                raise AccountingError(f"{shown(paths[0])}: {size} bytes on disk, the manifest says {info['bytes']}; the shard is damaged")
            sha = _sha256_files(paths)
            if sha != info["sha256"]:
                raise AccountingError(f"{shown(paths[0])}: sha256 {sha[:16]}... does not match the manifest's {info['sha256'][:16]}...")
            checked.append(f"{name} {fmt}")
    return checked


def _sha256_files(paths: list[Path]) -> str:
    if len(paths) == 1:
        return sha256_file(paths[0])
    import hashlib

    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def read_sequences(folder: Path, files: dict, seq_len: int, n: int, prefer: str | None = None) -> tuple[str, list[np.ndarray]]:
    """The first `n` sequences of one shard, read with the format's own reader (`prefer`'s
    when given, else the first of READ_ORDER the shard has)."""
    for fmt in ([prefer] if prefer else []) + list(READ_ORDER):
        if fmt not in files:
            continue
        first = folder / files[fmt]["files"][0]
        if fmt == "megatron":
            import warnings

            with warnings.catch_warnings():  # megatron-core warns about optional GPU libraries
                warnings.simplefilter("ignore")
                from megatron.core.datasets.indexed_dataset import IndexedDataset

            ds = IndexedDataset(str(first)[: -len(".bin")])
            # copies: the arrays are views of a memory map that closes with `ds`
            return fmt, [np.array(ds[i]) for i in range(min(n, len(ds)))]
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(first)
            _SEGMENTS.clear()
            if "segment_ids" in table.column_names:  # packed: keep the boundaries for the listing
                _SEGMENTS.extend(np.array(x) for x in table.column("segment_ids").to_pylist()[:n])
            return fmt, [np.array(x) for x in table.column("input_ids").to_pylist()[:n]]
        if fmt == "arrayrecord":
            from array_record.python.array_record_module import ArrayRecordReader

            from stages.shard_writers import decode_example

            reader = ArrayRecordReader(str(first))
            try:
                count = min(n, reader.num_records())
                records = reader.read(list(range(count))) if count else []
            finally:
                reader.close()
            examples = [decode_example(r) for r in records]
            _SEGMENTS.clear()
            _SEGMENTS.extend(e["segment_ids"] for e in examples if "segment_ids" in e)
            return fmt, [e["input_ids"] for e in examples]
        tokens = np.fromfile(first, dtype="<u4", count=n * seq_len)  # olmo: cut windows here
        return fmt, [tokens[i : i + seq_len] for i in range(0, tokens.size, seq_len)][:n]
    raise ManifestError(f"{shown(folder)}: the manifest lists no readable format")


def _decoder(tokenizer: dict):
    """A decode function when the run's tokenizer is here with the same hash, else None."""
    spec = tokenizer.get("spec")
    if not spec:
        return None, "the manifest names no tokenizer spec"
    try:
        from curator.assets import resolve
        from stages.tokenize import load_tokenizer, tokenizer_info

        path = resolve(spec)
        info = tokenizer_info(path, False, False)
        if info["sha256"] != tokenizer["sha256"]:
            return None, f"tokenizer {spec} here has another sha256 than the one the shards were made with"
        return load_tokenizer(path).decode, f"tokenizer {spec} (sha256 {info['sha256'][:12]}..., matches)"
    except Exception as e:  # decoding is a convenience; the ids still print
        return None, f"tokenizer {spec} is not usable here ({e})"


def inspect(path: str, n: int = 3, echo=print, width: int = 300) -> int:
    def say(line: str) -> None:  # labels (paths, tokenizer spec, errors): nothing raw
        echo(shown(line))

    p = Path(path)
    if not p.exists() and any(Path(path + s).exists() for s in SUFFIXES):
        p = Path(path + next(s for s in SUFFIXES if Path(path + s).exists()))
    if not p.exists():
        raise ManifestError(f"{shown(path)}: no such shard, shard prefix or shards folder")
    scope, only = _scope(p)
    total = 0
    for folder, manifest in scope:
        checked = verify(folder, manifest, only)
        total += len(checked)
        say(f"{folder}: seq_len {manifest['seq_len']}, formats {', '.join(manifest['formats'])}, "
             f"{len(checked)} shard file sets match manifest.json (bytes, sha256)")
    folder, manifest = scope[0]
    shards = [s for s in manifest["shards"] if only is None or f"shard-{s['shard']:05d}" == only]
    if not shards or n <= 0:
        say(f"ok: {total} shard file sets verified")
        return 0
    shard = shards[0]
    prefer = next((f for f, d in shard["files"].items() if p.is_file() and p.name in d["files"]), None)
    fmt, seqs = read_sequences(folder, shard["files"], manifest["seq_len"], n, prefer)
    decode, how = _decoder(manifest["tokenizer"])
    per_doc = fmt == "megatron" and manifest.get("packing") == "best_fit"  # one sequence per document
    count = f"{shard['documents']} sequences (one per document)" if per_doc else f"{shard['sequences']} sequences"
    say(f"shard-{shard['shard']:05d} ({fmt}): {count}, {shard['tokens']:,} tokens, "
         f"{shard['documents']} documents; {how}")
    eos = manifest.get("eos_id")
    for i, seq in enumerate(seqs):
        docs = int((seq == eos).sum()) if eos is not None else 0
        packed = ""
        if fmt in ("parquet", "arrayrecord") and i < len(_SEGMENTS):
            seg = _SEGMENTS[i]
            packed = f", {len(set(seg[seg > 0].tolist()))} documents or pieces, {int((seg == 0).sum())} padding"
            seq = seq[seg > 0]  # decode the documents, not the padding
        say(f"--- sequence {i}: {_SEGMENTS[i].size if packed else seq.size} tokens, {docs} EOS{packed}, "
            f"first ids {seq[:8].tolist()}")
        if decode is not None:
            text = decode(seq)
            text = text if len(text) <= width else text[:width] + f" ... [{len(text) - width:,} more chars]"
            echo(visible(text, body=True))  # a document's lines stay lines; nothing else is raw
    say(f"ok: {total} shard file sets verified")
    return 0


def main(args) -> int:
    """`curator inspect PATH [-n N]` for anything that is not a run directory."""
    if getattr(args, "reason", None):
        raise ManifestError("--reason applies to a run directory (rejected documents), not to shards")
    return inspect(args.path, n=args.n)
