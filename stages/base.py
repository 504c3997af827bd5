"""What a per-document stage is: settings, score columns, and a rule that marks rejects.

The split follows NeMo Curator's `score_document` / `keep_document`: scores are kept as
columns so that a threshold can change and be re-applied without re-running a model, and
the rule that rejects a document is named in `drop_reason` as "<stage>.<rule>"
(datatrove's `(False, "reason")`). Stages never delete rows; rows already dropped by an
earlier stage, and rows of domains the stage is not configured for, pass through untouched
(their score columns stay null).
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Annotated, Any, ClassVar, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

MAX_SETTING_MAGNITUDE = 1e15
"""No number in a stage's settings may exceed this in size, unless its field sets a tighter
bound: every threshold, count and size the stages use is far below it (Gopher's 100,000-word
maximum), and a typo such as `min_doc_words: 1e30` is refused instead of silently dropping
every document or sizing an allocation."""


def _check_numbers(value: Any) -> None:
    """ValueError for the first NaN, infinity or number larger than MAX_SETTING_MAGNITUDE in a
    setting (lists, tuples, dicts and nested settings are searched)."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        if abs(value) > MAX_SETTING_MAGNITUDE:
            raise ValueError(f"{value:g} is out of range; numbers in stage settings are at most {MAX_SETTING_MAGNITUDE:.0e} in size")
        return
    if isinstance(value, BaseModel):
        value = dict(value)
    if isinstance(value, Mapping):
        for k, v in value.items():  # keys too: {2: 0.2} maps n-gram sizes to limits
            _check_numbers(k)
            _check_numbers(v)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            _check_numbers(v)


def _path_text(value: str) -> str:
    from curator.manifest import _no_controls

    return _no_controls(value)


class _AssetPathMarker:
    """Marks a settings field as a file or folder: the manifest anchors relative values to its
    own folder (executors run elsewhere). `asset:` names and URIs are left as they are."""

    def __repr__(self) -> str:
        return "AssetPath"


ASSET_PATH = _AssetPathMarker()
AssetPath = Annotated[str, AfterValidator(_path_text), ASSET_PATH]
"""The type of a stage setting that names a file or folder (also inside `list[...]` or
`... | None`): the only thing a stage does to have it resolved from the manifest's folder."""


def _holds_path(annotation: Any) -> bool:
    if annotation is AssetPath:
        return True
    if typing.get_origin(annotation) is Annotated and ASSET_PATH in getattr(annotation, "__metadata__", ()):
        return True
    return any(_holds_path(a) for a in typing.get_args(annotation))


def path_fields(settings_cls: type[BaseModel]) -> list[str]:
    """Names of the fields of a Settings model whose type holds an AssetPath (`AssetPath`,
    `AssetPath | None`, `list[AssetPath]`, ...)."""
    return [
        name for name, f in settings_cls.model_fields.items()
        if ASSET_PATH in f.metadata or _holds_path(f.annotation)
    ]


class StageSettings(BaseModel):
    """Settings every stage accepts; a stage adds its own fields (unknown keys are rejected).
    Every number, in every stage's fields, is finite and at most MAX_SETTING_MAGNITUDE in
    size (a generic bound for fields that declare none of their own)."""

    model_config = ConfigDict(extra="forbid")

    domains: list[str] | None = None
    """Mixture domains this stage applies to; None means all."""

    @field_validator("*", mode="after")
    @classmethod
    def _sane_numbers(cls, value: Any) -> Any:
        _check_numbers(value)
        return value


class Threshold(NamedTuple):
    """A limit a stage applies to one score column: rows with `value op limit` false are
    rejected by `rule` ("<=" is a maximum, ">=" a minimum). Used to draw it on the report's
    histogram of that column and to point at the score that made a rule fire."""

    op: str
    limit: float
    rule: str
    key: str | None = None
    """A column (of the documents, or one the stage derives) that selects the rows this limit
    applies to, e.g. `domain` for per-domain limits; None: every row."""
    values: tuple[str | None, ...] | None = None
    """The `key` values this limit applies to."""
    exclude: bool = False
    """Apply to the rows whose `key` is NOT one of `values` (the default limit beside
    per-domain or per-language ones)."""


def thresholds_from(limits) -> dict[str, list[Threshold]]:
    """{column: [Threshold]} from (column, op, limit, rule) rows; None limits (rules turned off)
    are left out."""
    out: dict[str, list[Threshold]] = {}
    for col, op, limit, rule in limits:
        if limit is not None and limit != -1:
            out.setdefault(col, []).append(Threshold(op, float(limit), rule))
    return out


def breaks(t: Threshold, value: Any) -> bool:
    """True when `value` is on the rejected side of `t` (a null value was not measured)."""
    if value is None:
        return False
    return value < t.limit if t.op == ">=" else value > t.limit


def decide(limits: Mapping[str, Sequence[Threshold]], columns: Mapping[str, Sequence], n: int) -> list[str | None]:
    """Per row of `n`: the rule of the first limit (columns in the order of `limits`, then
    each column's limits in order) that the row's score breaks, or None. A limit with a `key`
    applies only to the rows whose `columns[key]` is (or, with `exclude`, is not) one of its
    `values`. The one rule every score-based stage is decided by, so that the limits it
    declares in `thresholds()` (the report's and `inspect`'s lines) are exactly those applied."""
    out: list[str | None] = [None] * n
    for column, rows in limits.items():
        scores = columns.get(column)
        if scores is None:
            continue
        for t in rows:
            keys = columns[t.key] if t.key is not None else None
            wanted = frozenset(t.values or ())
            for i in range(n):
                if out[i] is not None:
                    continue
                if keys is not None and ((keys[i] in wanted) == t.exclude):
                    continue
                if breaks(t, scores[i]):
                    out[i] = t.rule
    return out


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_REGISTRY: dict[str, type[Stage]] = {}
"""Stage name -> class, filled as stage classes are defined (see Stage.__init_subclass__)."""


class Stage:
    """A per-document step run inside `mapInArrow` (and in plain tests without Spark).

    A subclass that sets `name` registers itself under it when it is defined: a module that
    defines a stage is all it takes (see stages/__init__.py for how modules are found)."""

    name: ClassVar[str]
    Settings: ClassVar[type[StageSettings]] = StageSettings
    columns: ClassVar[dict[str, pa.DataType]] = {}
    language_note: ClassVar[str | None] = None

    def __call__(self, data):
        """Scores and decisions for a pandas DataFrame or Arrow table with a `text` column
        (curator/api.py): the notebook way to try a stage."""
        from curator.api import apply_stage

        return apply_stage(self, data)
    """For reports: which rules this stage skips or adapts for some languages, if any."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name is None:
            return  # an abstract base such as DocumentFilter
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise TypeError(f"{cls.__module__}.{cls.__qualname__}: stage name {name!r} must be letters, digits and '_', starting with a letter")
        old = _REGISTRY.get(name)
        if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__}: stage name {name!r} is already used by "
                f"{old.__module__}.{old.__qualname__}; give the stage another `name`"
            )
        _REGISTRY[name] = cls

    def __init__(self, settings: StageSettings | Mapping[str, Any] | None = None):
        if not isinstance(settings, StageSettings):
            settings = self.Settings.model_validate(dict(settings or {}))
        self.settings = settings

    # -- to implement -------------------------------------------------------------------
    def score_batch(self, docs: pa.Table) -> dict[str, Sequence]:
        """Score columns (one value per row of `docs`, None where not scored)."""
        return {}

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        """Per row: None to keep, or the name of the first rule that rejects it."""
        raise NotImplementedError

    @classmethod
    def thresholds(cls, settings: Mapping[str, Any] | StageSettings | None) -> dict[str, list[Threshold]]:
        """Score column -> the limits these settings put on it (none by default)."""
        return {}

    @classmethod
    def _settings(cls, settings: Mapping[str, Any] | StageSettings | None) -> StageSettings:
        if isinstance(settings, StageSettings):
            return settings
        return cls.Settings.model_validate(dict(settings or {}))

    @property
    def _limits(self) -> dict[str, list[Threshold]]:
        """This instance's `thresholds()`, computed once."""
        if "_limits_cache" not in self.__dict__:
            self.__dict__["_limits_cache"] = type(self).thresholds(self.settings)
        return self.__dict__["_limits_cache"]

    # -- the runner's entry point ---------------------------------------------------------
    def applies_to(self, batch: pa.RecordBatch) -> pa.Array:
        mask = pc.is_null(batch.column("drop_reason"))
        if self.settings.domains is not None:
            in_domains = pc.is_in(batch.column("domain"), value_set=pa.array(self.settings.domains))
            mask = pc.and_(mask, in_domains)
        return mask

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with this stage's score columns filled and its rejects marked.

        A score named like an existing column (e.g. `lang`) is written into it; the others
        are the stage's own `columns`, appended.
        """
        mask = self.applies_to(batch).to_pylist()
        rows = [i for i, m in enumerate(mask) if m]
        docs = pa.Table.from_batches([batch]).take(pa.array(rows, pa.int64()))
        scores = self.score_batch(docs) if rows else {}
        rules = self.keep_batch(docs, scores) if rows else []

        schema = self.output_schema(batch.schema)
        columns = {n: batch.column(n) for n in batch.schema.names}
        for name in list(scores) + [n for n in self.columns if n not in scores]:
            existing = name in columns
            full = columns[name].to_pylist() if existing else [None] * batch.num_rows
            for i, v in zip(rows, scores.get(name, ())):
                full[i] = v
            columns[name] = pa.array(full, type=schema.field(name).type)

        reasons = batch.column("drop_reason").to_pylist()
        for i, rule in zip(rows, rules):
            if rule is not None:
                reasons[i] = f"{self.name}.{rule}"
        columns["drop_reason"] = pa.array(reasons, pa.string())
        return pa.RecordBatch.from_pydict(columns, schema=schema)

    @classmethod
    def output_schema(cls, schema: pa.Schema) -> pa.Schema:
        """`schema` plus this stage's columns. A column already there with the same type is
        shared: the same stage listed twice with other `domains:` and thresholds (per-domain
        settings) fills the same score columns, each instance for its own rows."""
        from curator.schema import with_columns

        new = {}
        for name, dtype in cls.columns.items():
            i = schema.get_field_index(name)
            if i == -1:
                new[name] = dtype
            elif schema.field(i).type != dtype:
                raise ValueError(f"column {name!r} of stage {cls.name!r} is already in the schema as {schema.field(i).type}")
        return with_columns(schema, new)


class DocumentFilter(Stage):
    """A stage written one document at a time: `score_document` then `keep_document`."""

    fields: ClassVar[tuple[str, ...]] = ("text", "lang")
    """The columns `score_document` reads; only these are converted to Python objects."""

    @cached_property
    def _skipped_languages(self) -> frozenset[str]:
        from stages.text_stats import base_lang

        return frozenset(base_lang(x) for x in getattr(self.settings, "skip_languages", ()))

    def skips_language(self, lang: str | None) -> bool:
        """True when `lang` ('zh-Hans', 'ja', ...) is in the settings' `skip_languages`: the
        languages whose word-based rules this filter does not apply."""
        from stages.text_stats import base_lang

        return base_lang(lang) in self._skipped_languages

    def score_document(self, doc: Mapping[str, Any]) -> Mapping[str, Any]:
        raise NotImplementedError

    def keep_document(self, scores: Mapping[str, Any]) -> str | None:
        """The rule of the first limit in `thresholds()` that a score breaks, in the order
        they are declared; a null score was not measured and breaks nothing. The limits are
        declared once, so the report draws exactly the thresholds that decide."""
        return decide(self._limits, {k: [v] for k, v in scores.items()}, 1)[0]

    def score_batch(self, docs: pa.Table) -> dict[str, list]:
        per_doc = [self.score_document(d) for d in docs.select(list(self.fields)).to_pylist()]
        return {name: [s.get(name) for s in per_doc] for name in self.columns}

    def keep_batch(self, docs: pa.Table, scores: Mapping[str, Sequence]) -> list[str | None]:
        names = list(scores)
        return [
            self.keep_document({n: scores[n][i] for n in names}) for i in range(docs.num_rows)
        ]
