"""The YAML job manifest: one file describes a whole run, validated before Spark starts.

Paths to inputs are relative to the manifest's folder; `output.dir` is relative to the
working directory. Any wrong key or value raises `ManifestError` with the field's path.

The manifest is untrusted input too: it is read up to MAX_MANIFEST_BYTES, must be UTF-8,
and YAML aliases may not expand it past MAX_YAML_NODES (a 1 KB "billion laughs" file would
otherwise grow without end); `load_yaml` is that bounded reader, and every YAML the project
reads (manifests, a run's manifest.lock.yaml) goes through it. Every value is of its declared
type (no `true` for 1, no string for a number), every float is finite, and every number that
sizes work, time or memory has an upper bound (stage settings: their own, or
stages.base.MAX_SETTING_MAGNITUDE), so a typo cannot allocate terabytes or run for days. Paths
(`output.dir`, inputs, paths files, the tokenizer) may not hold control characters: they are
printed, and a file name that rewrites the terminal is never a real one. `~` in `output.dir`
is expanded once, in `parse`, so the checks and the run see the same folder.
"""

from __future__ import annotations

import glob
import math
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from curator.errors import InputError, ManifestError
from curator.redact import redact_input
from curator.rundir import check_location
from curator.terminal import visible


class _Model(BaseModel):
    # strict: `seq_lens: [true]` is not [1] and "8" is not 8; allow_inf_nan: every float
    # setting is finite (NaN passes every `gt`/`le` comparison check silently otherwise).
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


MAX_SEED = 2**63 - 1
"""Seeds are hashed with Spark's xxhash64 as a 64-bit literal."""
MAX_BUDGET_TOKENS = 10**15
"""A quadrillion tokens: two orders of magnitude above the largest published training sets."""
MAX_EPOCHS = 1000.0
MIN_SEQ_LEN, MAX_SEQ_LEN = 16, 1 << 20
MIN_TOKENS_PER_SHARD, MAX_TOKENS_PER_SHARD = 1 << 12, 1 << 40
MAX_WEIGHT = 1e9
MAX_MANIFEST_BYTES = 1 << 20
"""A manifest is a few kilobytes; a larger file is refused before it is parsed."""
_SCIENTIFIC = re.compile(r"[-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+")
MAX_YAML_NODES = 100_000
"""Nodes the manifest may hold once every alias is expanded (the demo has about 200)."""
GiB = 1 << 30
MiB = 1 << 20


def _no_controls(value: str) -> str:
    """A path or URL without control characters (C0, DEL, C1, bidi overrides)."""
    shown = visible(value)
    if shown != value:
        bad = next(c for c in value if visible(c) != c)
        raise ValueError(
            f"contains the control character {visible(bad)} ({_short(shown)}); "
            f"rename the file or folder, or fix the value"
        )
    return value


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


PathText = Annotated[str, AfterValidator(_no_controls)]
"""A path, glob or URL as written in the manifest: printed later, so no control characters."""


# Repository licences kept by default (SPDX ids): permissive ones only.
PERMISSIVE_LICENSES = (
    "MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "0BSD", "Zlib",
    "BSL-1.0", "Unlicense", "CC0-1.0", "PSF-2.0",
)


class Source(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=100)
    kind: Literal["warc", "code"]
    inputs: list[PathText] = []
    """Local paths/globs, http(s):// URLs, s3:// (or other pyarrow.fs) URIs; see stages/inputs.py."""
    domain: str = Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=100)
    # warc: a Common Crawl paths file (warc.paths.gz / wet.paths.gz) instead of, or beside, inputs
    paths_file: PathText | None = None
    prefix: PathText = "https://data.commoncrawl.org/"
    """Joined to each line of paths_file (Common Crawl's lines are relative)."""
    limit: int | None = Field(default=None, gt=0, le=10**9)
    """Read only the first N files of the paths file (after sampling); at most 1e9."""
    sample: float | None = Field(default=None, gt=0, le=1)
    """Keep this fraction of the paths file's files (deterministic by seed and path)."""
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    """Seed of `sample` (0 .. 2**63-1)."""
    snapshot: str | None = None
    """Snapshot name kept per document; default: the CC-MAIN-YYYY-WW found in the file's path."""
    anonymous: bool = False
    """Read this source's s3:// inputs, paths file and prefix without credentials (unsigned
    requests, for public buckets). Default: signed with the AWS SDK's credential chain
    (AWS_* variables, the AWS_PROFILE/default profile, web identity, the instance role)."""
    # code
    ref: str = "HEAD"
    """Git ref read from repositories (working trees and bare clones)."""
    licenses: list[str] = Field(default_factory=lambda: list(PERMISSIVE_LICENSES))
    """SPDX ids of repository licences to keep; ["*"] keeps every repository, even unlicensed."""

    @model_validator(mode="after")
    def _has_inputs(self) -> Source:
        if not self.inputs and not self.paths_file:
            raise ValueError("give `inputs` or `paths_file`")
        if self.paths_file and self.kind != "warc":
            raise ValueError("paths_file is for kind warc")
        if self.kind == "code" and any("://" in p for p in self.inputs):
            raise ValueError("code inputs are local folders, archives or datasets, not URLs")
        return self


class PrecheckSettings(_Model):
    """The extraction cascade (stages/precheck.py): rules that need only a page's URL or raw
    HTML run before the extractor, on the domains their stages apply to, so that extraction
    time goes only to pages that can survive. `extract.precheck: {urls: false, language: false}`
    turns it off (every page extracted, every stage after extraction, as before)."""

    urls: bool = True
    """Run URL-only stages (`url_blocklist`) before extraction, with their usual drop reasons."""
    language: bool = True
    """Where a `langid` stage keeps only some languages, drop pages whose raw HTML text is
    clearly in another language (`langid.precheck`) before extraction."""
    language_min_top: float = Field(default=0.9, ge=0.5, le=1)
    """The pre-check drops a page only when its top language (not kept) has at least this probability..."""
    language_max_kept: float = Field(default=0.02, ge=0, le=0.5)
    """... and the kept languages together at most this one."""


class ExtractSettings(_Model):
    """Every number has an upper bound (a typo of `http_retries: 1000000` would retry a dead
    URL for years, `max_record_bytes: 1e15` would let one record take every worker's memory)."""

    extractor: Literal["trafilatura", "resiliparse"] = "trafilatura"
    """trafilatura (options below) or resiliparse's main-content extractor (several times faster)."""
    timeout_s: float = Field(default=10.0, gt=0, le=3600)
    """Per-document extraction time limit (extract.timeout), at most an hour; needs the
    worker's main thread."""
    http_retries: int = Field(default=5, ge=0, le=20)
    """Retries of an http(s) input (connection errors, 429, 5xx), with exponential back-off;
    at most 20."""
    favor_precision: bool = False
    favor_recall: bool = False
    include_tables: bool = True
    include_comments: bool = False
    max_record_bytes: int = Field(default=10_000_000, gt=0, le=GiB)
    """Larger HTTP payloads are skipped (warc.too_large) instead of parsed; at most 1 GiB."""
    max_code_file_bytes: int = Field(default=1_000_000, gt=0, le=256 * MiB)
    """Larger code files are skipped; at most 256 MiB."""
    files_per_task: int = Field(default=256, gt=0, le=100_000)
    """Code files read per Spark task (a WARC file is always one task); at most 100,000."""
    bytes_per_task: int = Field(default=256 * MiB, gt=0, le=4 * GiB)
    """Code bytes read per Spark task: a folder or repository is split by bytes as well as by
    files, so no task emits more text than this (at most 4 GiB)."""
    max_header_line_bytes: int = Field(default=64 << 10, gt=0, le=16 * MiB)
    """A longer WARC or HTTP header line makes the record `warc.bad_header`; at most 16 MiB."""
    max_header_bytes: int = Field(default=256 << 10, gt=0, le=16 * MiB)
    """A larger WARC or HTTP header block makes the record `warc.bad_header`; at most 16 MiB."""
    max_license_bytes: int = Field(default=128 << 10, gt=0, le=16 * MiB)
    """Only this prefix of a LICENSE/COPYING file is read to detect the licence (at most 16 MiB;
    a text of more than 24,000 words is identified by its title only)."""
    max_archive_bytes: int = Field(default=GiB, gt=0, le=64 * GiB)
    """An archive whose members expand to more than this is `code.archive_too_large`; at
    most 64 GiB."""
    max_archive_members: int = Field(default=100_000, gt=0, le=10_000_000)
    """An archive with more members than this is `code.archive_too_large`; at most 10 million."""
    precheck: PrecheckSettings = PrecheckSettings()
    """Early rules before extraction (see PrecheckSettings)."""


class MinHashSettings(_Model):
    """Fuzzy dedup (stages/dedup_fuzzy.py): MinHash-LSH candidates, verified, clustered."""

    ngram: int = Field(default=5, gt=0, le=100)
    """Tokens per shingle (words; characters in scripts written without spaces); at most 100."""
    num_perm: int = Field(default=128, ge=2, le=1024)
    threshold: float = Field(default=0.8, gt=0, le=1)
    """Shingle Jaccard at which two documents are duplicates (checked when `verify`)."""
    lsh_threshold: float = Field(default=0.6, gt=0, le=1)
    """Jaccard the LSH bands are tuned for, below `threshold` so that pairs at `threshold`
    become candidates with >= 98% chance; verification removes the pairs below `threshold`."""
    false_positive_weight: float = Field(default=0.5, ge=0, le=1)
    false_negative_weight: float = Field(default=0.5, ge=0, le=1)
    bands: int | None = Field(default=None, gt=0, le=1024)
    rows: int | None = Field(default=None, gt=0, le=1024)
    """Set both to override the (bands, rows) that datasketch chooses from the above."""
    verify: bool = True
    """Compute each candidate pair's true Jaccard and keep only pairs >= `threshold`."""
    seed: int = Field(default=1, ge=0, le=2**32 - 1)
    """datasketch's permutations come from numpy's RandomState, which takes 0 .. 2**32-1."""
    components_local_max_edges: int = Field(default=200_000, ge=0, le=100_000_000)
    """Verified edge lists up to this size are clustered by union-find on the driver;
    larger ones by large-star/small-star rounds in Spark (0: always in Spark). At most 1e8:
    the driver holds the edge list in memory."""
    local_max_docs: int = Field(default=50_000, ge=0, le=1_000_000)
    """Runs with at most this many documents to dedup find candidates, clusters and survivors
    on the driver (the same result as the Spark path, without its two dozen small jobs); 0:
    always in Spark. Not with `verify` or `dedup.against`. At most 1e6: the driver holds the
    documents' band keys (`bands` int64 each)."""
    survivor_score: str | None = "quality_score"
    """Survivor of a cluster: highest value of this column (when the rows have it), then
    `survivor`'s rule, then the smallest id."""
    survivor: Literal["longest", "first"] = "longest"
    """`longest`: the longest text. `first`: the earliest in input order (input file, then
    WARC offset or record number, then path), as a clusterer that keeps the first document it
    read does (datatrove's)."""

    @model_validator(mode="after")
    def _bands_rows(self) -> MinHashSettings:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both dedup.minhash.bands and dedup.minhash.rows, or neither")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if abs(self.false_positive_weight + self.false_negative_weight - 1.0) > 1e-9:
            raise ValueError("false_positive_weight + false_negative_weight must be 1")
        return self


class LineDedupSettings(_Model):
    """Boilerplate lines and paragraphs across documents (stages/dedup_lines.py)."""

    policy: Literal["boilerplate", "first"] = "boilerplate"
    """`boilerplate`: remove lines found in >= `min_docs` documents on >= `min_hosts` hosts;
    `first` (CCNet): keep only the first copy of each line, in the survivor order."""
    min_docs: int = Field(default=10, ge=2, le=10**12)
    min_hosts: int = Field(default=3, ge=1, le=10**12)
    min_line_chars: int = Field(default=10, ge=0, le=100_000)
    """Lines shorter than this (normalised) are left alone."""
    paragraphs: bool = True
    """Also hash paragraphs (2+ lines between blank lines) and remove repeated ones whole."""
    include_code: bool = False
    """Code documents take part too (off: a licence header is not boilerplate to a model)."""
    min_chars_left: int = Field(default=100, ge=0, le=10**9)
    """A document left with fewer normalised characters is dropped (`dedup.lines_too_short`)."""


class SpanDedupSettings(_Model):
    """Passages copied into several documents (stages/dedup_spans.py)."""

    min_span_tokens: int = Field(default=50, ge=5, le=10_000)
    """Shortest repeated span cut, in words."""
    include_code: bool = False
    min_chars_left: int = Field(default=100, ge=0, le=10**9)
    """A document left with fewer normalised characters is dropped (`dedup.spans_too_short`)."""


class SiteCapSettings(_Model):
    """Caps per site (stages/dedup_sitecaps.py); set at least one of the two caps."""

    by: Literal["host", "domain"] = "domain"
    """`domain`: the registered domain (public suffix list bundled with tldextract)."""
    max_docs: int | None = Field(default=None, gt=0, le=10**12)
    max_tokens: int | None = Field(default=None, gt=0, le=10**15)
    """Counted as words (the tokenizer runs after dedup)."""

    @model_validator(mode="after")
    def _some_cap(self) -> SiteCapSettings:
        if self.max_docs is None and self.max_tokens is None:
            raise ValueError("set dedup.site_caps.max_docs or dedup.site_caps.max_tokens (or both)")
        return self


class DedupSettings(_Model):
    exact: bool = True
    url: bool = True
    """Same URL in several crawls: keep the newest fetch (stages/dedup_url.py)."""
    minhash: MinHashSettings | None = None
    """Fuzzy dedup; off unless given (`minhash: {}` for the defaults)."""
    lines: LineDedupSettings | None = None
    """Boilerplate lines and paragraphs, after document dedup; off unless given."""
    spans: SpanDedupSettings | None = None
    """Repeated spans of >= `min_span_tokens` words; off unless given."""
    site_caps: SiteCapSettings | None = None
    """At most so many documents/words per site; off unless given."""
    subdoc_local_max_docs: int = Field(default=50_000, ge=0, le=1_000_000)
    """`lines`, `spans` and `site_caps` over at most this many rows (and 64M characters of text) run in
    the driver's process, with the same result as on Spark, without its two dozen small jobs;
    0: always on Spark."""
    survivor_score: str | None = "quality_score"
    """Order of `lines` (policy first), `spans` and `site_caps`: the highest value of this
    column first (rows without it: lowest), then the smallest id."""
    against: list[PathText] = Field(default_factory=list, max_length=64)
    """Dedup indexes of released corpora (`curator dedup-index save`), relative to the
    manifest's folder: this run's documents that match them are removed (`dedup.url_prior`,
    `dedup.exact_prior`, `dedup.minhash_prior`; stages/dedup_prior.py)."""


class GroupSettings(_Model):
    """One domain split into groups by a column (stages/mix_groups.py)."""

    by: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    """A column the documents have when they are mixed: lang, source, quality_score, ..."""
    bins: list[float] | None = Field(default=None, min_length=1, max_length=100)
    """For a numeric column: ascending edges; groups q1 (below the first) .. q<len+1>."""
    weights: dict[str, float] = Field(min_length=1, max_length=10_000)
    """Weight of each group inside the domain (normalised); groups not named get 0. `-` is
    the group of documents with no value in the column."""

    @model_validator(mode="after")
    def _check(self) -> GroupSettings:
        if self.bins is not None:
            if any(b >= a for a, b in zip(self.bins[1:], self.bins)):
                raise ValueError(f"bins {self.bins} must be strictly ascending")
            labels = {f"q{i + 1}" for i in range(len(self.bins) + 1)} | {"-"}
            unknown = sorted(set(self.weights) - labels)
            if unknown:
                raise ValueError(f"groups {unknown} are not bins; with {len(self.bins)} edges they are "
                                 f"q1 .. q{len(self.bins) + 1} (and - for no value)")
        for label, w in self.weights.items():
            if not 0 <= w <= MAX_WEIGHT or "/" in label or not label:
                raise ValueError(f"group {label!r}: weight {w}: weights are 0 .. {MAX_WEIGHT:.0e}, names non-empty without '/'")
        if sum(self.weights.values()) <= 0:
            raise ValueError("group weights sum to 0; at least one must be > 0")
        return self


class MixtureSettings(_Model):
    weights: dict[str, float]
    """Fraction of output tokens per domain (normalised to sum to 1); each finite, 0 .. 1e9."""
    budget_tokens: int | None = Field(default=None, gt=0, le=MAX_BUDGET_TOKENS)
    """Total output tokens, 1 .. 1e15 (a whole number; `1.5e12` is accepted); default: as
    many as the scarcest domain allows at one epoch."""
    max_epochs: float = Field(default=4.0, gt=0, le=MAX_EPOCHS)
    """Most passes over one domain's documents, finite and at most 1000."""
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    """Seed of the sampling hash (0 .. 2**63-1)."""
    strategy: Literal["weights", "natural", "temperature", "unimax"] = "weights"
    """How weights are set (curator/mix_strategies.py): as written, proportional to tokens,
    tokens ** (1/temperature), or UniMax (uniform, at most `unimax_epochs` per domain).
    Domains with weight 0 stay out under every strategy."""
    temperature: float = Field(default=1.0, gt=0, le=1000)
    """tau of the `temperature` strategy: 1 is natural, larger flattens towards uniform."""
    unimax_epochs: float | None = Field(default=None, gt=0, le=MAX_EPOCHS)
    """Most epochs per domain under `unimax`; default: max_epochs."""
    rehydrate: dict[int, int] | None = None
    """FineWeb-2's rehydration: duplicate-cluster size -> copies of the survivor, e.g.
    `{2: 2, 10: 3, 1000: 1}`: a kept document whose cluster (the larger of the exact and
    MinHash cluster sizes dedup recorded) has at least that many members counts that many times
    in its domain's pool before sampling (sizes below the smallest key count once). Sizes 1 ..
    1e9, copies 0 .. 100."""

    groups: dict[str, GroupSettings] | None = None
    """Hierarchical domains: `{web: {by: lang, weights: {en: 0.7, de: 0.3}}}` mixes web/en and
    web/de with web's weight shared between them (stages/mix_groups.py)."""

    @model_validator(mode="after")
    def _groups_of_domains(self) -> MixtureSettings:
        unknown = sorted(set(self.groups or {}) - set(self.weights))
        if unknown:
            raise ValueError(f"groups of {unknown}: not domains of mixture.weights ({', '.join(sorted(self.weights))})")
        return self

    @field_validator("budget_tokens", mode="before")
    @classmethod
    def _whole_budget(cls, v: Any) -> Any:
        """`1.5e12` (a float) and `2e12` (a string to YAML 1.1) are whole numbers of tokens."""
        if isinstance(v, str) and _SCIENTIFIC.fullmatch(v.strip()):
            v = float(v)
        if isinstance(v, float) and math.isfinite(v):
            if v > MAX_BUDGET_TOKENS:
                raise ValueError(f"budget_tokens is {v:g}; at most {MAX_BUDGET_TOKENS:.0e} tokens")
            if v.is_integer():
                return int(v)
        return v

    @field_validator("rehydrate")
    @classmethod
    def _rehydrate(cls, v: dict[int, int] | None) -> dict[int, int] | None:
        for size, copies in (v or {}).items():
            if not 1 <= size <= 10**9 or not 0 <= copies <= 100:
                raise ValueError(f"rehydrate {size}: {copies}: cluster sizes 1 .. 1e9, copies 0 .. 100")
        return v

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("at least one domain weight is needed")
        for domain, w in v.items():
            if w < 0:
                raise ValueError(f"weight of domain {domain!r} is {w}; weights must be >= 0")
            if w > MAX_WEIGHT:
                raise ValueError(f"weight of domain {domain!r} is {w:g}; weights must be <= {MAX_WEIGHT:.0e}")
        if sum(v.values()) <= 0:
            raise ValueError("weights sum to 0; at least one must be > 0")
        return v


class TokenizerSettings(_Model):
    path: PathText = "asset:gpt2"
    """A local directory or tokenizer.json for `transformers`, `asset:<name>`, or a tiktoken
    encoding shipped offline (`tiktoken:cl100k_base`)."""
    add_bos: bool = False
    add_eos: bool = True


class StageSettings(_Model):
    """One training stage of `shards.stages`: its window and its share of the mixed tokens."""

    seq_len: int
    tokens: int | None = Field(default=None, gt=0, le=MAX_BUDGET_TOKENS)
    """Tokens of this stage, relative to the other stages (scaled to what the mixture made)."""
    fraction: float | None = Field(default=None, gt=0, le=1)
    """Or: its share of the mixed tokens (0 < f <= 1)."""

    @model_validator(mode="after")
    def _one_amount(self) -> StageSettings:
        if (self.tokens is None) == (self.fraction is None):
            raise ValueError(f"stage seq_len {self.seq_len}: give exactly one of tokens or fraction")
        return self


class ShardSettings(_Model):
    seq_lens: list[int] = Field(default=[2048], min_length=1, max_length=16)
    """Window lengths, each 16 .. 1,048,576 tokens (2**20), at most 16 of them: one window
    is one array in memory, and each length writes a full copy of the shards."""
    formats: list[Literal["megatron", "olmo", "parquet", "arrayrecord"]] = Field(default=["megatron"], min_length=1)
    """megatron: .bin/.idx; olmo: flat uint32 .npy + document offsets; parquet: `input_ids`
    rows (HF datasets, Grain); arrayrecord: tf.train.Example records (Grain/MaxText)."""
    tokens_per_shard: int = Field(default=100_000_000, ge=MIN_TOKENS_PER_SHARD, le=MAX_TOKENS_PER_SHARD)
    """Tokens per shard file, 4096 .. 2**40 and at least the longest seq_len: each shard is
    one Spark task, so tiny shards would mean millions of tasks and files."""
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    """Seed of the global shuffle (0 .. 2**63-1)."""
    packing: Literal["concat", "best_fit"] = "concat"
    """concat: one stream cut every seq_len tokens (documents cut at window edges); best_fit:
    documents that fit a window are never cut, longer ones are split into whole windows and
    the pieces placed by best-fit decreasing, the rest padded (stages/packing.py)."""
    pad_id: int | None = Field(default=None, ge=0)
    """Token id written on padding (segment id 0 marks it either way); default: the
    tokenizer's pad token, else its EOS, else 0."""
    lookahead: int = Field(default=1024, ge=1, le=1_000_000)
    """best_fit: documents placed together (and most windows kept open); more = less padding,
    more memory (at most lookahead * seq_len tokens per task)."""
    stages: list[StageSettings] | None = Field(default=None, min_length=1, max_length=16)
    """Training stages, e.g. [{seq_len: 2048, fraction: 0.8}, {seq_len: 8192, fraction: 0.2}]:
    each mixed document copy goes to one stage's shards (seq_lens then comes from here)."""
    curriculum: Literal["random", "length"] = "random"
    """How copies are sent to stages: random (seeded hash, shares of tokens) or length
    (longest documents to the longest stages)."""

    @model_validator(mode="before")
    @classmethod
    def _stage_lengths(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("stages"):
            lens = [s.get("seq_len") if isinstance(s, dict) else None for s in data["stages"]]
            if "seq_lens" in data and data["seq_lens"] != lens:
                raise ValueError("give either seq_lens or stages (whose seq_len values become seq_lens), not both")
            data = {**data, "seq_lens": lens}
        return data
    per_domain: bool = False
    """Also write each domain's documents, once each, as its own shard set under
    `shards/domains/<domain>/`, for trainers that mix at train time (`curator mix export`)."""

    @field_validator("seq_lens")
    @classmethod
    def _seq_lens(cls, v: list[int]) -> list[int]:
        if any(n <= 0 for n in v):
            raise ValueError("sequence lengths must be > 0")
        bad = [n for n in v if not MIN_SEQ_LEN <= n <= MAX_SEQ_LEN]
        if bad:
            raise ValueError(f"sequence length {bad[0]} is out of range; each must be {MIN_SEQ_LEN} .. {MAX_SEQ_LEN:,}")
        if len(set(v)) != len(v):
            raise ValueError("sequence lengths must be distinct")
        return v

    @model_validator(mode="after")
    def _shard_holds_a_window(self) -> ShardSettings:
        if self.tokens_per_shard < max(self.seq_lens):
            raise ValueError(f"tokens_per_shard {self.tokens_per_shard} is below the longest seq_len {max(self.seq_lens)}")
        if self.stages and len({s.fraction is None for s in self.stages}) > 1:
            raise ValueError("stages: give every stage tokens, or every stage a fraction, not a mix")
        if self.stages and self.stages[0].fraction is not None and sum(s.fraction for s in self.stages) > 1 + 1e-9:
            raise ValueError("stages: the fractions add up to more than 1")
        return self

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"formats must be distinct, got {v}")
        return v


class SparkSettings(_Model):
    master: str = "local[*]"
    driver_memory: str = Field(default="4g", pattern=r"^[1-9][0-9]{0,6}[kKmMgGtT]?$")
    """A JVM memory size such as 4g or 2048m."""
    shuffle_partitions: int = Field(default=8, gt=0, le=100_000)
    conf: dict[str, str] = {}


class OutputSettings(_Model):
    dir: PathText = Field(default="runs", min_length=1, max_length=4096)
    """Folder that holds run directories (relative to the working directory, `~` expanded); it
    may not be a file, `/`, your home folder or the manifest's folder (see curator/rundir.py)."""
    rejected_samples: int = Field(default=20, ge=0, le=1000)
    """Rejected documents kept per drop reason under rejected/, for people to read (at most
    1000: they are collected on the driver)."""
    dropped_text: Literal["samples", "all"] = "samples"
    """What extracted/ and annotated/ keep of a dropped document's text: `samples`, only what
    the rejected samples need (curator/lean_text.py), or `all` of it (to read dropped pages
    back from the phase's Parquet)."""

    def dropped_text_samples(self) -> int | None:
        """The `samples` argument of the extract and annotate workers (None: keep every text)."""
        return self.rejected_samples if self.dropped_text == "samples" else None


class StageEntry(BaseModel):
    """One item of `stages:`: the name as the manifest writes it (`c4`, `mymod:MyFilter`), the
    stage class it names, and its settings parsed once into the stage's Settings model (every
    default filled in). Workers get these models as they are; nothing validates them again.
    Written back (manifest.lock.yaml) as `- <name>: {settings}`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    stage: Any = Field(exclude=True)
    settings: Any

    @model_validator(mode="before")
    @classmethod
    def _from_item(cls, value: Any) -> Any:
        """`{name: settings}` as written in YAML (Manifest.model_validate on a plain dict):
        parsed by `parse_stage`, every problem in one message."""
        if isinstance(value, dict) and set(value) != {"name", "stage", "settings"}:
            entry, problems = parse_stage(value, None, ".")
            if problems:
                raise PydanticCustomError("stage", "; ".join(problems))
            return {"name": entry.name, "stage": entry.stage, "settings": entry.settings}
        return value

    @model_serializer(mode="plain")
    def _as_item(self, info: SerializationInfo) -> dict[str, Any]:
        return {self.name: self.settings.model_dump(mode=info.mode)}

    def spec(self) -> tuple[str, dict[str, Any]]:
        """(name, settings as JSON values): what the run's fingerprint hashes."""
        return self.name, self.settings.model_dump(mode="json")


class Manifest(_Model):
    run: str = Field(max_length=100)
    """The run directory's name under output.dir: one folder name of letters, digits, `.`,
    `_` and `-`, not starting with `.` (so never `.` or `..`)."""
    sources: list[Source] = Field(min_length=1)
    extract: ExtractSettings = ExtractSettings()
    stages: list[StageEntry] = []
    """Per-document stages in order, each parsed into its Settings model (see `parse_stage`)."""
    dedup: DedupSettings = DedupSettings()
    mixture: MixtureSettings
    tokenizer: TokenizerSettings = TokenizerSettings()
    shards: ShardSettings = ShardSettings()
    spark: SparkSettings = SparkSettings()
    output: OutputSettings = OutputSettings()

    # Filled by load(): where relative input paths are resolved from.
    base_dir: str = Field(default=".", exclude=True)

    @field_validator("run")
    @classmethod
    def _run_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", v):
            raise ValueError(
                f"{v!r} is not a folder name: use letters, digits, '.', '_' and '-', not starting with '.'"
            )
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> Manifest:
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
        """The stages as (name, settings with every default) pairs, in order."""
        return [e.spec() for e in self.stages]


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _format_error(err: dict) -> str:
    where = _loc(err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "literal_error" or err["type"].endswith(("_type", "_parsing", "finite_number")):
        msg = f"{msg} (got {_shown(err.get('input'))})"
    return f"{where}: {msg}" if where else msg


def _non_finite(value: Any, where: str) -> str | None:
    """The path of the first NaN or infinite float inside a stage's settings."""
    if isinstance(value, float) and not math.isfinite(value):
        return where
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for k, v in items:
        found = _non_finite(v, f"{where}[{k}]" if isinstance(k, int) else f"{where}.{k}")
        if found:
            return found
    return None


def anchor_path(value: Any, base_dir: str) -> Any:
    """A relative local path made absolute from `base_dir`; `asset:`/`tiktoken:` names, URIs,
    absolute paths and lists of them are resolved item by item or left as they are."""
    if isinstance(value, list):
        return [anchor_path(v, base_dir) for v in value]
    if (not isinstance(value, str) or not value or os.path.isabs(value) or "://" in value
            or value.startswith(("asset:", "tiktoken:"))):
        return value
    return os.path.normpath(os.path.join(base_dir, value))


def anchor_settings(settings: BaseModel, base_dir: str) -> BaseModel:
    """Parsed stage settings with the values of their path-typed fields (stages.base.AssetPath,
    alone, optional or in lists) anchored at `base_dir`: executors run in other folders."""
    from stages.base import path_fields

    for field in path_fields(type(settings)):
        setattr(settings, field, anchor_path(getattr(settings, field), base_dir))
    return settings


def anchor_stage_paths(settings: dict[str, Any], base_dir: str, stage: str | None = None) -> dict[str, Any]:
    """Raw stage settings (a manifest being written) with their path-typed fields anchored;
    `stage` names the stage; without it, every field that is a path in any known stage."""
    from stages import find, registry
    from stages.base import path_fields

    classes = [find(stage)] if stage is not None else list(registry().values())
    keys = {f for cls in classes for f in path_fields(cls.Settings)}
    return {k: anchor_path(v, base_dir) if k in keys else v for k, v in (settings or {}).items()}


def parse_stage(item: Any, index: int | None, base_dir: str | None) -> tuple[StageEntry | None, list[str]]:
    """One `stages:` item parsed into its StageEntry, or None and every problem found in it,
    each as one line starting with its path (`stages[3].c4.min_sentences: ...`)."""
    from stages import find

    at = f"stages[{index}]" if index is not None else "stage"
    if not isinstance(item, dict) or len(item) != 1:
        return None, [f"{at}: write each stage as `- <name>: {{settings}}`"]
    name, settings = next(iter(item.items()))
    if not isinstance(name, str):
        return None, [f"{at}: the stage name must be text, got {_shown(name)}"]
    try:
        cls = find(name)
    except LookupError as e:
        return None, [f"{at}: {e}"]
    except TypeError as e:  # a plug-in that reuses a stage's name, raised as its module loads
        return None, [f"{at}: {e}"]
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        return None, [f"{at}.{name}: the settings must be a mapping of keys to values, got {_shown(settings)}"]
    bad = _non_finite(settings, f"{at}.{name}")
    if bad:
        return None, [f"{bad}: Input should be a finite number"]
    try:
        validated = cls.Settings.model_validate(settings)
    except ValidationError as e:
        return None, [f"{at}.{name}{'.' if err['loc'] else ': '}{_format_error(err)}" for err in e.errors()]
    problems = [
        f"{at}.{name}.{key}: Input should be a number, not a boolean (got {value})"
        for key, value in settings.items()  # `min_doc_words: true` is not 1
        if isinstance(value, bool) and not isinstance(getattr(validated, key, None), bool)
    ]
    if problems:
        return None, problems
    if base_dir is not None:
        anchor_settings(validated, base_dir)
    return StageEntry.model_construct(name=name, stage=cls, settings=validated), []


def parse_stages(items: Any, base_dir: str) -> tuple[list[StageEntry], list[str]]:
    """Every item of `stages:` parsed; the entries and every problem of every stage."""
    if not isinstance(items, list):
        return [], [f"stages: Input should be a valid list (got {_shown(items)})"]
    entries, problems = [], []
    for i, item in enumerate(items):
        entry, found = parse_stage(item, i, base_dir)
        problems += found
        if entry is not None:
            entries.append(entry)
    return entries, problems


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
            raise InputError(
                f"sources[{source_index}].inputs[{j}]: no file matches {pattern!r} "
                f"(looked for {full}; relative paths start at the manifest's folder)"
            )
        paths.extend(os.path.abspath(p) for p in matches)
    return paths


def _problems(problems: list[str], cls: type[ManifestError] = ManifestError) -> ManifestError:
    """Every problem found, as one line joined by "; " (each starts with its path); the list
    itself is kept on the error as `.problems`."""
    err = cls("; ".join(problems))
    err.problems = list(problems)
    return err


def parse(data: Any, base_dir: str = ".") -> Manifest:
    """The validated manifest; ManifestError listing every problem of the manifest and of
    each stage's settings in one message (a single problem is a single line as before)."""
    if not isinstance(data, dict):
        raise ManifestError("the manifest must be a YAML mapping at the top level")
    base_dir = os.path.abspath(base_dir)
    order = list(data)
    found: list[tuple[int, str]] = []  # (position of the top-level key, problem): the file's order
    m = None
    try:
        m = Manifest.model_validate({k: v for k, v in data.items() if k != "stages"})
    except ValidationError as e:
        for err in e.errors():
            top = err["loc"][0] if err["loc"] else None
            found.append((order.index(top) if top in order else len(order), _format_error(err)))
    entries, stage_problems = parse_stages(data.get("stages", []), base_dir)
    at = order.index("stages") if "stages" in order else len(order)
    found += [(at, p) for p in stage_problems]
    if found:
        raise _problems([p for _, p in sorted(found, key=lambda x: x[0])])
    m.stages = entries
    m.base_dir = base_dir
    m.output.dir = os.path.expanduser(m.output.dir)  # once: the checks and the run use this
    problems: list[str] = []
    only_inputs = True  # every problem is an input's (a file missing, nothing matching): InputError
    try:
        check_location(m.run_dir, m.base_dir)
    except ManifestError as e:
        problems.append(str(e))
        only_inputs = False
    m.tokenizer.path = anchor_path(m.tokenizer.path, m.base_dir)
    seen: dict[str, str] = {}
    for i, src in enumerate(m.sources):
        pf = src.paths_file
        if pf and "://" not in pf and not os.path.isfile(pf if os.path.isabs(pf) else os.path.join(m.base_dir, pf)):
            problems.append(f"sources[{i}].paths_file: {pf} not found (relative paths start at the manifest's folder)")
        try:
            paths = expand_inputs(m, i)
        except ManifestError as e:
            problems.append(str(e))
            only_inputs = only_inputs and isinstance(e, InputError)
            continue
        for p in paths:
            if p in seen:
                problems.append(f"sources[{i}]: input {p} is also read by source {seen[p]!r}")
                only_inputs = False
            seen[p] = src.name
    if problems:
        raise _problems(problems, InputError if only_inputs else ManifestError)
    return m


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses documents larger than `max_nodes` once aliases are expanded,
    and recursive aliases: YAML builds aliases as shared objects, so the loading itself is
    cheap, but validating or dumping the result walks every copy (billions for 1 KB)."""

    max_nodes = MAX_YAML_NODES

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _expanded_size(node, self.max_nodes)
        return node


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes in the document with every alias expanded; ManifestError past `limit`."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # iterative post-order walk: deep nesting cannot overflow the Python stack
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        kids = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else list(node.value)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(k)] for k in kids)
            if sizes[key] > limit:
                raise ManifestError(
                    f"line {node.start_mark.line + 1}: the YAML expands to more than {limit:,} values "
                    f"through aliases (*name); write the values out"
                )
            continue
        if key in open_nodes:
            raise ManifestError(f"line {node.start_mark.line + 1}: a YAML alias refers to itself")
        open_nodes.add(key)
        stack.append((node, True))
        for k in kids:
            if id(k) in open_nodes:
                raise ManifestError(f"line {k.start_mark.line + 1}: a YAML alias refers to itself")
            stack.append((k, False))
    return sizes[id(root)]


def load_yaml(text: str, where: str | os.PathLike, max_nodes: int = MAX_YAML_NODES) -> Any:
    """YAML text parsed safely and with bounds (aliases may not expand it past `max_nodes`,
    nesting may not exhaust the stack); every problem is a one-line ManifestError that starts
    with `where` (the file's name). The only YAML reader of the project: manifests and a
    run's manifest.lock.yaml (which `curator diff`, `stats` and `report` read) are both input."""
    where = visible(str(where))
    loader = None
    try:
        loader = _BoundedLoader(text)  # the reader checks the characters here already
        loader.max_nodes = max_nodes
        return loader.get_single_data()
    except yaml.reader.ReaderError as e:
        raise ManifestError(
            f"{where}: not valid YAML (character #x{e.character:04x} at offset {e.position} is not allowed)"
        ) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        problem = " ".join(str(getattr(e, "problem", None) or e).split())
        raise ManifestError(f"{where}{at}: not valid YAML ({problem})") from None
    except ManifestError as e:
        raise ManifestError(f"{where} {e}") from None
    except RecursionError:
        raise ManifestError(f"{where}: not valid YAML (nested too deeply)") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_text(path: Path) -> str:
    """The manifest's text: at most MAX_MANIFEST_BYTES, UTF-8 (a BOM is allowed)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_MANIFEST_BYTES + 1)
    except OSError as e:
        raise ManifestError(f"{path}: cannot read the manifest ({e.strerror})") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{path}: larger than {MAX_MANIFEST_BYTES >> 20} MiB; a manifest is a few kilobytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ManifestError(
            f"{path}: not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}); save the manifest as UTF-8"
        ) from None


def load(path: str | os.PathLike, inputs: list[str] | None = None, sets: list[str] | None = None) -> Manifest:
    """Read and validate a manifest file; every problem is a one-line ManifestError.
    `inputs` and `sets` are command-line overrides (curator/overrides.py)."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    data = load_yaml(read_text(path), path)
    if inputs or sets:
        from curator.overrides import apply_overrides

        try:
            data = apply_overrides(data, inputs, sets)
        except ManifestError as e:
            raise ManifestError(f"{path}: {e}") from None
    try:
        return parse(data, base_dir=str(path.parent))
    except ManifestError as e:
        err = type(e)(f"{path}: {e}")  # an InputError stays one
        err.problems = [f"{path}: {p}" for p in getattr(e, "problems", [str(e)])]
        raise err from None
    except RecursionError:
        raise ManifestError(f"{path}: values nested too deeply") from None


def dump_resolved(m: Manifest) -> str:
    """The manifest with every default filled in, as written to manifest.lock.yaml; inputs,
    paths files and prefixes are written with their secrets masked (curator/redact.py)."""
    data = m.model_dump(mode="json")
    for src in data["sources"]:
        src["inputs"] = [redact_input(p) for p in src["inputs"]]
        src["paths_file"] = redact_input(src["paths_file"])
        src["prefix"] = redact_input(src["prefix"])
    return yaml.safe_dump(data, sort_keys=False)
