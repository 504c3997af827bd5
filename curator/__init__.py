"""corpus-curator: Common Crawl and code in, filtered, deduplicated, mixed, tokenized shards out.

From Python: `curator.run(manifest)`, `curator.load_run(run_dir)` and
`curator.apply_stage(stage, dataframe)` (see curator/api.py). They are imported on first
use, so `import curator` (and `curator --version`) stays light.
"""

__version__ = "0.1.0"

_API = ("run", "load_run", "apply_stage", "RunResult")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from curator import api

        return getattr(api, name)
    raise AttributeError(f"module 'curator' has no attribute {name!r}")
