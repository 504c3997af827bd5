"""`curator takedown`: remove documents (a site, a list of URLs or ids) from built shards.

The shards' lineage (stages/lineage.py) says which shard holds which document copy and
where its tokens lie in the shard's document stream. A shard holding none of them is not
touched (its files stay byte-identical). A shard holding some is checked against its
manifest checksums, its document stream is read back from its own files, and it is
rebuilt from its remaining documents, in their order, by the shards phase's own writer
(`stages.shards._ShardGroup`): every format, every sequence length of the shard, the
lineage, under temporary names renamed into place. The rewritten shard is therefore
exactly what the shards phase writes for the same documents -- with concat packing the
removed tokens are cut out of the stream and the rest re-cut into windows; with best_fit
the remaining documents are re-packed (not replaced by padding: trainers would spend
compute on the padding, and the shard would differ from a fresh build without them).

Then the manifests (per sequence length and top), the shards phase's stats and marker
(so a resumed run does not publish the old figures again) get the new files, sha256s,
totals, packing figures and the mixture's realised tokens, and a record is appended to
`RUN/stats/takedowns.json`. A second run of the same takedown finds nothing and writes
nothing.

A takedown is a transaction, so a killed one never leaves half a result: every new file
(shard files, lineage, manifests, stats, the records) is first written into a marked
temporary folder `RUN/takedown.tmp-*`, then a journal `RUN/takedown.journal.json` lists
the renames (with the targets' old and new sha256) and the record, then the renames are
done, then the folder and the journal are removed. The next takedown finds a journal and
finishes it before anything else: a staged file still there is renamed, a target already
holding the new sha256 is done. A dry run reads and writes no journal. Shards rebuilt later from an earlier phase hold the documents again: a takedown
applies to the shards that exist. Per-domain shard sets (`shards.per_domain`) are
rewritten the same way, with their manifests; the record gives their figures apart
(`domain_sets`), its totals being the mixed shards'.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curator.errors import AccountingError, InputError, ManifestError
from curator.terminal import shown

MAX_LIST_BYTES = 256 << 20
RECORDS = "takedowns.json"
JOURNAL = "takedown.journal.json"
READ_ORDER = ("megatron", "olmo", "parquet", "arrayrecord")


@dataclass
class Selection:
    """What to remove: sites (a host and its subdomains), exact URLs, document ids."""

    domains: list[str] = field(default_factory=list)
    urls: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)

    def mask(self, docs: pa.Table) -> np.ndarray:
        hit = np.zeros(docs.num_rows, dtype=bool)
        if self.ids:
            hit |= pc.is_in(docs["id"], pa.array(sorted(self.ids), pa.string())).to_numpy(zero_copy_only=False)
        if self.urls:
            hit |= pc.fill_null(pc.is_in(docs["url"], pa.array(sorted(self.urls), pa.string())), False).to_numpy(
                zero_copy_only=False)
        host = docs["host"]
        for d in self.domains:
            m = pc.or_(pc.equal(host, d), pc.ends_with(host, "." + d))
            hit |= pc.fill_null(m, False).to_numpy(zero_copy_only=False)
        return hit


def _lines(path: str, what: str) -> list[str]:
    from curator.rundir import read_bounded

    try:
        raw = read_bounded(path, MAX_LIST_BYTES)
    except FileNotFoundError:
        raise InputError(f"{shown(path)}: no such {what} file") from None
    text = raw.decode("utf-8", "replace")
    return [x.strip() for x in text.splitlines() if x.strip() and not x.lstrip().startswith("#")]


def normalise_domain(d: str) -> str:
    """`Example.COM.` / `*.example.com` -> `example.com`; a URL or an empty name is an InputError."""
    out = d.strip().lower().rstrip(".")
    out = out[2:] if out.startswith("*.") else out
    if not out or "/" in out or ":" in out or " " in out:
        raise InputError(f"--domain {d!r} is not a host name (give e.g. example.com; URLs go in --urls FILE)")
    return out


def selection(domains=(), urls_file: str | None = None, ids_file: str | None = None) -> Selection:
    sel = Selection(domains=sorted({normalise_domain(d) for d in domains or ()}))
    if urls_file:
        sel.urls = set(_lines(urls_file, "URL list"))
    if ids_file:
        sel.ids = set(_lines(ids_file, "id list"))
    if not (sel.domains or sel.urls or sel.ids):
        raise InputError("nothing to take down: give --domain NAME, --urls FILE (one URL a line) or --ids FILE")
    return sel


def _read_json(path: Path) -> dict:
    from curator.rundir import read_bounded

    try:
        return json.loads(read_bounded(path))
    except FileNotFoundError:
        raise ManifestError(f"{shown(path)} is missing: run the shards phase first") from None
    except ValueError as e:
        raise ManifestError(f"{shown(path)} is not valid JSON ({e}); rebuild the shards phase") from None


@dataclass
class _Group:
    """One shard as the shards phase wrote it: its number in its folders and its sequence lengths."""

    shard: int
    seq_lens: list[int]
    docs: pa.Table = None
    stats: dict = field(default_factory=dict)  # seq_len -> packing figures


def _groups(out: Path, shards: dict[int, list], stages: bool) -> list[_Group]:
    """The shards of the set in `out` (`shards`: seq_len -> its manifest's shard entries),
    with their lineage."""
    from stages.lineage import paths, read_documents
    from stages.shards import shard_name

    lens = sorted(shards)
    if stages:
        groups = [_Group(s["shard"], [n]) for n in lens for s in shards[n]]
    else:
        groups = [_Group(s["shard"], lens) for s in shards[lens[0]]]
    for g in groups:
        for n in g.seq_lens:
            doc_path, _ = paths(out, n, shard_name(g.shard))
            try:
                table, stats = read_documents(doc_path)
            except (OSError, pa.ArrowInvalid) as e:
                raise ManifestError(f"{shown(doc_path)}: lineage unreadable ({e}); re-run the shards phase") from None
            g.docs = table if g.docs is None else g.docs
            g.stats[n] = stats
    return groups


def _stream(folder: Path, shard: dict, seq_len: int, docs: pa.Table, seq_path: Path) -> np.ndarray:
    """The shard's document stream (all its copies' tokens, in order), read from its files:
    the Megatron .bin or OLMo .npy hold it as is; packed windows are put back in order by
    the lineage's pieces."""
    files = shard["files"]
    fmt = next(f for f in READ_ORDER if f in files)
    first = folder / files[fmt]["files"][0]
    if fmt == "megatron":  # one sequence per window (concat) or per document (best_fit)
        dtype = "<u2" if files[fmt]["dtype"] == "uint16" else "<i4"
        return np.fromfile(first, dtype=dtype).astype(np.int64)
    if fmt == "olmo":
        return np.fromfile(first, dtype="<u4").astype(np.int64)
    if fmt == "parquet":
        flat = pq.read_table(first, columns=["input_ids"]).column("input_ids").combine_chunks().values
        flat = flat.to_numpy().astype(np.int64)
    else:
        from array_record.python.array_record_module import ArrayRecordReader

        from stages.shard_writers import decode_example

        reader = ArrayRecordReader(str(first))
        try:
            records = reader.read(list(range(reader.num_records()))) if reader.num_records() else []
        finally:
            reader.close()
        flat = np.concatenate([decode_example(r)["input_ids"] for r in records] or [np.zeros(0, np.int64)])
    seqs = pq.read_table(seq_path)
    p = np.stack([seqs.column(c).to_numpy() for c in ("sequence", "segment", "document", "offset", "length")], axis=1)
    p = p[np.lexsort((p[:, 1], p[:, 0]))]
    length = p[:, 4]
    before = np.cumsum(length) - length  # tokens of earlier pieces, then made relative to the window
    first_piece = np.r_[0, np.flatnonzero(np.diff(p[:, 0])) + 1]
    in_window = before - np.repeat(before[first_piece], np.diff(np.r_[first_piece, len(p)]))
    offs = np.arange(length.sum()) - np.repeat(before, length)
    starts = docs["start"].to_numpy()
    stream = np.empty(int(length.sum()), dtype=np.int64)
    stream[np.repeat(starts[p[:, 2]] + p[:, 3], length) + offs] = flat[np.repeat(p[:, 0] * seq_len + in_window, length) + offs]
    return stream


def _rewrite(out: Path, top: dict, shards: dict[int, list], g: _Group, keep: np.ndarray, dest: Path) -> list[dict]:
    """Rebuild shard `g` of the set in `out` from the copies where `keep` into the folder
    `dest`; returns the writer's rows."""
    from curator.inspect_shards import verify
    from stages.lineage import SOURCE_FIELDS, paths
    from stages.shards import _ShardGroup, shard_name

    name = shard_name(g.shard)
    for n in g.seq_lens:
        verify(out / str(n), {"shards": shards[n]}, only=name)  # the bytes we read back are the ones listed
    n0 = g.seq_lens[0]
    entry = next(s for s in shards[n0] if s["shard"] == g.shard)
    seq_path = paths(out, n0, name)[1]
    try:
        stream = _stream(out / str(n0), entry, n0, g.docs, seq_path)
    except (IndexError, ValueError, OSError, pa.ArrowInvalid) as e:  # lineage not matching the windows
        raise ManifestError(f"{shown(seq_path)}: cannot put {name} back together from its lineage ({e}); "
                            f"rebuild the shards phase") from None
    total = int(pc.sum(g.docs["tokens"]).as_py() or 0)
    if stream.size != total:
        raise AccountingError(f"{shown(out / str(n0))}: {name} holds {stream.size} tokens, its lineage {total}; "
                              f"rebuild the shards phase")
    rows = g.docs.filter(pa.array(keep)).to_pylist()
    packing = {"packing": top["packing"], "pad_id": top["pad_id"], "lookahead": top.get("lookahead", 1024)}
    group = _ShardGroup(str(dest), g.shard, g.seq_lens, top["tokenizer"]["vocab_size"], top["formats"], packing)
    try:
        for r in rows:
            source = {k: r[k] for k in ("copy", "host", *SOURCE_FIELDS)}
            group.add(stream[r["start"] : r["start"] + r["tokens"]], r["id"], source)
        return group.close()
    except BaseException:
        group.abort()
        raise


def _subtract(realised: dict, removed: dict) -> dict:
    out = {}
    for d, v in realised.items():
        r = removed.get(d, {"documents": 0, "tokens": 0})
        out[d] = {**v, "tokens": v["tokens"] - r["tokens"], "documents": v["documents"] - r["documents"]}
    return out


def takedown(run_dir: str | Path, sel: Selection, dry_run: bool = False, log=print) -> dict:
    """Remove the selected documents from the run's shards; returns the record (also for a
    dry run, which writes nothing). A record is appended only when something was removed."""
    from curator.phases import make_tmp, remove_tmp

    started = time.perf_counter()
    run = Path(run_dir)
    out = run / "shards"
    if dry_run:
        if (run / JOURNAL).exists():
            log(f"takedown: {shown(run / JOURNAL)} holds an interrupted takedown; the dry run shows the shards as "
                f"they stand, a takedown without --dry-run finishes it first")
    else:
        resume(run, log)
    top = _read_json(out / "manifest.json")
    if "lineage" not in top:
        raise ManifestError(f"{shown(out / 'manifest.json')} names no lineage: these shards were built before "
                            f"lineage was written; re-run the shards phase, then the takedown")
    per_len = {int(n): _read_json(out / e["manifest"]) for n, e in top["seq_lens"].items()}
    groups = _groups(out, {n: m["shards"] for n, m in per_len.items()}, bool(top.get("stages")))
    record = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "domains": sel.domains,
              "urls": len(sel.urls), "ids": len(sel.ids), "documents": 0, "tokens": 0, "shards_rewritten": 0,
              "by_domain": {}, "sites": {}, "shards": []}
    hits = []
    for g in groups:
        m = sel.mask(g.docs)
        if not m.any():
            continue
        hits.append((g, m))
        gone = g.docs.filter(pa.array(m)).to_pylist()
        record["documents"] += len(gone)
        record["tokens"] += sum(r["tokens"] for r in gone)
        for r in gone:
            d = record["by_domain"].setdefault(r["domain"] or "", {"documents": 0, "tokens": 0})
            d["documents"] += 1
            d["tokens"] += r["tokens"]
            if r["host"]:
                record["sites"][r["host"]] = record["sites"].get(r["host"], 0) + r["tokens"]
        record["shards"].append({"shard": g.shard, "seq_lens": g.seq_lens, "documents": len(gone),
                                 "tokens": sum(r["tokens"] for r in gone)})
    record["shards_rewritten"] = len(hits)
    set_hits = {}
    for domain, entry, set_groups in _domain_sets(out, top):
        found = [(g, m) for g in set_groups if (m := sel.mask(g.docs)).any()]
        if found:
            set_hits[domain] = (entry, found)
            gone = [g.docs.filter(pa.array(m))["tokens"].to_pylist() for g, m in found]
            record.setdefault("domain_sets", {})[domain] = {
                "documents": sum(map(len, gone)), "tokens": sum(map(sum, gone)), "shards_rewritten": len(found)}
    if dry_run or not (hits or set_hits):
        record["seconds"] = round(time.perf_counter() - started, 3)
        return record

    stage = make_tmp(run, "takedown")
    try:
        journal = _stage(run, stage, top, per_len, groups, hits, set_hits, record, started)
    except BaseException:  # nothing renamed yet: the run's files are as they were
        remove_tmp(stage)
        raise
    _finish(run, journal)
    return record


def _domain_sets(out: Path, top: dict) -> list[tuple[str, dict, list[_Group]]]:
    """The per-domain shard sets (`shards.per_domain`): (domain, its manifest, its shards)."""
    sets = []
    for domain in sorted(top.get("domains") or {}):
        if not re.fullmatch(r"[A-Za-z0-9_-]+", domain):  # a domain name, as the manifest allows
            raise ManifestError(f"{shown(out / 'manifest.json')}: {domain!r} is not a domain name; rebuild the "
                                f"shards phase")
        folder = out / "domains" / domain
        entry = _read_json(folder / "manifest.json")
        shards = {int(n): v["shards"] for n, v in entry["seq_lens"].items()}
        sets.append((domain, entry, _groups(folder, shards, False)))
    return sets


def _stage(run: Path, stage: Path, top: dict, per_len: dict, groups: list, hits: list, set_hits: dict,
           record: dict, started: float) -> dict:
    """Write every new file under `stage` (mirroring the run's layout), then the journal."""
    from curator.assets import sha256_file
    from curator.phases import write_atomic

    def put(rel: str, text: str) -> None:
        write_atomic(stage / rel, text)

    if hits:
        _stage_mixed(run, stage, top, per_len, groups, hits, record, put)
    for domain, (entry, found) in set_hits.items():
        folder = run / "shards" / "domains" / domain
        shards = {int(n): v["shards"] for n, v in entry["seq_lens"].items()}
        new_rows = {}
        for g, m in found:
            for r in _rewrite(folder, top, shards, g, ~m, stage / "shards" / "domains" / domain):
                new_rows[(r["seq_len"], r["shard"])] = r
        for n, v in entry["seq_lens"].items():
            for s in v["shards"]:
                r = new_rows.get((int(n), s["shard"]))
                if r is not None:
                    s.update({k: r[k] for k in ("documents", "tokens", "sequences")})
                    s.update(files=json.loads(r["files"]), stats=json.loads(r["stats"]))
            v["tokens"] = sum(s["tokens"] for s in v["shards"])
            v["documents"] = sum(s["documents"] for s in v["shards"])
        totals = next(iter(entry["seq_lens"].values()))  # every length holds all the domain's documents
        top["domains"][domain].update(tokens=totals["tokens"], documents=totals["documents"])
        put(f"shards/domains/{domain}/manifest.json", json.dumps(entry, indent=1, sort_keys=True) + "\n")
    put("shards/manifest.json", json.dumps(top, indent=1, sort_keys=True) + "\n")
    record["seconds"] = round(time.perf_counter() - started, 3)
    put(f"stats/{RECORDS}", json.dumps([*load_records(run), record], indent=1, sort_keys=True) + "\n")

    staged = [p for p in stage.rglob("*") if p.is_file() and p.parent != stage]
    # shard files, then lineage, then manifests and stats, the records last: a reader of a
    # half-finished takedown sees manifests that still list the files' old checksums
    staged.sort(key=lambda p: (p.suffix == ".json", p.parts[-2] == "stats", p.name == RECORDS, str(p)))
    renames = []
    for p in staged:
        rel = p.relative_to(stage)
        target = run / rel
        renames.append({"from": str(p.relative_to(run)), "to": str(rel), "new_sha256": sha256_file(p),
                        "old_sha256": sha256_file(target) if target.is_file() else None})
    journal = {"stage": stage.name, "renames": renames, "record": record}
    write_atomic(run / JOURNAL, json.dumps(journal, indent=1, sort_keys=True) + "\n")
    return journal


def _stage_mixed(run: Path, stage: Path, top: dict, per_len: dict, groups: list, hits: list, record: dict,
                 put) -> None:
    """The mixed shards' new files, manifests (`top` updated in place, staged by the caller),
    the shards phase's marker and stats."""
    from curator.phases import MARKER
    from stages.shards import summarise

    out = run / "shards"
    new_rows = {}
    for g, m in hits:
        for r in _rewrite(out, top, {n: man["shards"] for n, man in per_len.items()}, g, ~m, stage / "shards"):
            new_rows[(r["seq_len"], r["shard"])] = r
            g.stats[r["seq_len"]] = json.loads(r["stats"])
    mixture = {**top["mixture"], "realised": _subtract(top["mixture"]["realised"], record["by_domain"])}
    top["mixture"] = mixture
    for n, man in per_len.items():
        before = man["tokens"]
        for s in man["shards"]:
            r = new_rows.get((n, s["shard"]))
            if r is not None:
                s.update({k: r[k] for k in ("documents", "tokens", "sequences")})
                s["files"] = {f: {k: d[k] for k in ("files", "bytes", "sha256", "dtype")}
                              for f, d in json.loads(r["files"]).items()}
        removed = sum(x["tokens"] for x in record["shards"] if n in x["seq_lens"])
        man["tokens"] = sum(s["tokens"] for s in man["shards"])
        man["documents"] = sum(s["documents"] for s in man["shards"])
        man["sequences"] = sum(s["sequences"] for s in man["shards"])
        if man["tokens"] != before - removed:
            raise AccountingError(f"takedown: seq_len {n} holds {man['tokens']} tokens, expected {before - removed}")
        stats = [{"stats": g.stats[n]} for g in groups if n in g.seq_lens]
        man["packing_stats"] = {k: v for k, v in summarise(stats, n).items() if k != "seq_len"}
        man["mixture"] = mixture
        entry = top["seq_lens"][str(n)]
        entry.update({k: man[k] for k in ("tokens", "documents", "sequences", "packing_stats")})
        entry["shards"] = [{**s, "files": {f: {**d, "files": [f"{n}/{x}" for x in d["files"]]}
                                           for f, d in s["files"].items()}} for s in man["shards"]]
        put(f"shards/{n}/manifest.json", json.dumps(man, indent=1, sort_keys=True) + "\n")

    marker = _read_json(out / MARKER)
    stats = marker["stats"]
    for k, v in top["seq_lens"].items():
        if k in stats.get("seq_lens", {}):
            stats["seq_lens"][k].update({x: v[x] for x in ("tokens", "documents", "sequences")})
            stats["seq_lens"][k]["packing"] = v["packing_stats"]
    stats["mixture"] = mixture
    gone = stats.get("taken_down", {"tokens": 0, "documents": 0})  # runstats' accounting adds these back
    stats["taken_down"] = {"tokens": gone["tokens"] + record["tokens"], "documents": gone["documents"] + record["documents"]}
    put(f"shards/{MARKER}", json.dumps(marker, indent=1))
    put("stats/shards.json", json.dumps(stats, indent=1, sort_keys=True))


def _finish(run: Path, journal: dict, resuming: bool = False) -> int:
    """Do the journal's renames (each is done once: a staged file still there is renamed, a
    target already holding the new sha256 is done), then remove the stage and the journal.
    When resuming, a target about to be replaced must still hold its old (or new) sha256:
    a file changed since the journal was written is not overwritten. Returns how many
    renames were left to do."""
    from curator.assets import sha256_file
    from curator.faults import maybe_kill_takedown
    from curator.phases import remove_tmp

    left = 0
    try:
        stage = journal["stage"]
        if not re.fullmatch(r"takedown\.tmp-[0-9a-f]+", stage):
            raise ManifestError(f"{shown(run / JOURNAL)}: its stage {stage!r} is not a takedown folder of the run; "
                                f"move the journal away and re-run")
        for r in journal["renames"]:  # only files of its own stage onto files inside the run
            if not (r["from"].startswith(stage + "/")
                    and not Path(r["to"]).is_absolute() and ".." not in Path(r["to"]).parts + Path(r["from"]).parts):
                raise ManifestError(f"{shown(run / JOURNAL)}: renames {r['from']!r} to {r['to']!r}, outside the "
                                    f"run's takedown; move the journal away and re-run")
        for i, r in enumerate(journal["renames"]):
            src, target = run / r["from"], run / r["to"]
            if src.is_file() and not src.is_symlink():
                if resuming and target.exists() and sha256_file(target) not in (r["old_sha256"], r["new_sha256"]):
                    raise ManifestError(f"{shown(run / JOURNAL)}: {shown(target)} changed since the takedown "
                                        f"began; restore it or rebuild the shards phase, then remove the journal")
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, target)
                left += 1
                maybe_kill_takedown(i + 1)
            elif not (target.is_file() and sha256_file(target) == r["new_sha256"]):
                raise ManifestError(f"{shown(run / JOURNAL)}: {shown(target)} holds neither the staged file nor "
                                    f"its new sha256; restore the run's shards from a backup or rebuild the shards "
                                    f"phase, then remove the journal")
    except (KeyError, TypeError, AttributeError) as e:
        raise ManifestError(f"{shown(run / JOURNAL)}: not a takedown journal ({e}); move it away and re-run") from None
    remove_tmp(run / stage)
    (run / JOURNAL).unlink()
    return left


def resume(run_dir: str | Path, log=print) -> None:
    """Finish a takedown a kill interrupted (its journal), and remove stages killed before
    their journal was written. A no-op when neither is there."""
    from curator.phases import remove_tmp

    run = Path(run_dir)
    path = run / JOURNAL
    if path.exists():
        journal = _read_json(path)
        if not isinstance(journal, dict):
            raise ManifestError(f"{shown(path)}: not a takedown journal; move it away and re-run")
        left = _finish(run, journal, resuming=True)
        rec = journal.get("record", {})
        log(f"takedown: finished an interrupted takedown ({rec.get('documents')} documents, {rec.get('tokens')} "
            f"tokens; {left} of {len(journal['renames'])} renames were left) from {shown(path)}")
    for stale in sorted(run.glob("takedown.tmp-*")):
        remove_tmp(stale)


def load_records(run_dir: str | Path) -> list[dict]:
    """The run's takedown records (`RUN/stats/takedowns.json`), oldest first; [] when none."""
    path = Path(run_dir) / "stats" / RECORDS
    if not path.exists():
        return []
    data = _read_json(path)
    if not isinstance(data, list):
        raise ManifestError(f"{shown(path)} is not a JSON list of takedown records; move it away and re-run")
    return data


def main(args) -> int:
    sel = selection(args.domain, args.urls, args.ids)
    rec = takedown(args.run_dir, sel, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    if not rec["documents"] and not rec.get("domain_sets"):
        print(f"takedown: nothing to remove in {shown(args.run_dir)} (no shard holds the selected documents)")
        return 0
    print(f"takedown: {verb} {rec['documents']} document copies, {rec['tokens']} tokens, "
          f"from {rec['shards_rewritten']} shard(s) in {rec['seconds']:.2f}s")
    for s in rec["shards"]:
        print(f"  shard-{s['shard']:05d} (seq_len {', '.join(map(str, s['seq_lens']))}): "
              f"{s['documents']} documents, {s['tokens']} tokens")
    for d, v in sorted(rec["by_domain"].items()):
        print(f"  mixture domain {d}: -{v['tokens']} tokens, -{v['documents']} documents")
    for d, v in sorted(rec.get("domain_sets", {}).items()):
        print(f"  per-domain set {d}: -{v['tokens']} tokens, -{v['documents']} documents "
              f"from {v['shards_rewritten']} shard(s)")
    if args.dry_run:
        print("dry run: nothing was written")
    return 0
