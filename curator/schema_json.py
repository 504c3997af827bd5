"""The JSON Schema of the manifest (`curator schema`), for editors to complete and check it.

Built from the pydantic models, so it cannot drift from what `curator validate` accepts:
the manifest's own sections, and under `stages:` one alternative per registered stage
(built in, installed through the `curator.stages` entry points, or defined so far) holding
that stage's Settings schema. A `module:Class` item is allowed with any settings (the class
is only known once imported). Checks that need the file system (inputs exist, the output
folder is safe) and cross-field rules are left to `curator validate`.
"""

from __future__ import annotations

import re
from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
PLUGIN_NAME = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*$"


def _prefixed(schema: dict[str, Any], prefix: str, defs: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its own `$defs` moved into `defs` under `prefix`-ed names (two stages may
    both define a model called `WordLimits`), its `$ref`s rewritten to match."""
    own = schema.pop("$defs", {})

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: fix(v) for k, v in node.items()}
            ref = out.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                out["$ref"] = f"#/$defs/{prefix}{ref[len('#/$defs/'):]}"
            return out
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    for name, sub in own.items():
        defs[f"{prefix}{name}"] = fix(sub)
    return fix(schema)


def stage_item_schemas(defs: dict[str, Any]) -> list[dict[str, Any]]:
    """One `{<name>: {settings}}` object schema per registered stage, by name."""
    from stages import registry

    items = []
    for name, cls in sorted(registry().items()):
        settings = _prefixed(cls.Settings.model_json_schema(), f"{re.sub(r'[^A-Za-z0-9_]', '_', name)}__", defs)
        settings.setdefault("title", f"{name} settings")
        if cls.__doc__:
            settings.setdefault("description", " ".join(cls.__doc__.split()))
        items.append({
            "type": "object",
            "title": name,
            "properties": {name: {"anyOf": [settings, {"type": "null"}]}},
            "required": [name],
            "additionalProperties": False,
        })
    items.append({
        "type": "object",
        "title": "module:Class",
        "description": "A stage class outside the project, imported by `module:Class`.",
        "patternProperties": {PLUGIN_NAME: {"type": ["object", "null"]}},
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
    })
    return items


def manifest_json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (draft 2020-12) with every registered stage's settings."""
    from curator.manifest import Manifest

    schema = Manifest.model_json_schema()
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    defs.pop("StageEntry", None)
    schema["properties"].pop("base_dir", None)  # filled by `load`, never written
    schema["properties"]["stages"] = {
        "type": "array",
        "title": "Stages",
        "description": "Per-document stages, in order: `- <name>: {settings}`.",
        "items": {"oneOf": stage_item_schemas(defs)},
        "default": [],
    }
    return {"$schema": SCHEMA_DIALECT, **schema}
