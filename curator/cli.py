"""`curator`: run a manifest, validate it, fetch model files, print a run's statistics, train a classifier."""

from __future__ import annotations

import argparse
import sys

from curator.errors import CuratorError, ManifestError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curator", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run every phase of a manifest (finished phases are skipped)")
    run.add_argument("manifest")
    run.add_argument("--until", choices=["extract", "annotate", "dedup", "tokenize", "mix", "shards"],
                     help="stop after this phase")
    val = sub.add_parser("validate", help="check a manifest without starting Spark")
    val.add_argument("manifest")
    assets = sub.add_parser("assets", help="model and tokenizer files")
    assets.add_argument("action", choices=["fetch", "list"])
    st = sub.add_parser("stats", help="print the funnel, drop reasons, duplicates, mixture and shards of a run")
    st.add_argument("run_dir")
    st.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    df = sub.add_parser("diff", help="what changed between two runs (settings, funnel, drop reasons, mixture)")
    df.add_argument("run_a")
    df.add_argument("run_b")
    df.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    rp = sub.add_parser("report", help="(re)write RUN_DIR/report.html")
    rp.add_argument("run_dir")
    mix = sub.add_parser("mix", help="mixture tools")
    mix_sub = mix.add_subparsers(dest="mix_command", required=True)
    mp = mix_sub.add_parser("plan", help="tokens, epochs and documents per domain a weight set implies (no Spark)")
    mp.add_argument("manifest")
    mp.add_argument("--weights", action="append", metavar="D=W,...",
                    help="another weight set to compare, e.g. web=0.7,code=0.3 (repeatable)")
    mp.add_argument("--budget", help="total output tokens, e.g. 1.5T, 200B, 40M")
    ins = sub.add_parser("inspect", help="rejected documents of a run directory (or the contents of a shard)")
    ins.add_argument("path", help="a run directory (has stats/) or a shard")
    ins.add_argument("-n", type=int, default=5, help="how many documents to show (default 5)")
    ins.add_argument("--reason", help="drop reason, e.g. gopher_quality.word_count; without it, list the reasons")
    tr = sub.add_parser("train", help="train a classifier (see curator/train.py)")
    tr.add_argument("what", choices=["quality"])
    tr.add_argument("--positive", nargs="+", required=True, help=".txt/.jsonl/.parquet files or folders")
    tr.add_argument("--negative", nargs="+", required=True, help=".txt/.jsonl/.parquet files or folders")
    tr.add_argument("--out", default="quality.bin", help="model file to write (default: quality.bin)")
    tr.add_argument("--holdout", type=float, default=0.2, help="share held out for evaluation")
    for name, typ in (("dim", int), ("epoch", int), ("lr", float), ("word-ngrams", int),
                      ("min-count", int), ("bucket", int), ("seed", int)):
        tr.add_argument(f"--{name}", type=typ, help="fastText setting (see TrainSettings)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except CuratorError as e:
        print(f"curator: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("curator: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130


def _dispatch(args) -> int:
    if args.command == "validate":
        from curator.manifest import load

        m = load(args.manifest)
        print(f"{args.manifest}: ok ({len(m.sources)} sources, {len(m.stages)} stages, run dir {m.run_dir})")
        return 0
    if args.command == "run":
        from curator.manifest import load
        from curator.pipeline import Pipeline
        from curator.report import print_summary

        m = load(args.manifest)
        Pipeline(m).run(until=args.until)
        print_summary(m.run_dir)
        print(f"run directory: {m.run_dir}  (report: {m.run_dir / 'report.html'})")
        return 0
    if args.command == "assets":
        from curator import assets

        if args.action == "fetch":
            assets.fetch()
        else:
            for name, a in sorted(assets.ASSETS.items()):
                state = "cached" if assets.is_fetched(name) else "missing"
                print(f"{name:8} {state:8} {a.description}")
        return 0
    if args.command == "train":
        from curator.train import train_settings, train_quality

        train_quality(args.positive, args.negative, args.out, args.holdout, train_settings(args))
        return 0
    if args.command == "stats":
        if args.json:
            import json

            from curator.runstats import collect

            info = collect(args.run_dir)
            print(json.dumps(info, indent=1, sort_keys=True))
            return 4 if info["accounting_problems"] else 0
        from curator.report import print_stats

        return 4 if print_stats(args.run_dir)["accounting_problems"] else 0
    if args.command == "diff":
        from curator.rundiff import diff, print_diff

        if args.json:
            import json

            print(json.dumps(diff(args.run_a, args.run_b), indent=1, sort_keys=True, default=str))
        else:
            print_diff(args.run_a, args.run_b)
        return 0
    if args.command == "report":
        from curator.report import write_report

        print(f"report: {write_report(args.run_dir)}")
        return 0
    if args.command == "mix":
        from curator.mixplan import mix_plan

        return mix_plan(args.manifest, args.weights, args.budget)
    if args.command == "inspect":
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
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
