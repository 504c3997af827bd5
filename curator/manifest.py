"""The YAML job manifest: one file describes a whole run, validated before Spark starts.

Paths to inputs are relative to the manifest's folder; `output.dir` is relative to the
working directory. Any wrong key or value raises `ManifestError` with the field's path.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curator.errors import ManifestError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Repository licences kept by default (SPDX ids): permissive ones only.
PERMISSIVE_LICENSES = (
    "MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "0BSD", "Zlib",
    "BSL-1.0", "Unlicense", "CC0-1.0", "PSF-2.0",
)


class Source(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    kind: Literal["warc", "code"]
    inputs: list[str] = []
    """Local paths/globs, http(s):// URLs, s3:// (or other pyarrow.fs) URIs; see stages/inputs.py."""
    domain: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    # warc: a Common Crawl paths file (warc.paths.gz / wet.paths.gz) instead of, or beside, inputs
    paths_file: str | None = None
    prefix: str = "https://data.commoncrawl.org/"
    """Joined to each line of paths_file (Common Crawl's lines are relative)."""
    limit: int | None = Field(default=None, gt=0)
    """Read only the first N files of the paths file (after sampling)."""
    sample: float | None = Field(default=None, gt=0, le=1)
    """Keep this fraction of the paths file's files (deterministic by seed and path)."""
    seed: int = 0
    snapshot: str | None = None
    """Snapshot name kept per document; default: the CC-MAIN-YYYY-WW found in the file's path."""
    # code
    ref: str = "HEAD"
    """Git ref read from repositories (working trees and bare clones)."""
    licenses: list[str] = Field(default_factory=lambda: list(PERMISSIVE_LICENSES))
    """SPDX ids of repository licences to keep; ["*"] keeps every repository, even unlicensed."""

    @model_validator(mode="after")
    def _has_inputs(self) -> "Source":
        if not self.inputs and not self.paths_file:
            raise ValueError("give `inputs` or `paths_file`")
        if self.paths_file and self.kind != "warc":
            raise ValueError("paths_file is for kind warc")
        if self.kind == "code" and any("://" in p for p in self.inputs):
            raise ValueError("code inputs are local folders, archives or datasets, not URLs")
        return self


class ExtractSettings(_Model):
    extractor: Literal["trafilatura", "resiliparse"] = "trafilatura"
    """trafilatura (options below) or resiliparse's main-content extractor (several times faster)."""
    timeout_s: float = Field(default=10.0, gt=0)
    """Per-document extraction time limit (extract.timeout); needs the worker's main thread."""
    http_retries: int = Field(default=5, ge=0)
    """Retries of an http(s) input (connection errors, 429, 5xx), with exponential back-off."""
    favor_precision: bool = False
    favor_recall: bool = False
    include_tables: bool = True
    include_comments: bool = False
    max_record_bytes: int = Field(default=10_000_000, gt=0)
    """Larger HTTP payloads are skipped (warc.too_large) instead of parsed."""
    max_code_file_bytes: int = Field(default=1_000_000, gt=0)
    files_per_task: int = Field(default=256, gt=0)
    """Code files read per Spark task (a WARC file is always one task)."""


class MinHashSettings(_Model):
    """Fuzzy dedup (stages/dedup_fuzzy.py): MinHash-LSH candidates, verified, clustered."""

    ngram: int = Field(default=5, gt=0)
    """Tokens per shingle (words; characters in scripts written without spaces)."""
    num_perm: int = Field(default=128, ge=2, le=1024)
    threshold: float = Field(default=0.8, gt=0, le=1)
    """Shingle Jaccard at which two documents are duplicates (checked when `verify`)."""
    lsh_threshold: float = Field(default=0.6, gt=0, le=1)
    """Jaccard the LSH bands are tuned for, below `threshold` so that pairs at `threshold`
    become candidates with >= 98% chance; verification removes the pairs below `threshold`."""
    false_positive_weight: float = Field(default=0.5, ge=0, le=1)
    false_negative_weight: float = Field(default=0.5, ge=0, le=1)
    bands: int | None = Field(default=None, gt=0)
    rows: int | None = Field(default=None, gt=0)
    """Set both to override the (bands, rows) that datasketch chooses from the above."""
    verify: bool = True
    """Compute each candidate pair's true Jaccard and keep only pairs >= `threshold`."""
    seed: int = 1
    components_local_max_edges: int = Field(default=200_000, ge=0)
    """Verified edge lists up to this size are clustered by union-find on the driver;
    larger ones by large-star/small-star rounds in Spark (0: always in Spark)."""
    survivor_score: str | None = "quality_score"
    """Survivor of a cluster: highest value of this column (when the rows have it), then
    the longest text, then the smallest id."""

    @model_validator(mode="after")
    def _bands_rows(self) -> "MinHashSettings":
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both dedup.minhash.bands and dedup.minhash.rows, or neither")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if abs(self.false_positive_weight + self.false_negative_weight - 1.0) > 1e-9:
            raise ValueError("false_positive_weight + false_negative_weight must be 1")
        return self


class DedupSettings(_Model):
    exact: bool = True
    url: bool = True
    """Same URL in several crawls: keep the newest fetch (stages/dedup_url.py)."""
    minhash: MinHashSettings | None = None
    """Fuzzy dedup; off unless given (`minhash: {}` for the defaults)."""


class MixtureSettings(_Model):
    weights: dict[str, float]
    """Fraction of output tokens per domain (normalised to sum to 1)."""
    budget_tokens: int | None = Field(default=None, gt=0)
    """Total output tokens; default: as many as the scarcest domain allows at one epoch."""
    max_epochs: float = Field(default=4.0, gt=0)
    seed: int = 0

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("at least one domain weight is needed")
        for domain, w in v.items():
            if w < 0:
                raise ValueError(f"weight of domain {domain!r} is {w}; weights must be >= 0")
        if sum(v.values()) <= 0:
            raise ValueError("weights sum to 0; at least one must be > 0")
        return v


class TokenizerSettings(_Model):
    path: str = "asset:gpt2"
    """A local directory or tokenizer.json for `transformers`, `asset:<name>`, or a tiktoken
    encoding shipped offline (`tiktoken:cl100k_base`)."""
    add_bos: bool = False
    add_eos: bool = True


class ShardSettings(_Model):
    seq_lens: list[int] = Field(default=[2048], min_length=1)
    formats: list[Literal["megatron", "olmo", "parquet", "arrayrecord"]] = Field(default=["megatron"], min_length=1)
    """megatron: .bin/.idx; olmo: flat uint32 .npy + document offsets; parquet: `input_ids`
    rows (HF datasets, Grain); arrayrecord: tf.train.Example records (Grain/MaxText)."""
    tokens_per_shard: int = Field(default=100_000_000, gt=0)
    seed: int = 0

    @field_validator("seq_lens")
    @classmethod
    def _seq_lens(cls, v: list[int]) -> list[int]:
        if any(n <= 0 for n in v):
            raise ValueError("sequence lengths must be > 0")
        if len(set(v)) != len(v):
            raise ValueError("sequence lengths must be distinct")
        return v

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"formats must be distinct, got {v}")
        return v


class SparkSettings(_Model):
    master: str = "local[*]"
    driver_memory: str = "4g"
    shuffle_partitions: int = Field(default=8, gt=0)
    conf: dict[str, str] = {}


class OutputSettings(_Model):
    dir: str = "runs"
    rejected_samples: int = Field(default=20, ge=0)
    """Rejected documents kept per drop reason under rejected/, for people to read."""


class Manifest(_Model):
    run: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    sources: list[Source] = Field(min_length=1)
    extract: ExtractSettings = ExtractSettings()
    stages: list[dict[str, Any]] = []
    dedup: DedupSettings = DedupSettings()
    mixture: MixtureSettings
    tokenizer: TokenizerSettings = TokenizerSettings()
    shards: ShardSettings = ShardSettings()
    spark: SparkSettings = SparkSettings()
    output: OutputSettings = OutputSettings()

    # Filled by load(): where relative input paths are resolved from.
    base_dir: str = Field(default=".", exclude=True)

    @model_validator(mode="after")
    def _cross_checks(self) -> "Manifest":
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        domains = {s.domain for s in self.sources}
        missing = sorted(domains - set(self.mixture.weights))
        if missing:
            raise ValueError(
                f"mixture.weights has no weight for domain(s) {missing}; "
                f"give every source domain a weight (0 to leave it out)"
            )
        extra = sorted(set(self.mixture.weights) - domains)
        if extra:
            raise ValueError(f"mixture.weights names domain(s) {extra} that no source feeds")
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.output.dir) / self.run

    def stage_specs(self) -> list[tuple[str, dict[str, Any]]]:
        """The stages as (name, settings) pairs, in order."""
        return [next(iter(item.items())) for item in self.stages]


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _format_error(err: dict) -> str:
    where = _loc(err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "literal_error":
        msg = f"{msg} (got {err.get('input')!r})"
    return f"{where}: {msg}" if where else msg


STAGE_PATH_KEYS = ("model", "checkpoint", "huggingface_config", "lists", "url_lists")
"""Stage settings that name files: relative values are anchored at the manifest's folder."""


def anchor_path(value: Any, base_dir: str) -> Any:
    """A relative local path made absolute from `base_dir`; `asset:`/`tiktoken:` names, URIs,
    absolute paths and lists of them are resolved item by item or left as they are."""
    if isinstance(value, list):
        return [anchor_path(v, base_dir) for v in value]
    if (not isinstance(value, str) or not value or os.path.isabs(value) or "://" in value
            or value.startswith(("asset:", "tiktoken:"))):
        return value
    return os.path.normpath(os.path.join(base_dir, value))


def anchor_stage_paths(settings: dict[str, Any], base_dir: str) -> dict[str, Any]:
    """Stage settings with their file paths anchored (executors run in other folders)."""
    return {k: anchor_path(v, base_dir) if k in STAGE_PATH_KEYS else v for k, v in settings.items()}


def _validate_stages(m: Manifest) -> None:
    from stages import registry

    known = registry()
    for i, item in enumerate(m.stages):
        if not isinstance(item, dict) or len(item) != 1:
            raise ManifestError(f"stages[{i}]: write each stage as `- <name>: {{settings}}`")
        name, settings = next(iter(item.items()))
        if name not in known:
            raise ManifestError(
                f"stages[{i}]: unknown stage {name!r}; allowed: {', '.join(sorted(known))}"
            )
        try:
            known[name].Settings.model_validate(settings or {})
        except ValidationError as e:
            first = e.errors()[0]
            raise ManifestError(f"stages[{i}].{name}.{_format_error(first)}") from None
        item[name] = anchor_stage_paths(settings or {}, m.base_dir)


def expand_inputs(m: Manifest, source_index: int) -> list[str]:
    """Absolute local paths of one source's inputs (globs expanded, sorted); URIs as written."""
    src = m.sources[source_index]
    paths: list[str] = []
    for j, pattern in enumerate(src.inputs):
        if "://" in pattern:  # remote: listed at run time by stages.inputs, never at validation
            paths.append(pattern)
            continue
        full = pattern if os.path.isabs(pattern) else os.path.join(m.base_dir, pattern)
        matches = sorted(glob.glob(full))
        if not matches:
            raise ManifestError(
                f"sources[{source_index}].inputs[{j}]: no file matches {pattern!r} "
                f"(looked for {full}; relative paths start at the manifest's folder)"
            )
        paths.extend(os.path.abspath(p) for p in matches)
    return paths


def parse(data: Any, base_dir: str = ".") -> Manifest:
    if not isinstance(data, dict):
        raise ManifestError("the manifest must be a YAML mapping at the top level")
    try:
        m = Manifest.model_validate(data)
    except ValidationError as e:
        raise ManifestError(_format_error(e.errors()[0])) from None
    m.base_dir = os.path.abspath(base_dir)
    m.tokenizer.path = anchor_path(m.tokenizer.path, m.base_dir)
    _validate_stages(m)
    seen: dict[str, str] = {}
    for i, src in enumerate(m.sources):
        pf = src.paths_file
        if pf and "://" not in pf and not os.path.isfile(pf if os.path.isabs(pf) else os.path.join(m.base_dir, pf)):
            raise ManifestError(f"sources[{i}].paths_file: {pf} not found (relative paths start at the manifest's folder)")
        for p in expand_inputs(m, i):
            if p in seen:
                raise ManifestError(f"sources[{i}]: input {p} is also read by source {seen[p]!r}")
            seen[p] = src.name
    return m


def load(path: str | os.PathLike) -> Manifest:
    """Read and validate a manifest file; every problem is a one-line ManifestError."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ManifestError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    try:
        return parse(data, base_dir=str(path.parent))
    except ManifestError as e:
        raise ManifestError(f"{path}: {e}") from None


def dump_resolved(m: Manifest) -> str:
    """The manifest with every default filled in, as written to manifest.lock.yaml."""
    return yaml.safe_dump(m.model_dump(mode="json"), sort_keys=False)
