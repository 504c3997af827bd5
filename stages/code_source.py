"""Code directories -> document rows (domain `code`), one Spark task per group of files.

An input folder that is a git repository (has `.git`) is one repo; otherwise each folder
directly inside it is a repo. Files are read from the working tree; `.git` and symlinks are
never followed. Ids come from repo + path + git blob sha, so they are stable across runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from curator.schema import code_doc_id, git_blob_sha

# Extension -> language, after The Stack's naming.
LANGUAGES = {
    ".py": "Python", ".js": "JavaScript", ".mjs": "JavaScript", ".ts": "TypeScript",
    ".tsx": "TypeScript", ".jsx": "JavaScript", ".go": "Go", ".rs": "Rust", ".c": "C",
    ".h": "C", ".cc": "C++", ".cpp": "C++", ".hpp": "C++", ".java": "Java", ".kt": "Kotlin",
    ".scala": "Scala", ".rb": "Ruby", ".php": "PHP", ".cs": "C#", ".swift": "Swift",
    ".sh": "Shell", ".bash": "Shell", ".sql": "SQL", ".r": "R", ".jl": "Julia", ".lua": "Lua",
    ".hs": "Haskell", ".ml": "OCaml", ".ex": "Elixir", ".erl": "Erlang", ".dart": "Dart",
    ".md": "Markdown", ".rst": "reStructuredText", ".toml": "TOML", ".yaml": "YAML",
    ".yml": "YAML", ".json": "JSON", ".html": "HTML", ".css": "CSS", ".tex": "TeX",
    ".dockerfile": "Dockerfile", ".mk": "Makefile",
}
BY_NAME = {"Makefile": "Makefile", "Dockerfile": "Dockerfile", "CMakeLists.txt": "CMake"}


def list_code_files(root: str) -> list[tuple[str, str, str]]:
    """(repo, path inside repo, absolute path) for every file below root, sorted; .git skipped."""
    root = os.path.abspath(root)
    single_repo = os.path.isdir(os.path.join(root, ".git"))
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if single_repo:
                repo, path = os.path.basename(root), rel
            else:
                parts = rel.split(os.sep, 1)
                repo, path = (parts[0], parts[1]) if len(parts) == 2 else (os.path.basename(root), rel)
            out.append((repo, path.replace(os.sep, "/"), full))
    return out


def language_of(path: str) -> str | None:
    base = path.rsplit("/", 1)[-1]
    if base in BY_NAME:
        return BY_NAME[base]
    return LANGUAGES.get(os.path.splitext(base)[1].lower())


def read_code_file(repo: str, path: str, full: str, source: str, domain: str, settings) -> dict[str, Any]:
    meta = {"repo": repo, "path": path}
    url = f"{repo}/{path}"

    def row(doc_id, text, reason):
        return {
            "id": doc_id, "source": source, "kind": "code", "domain": domain, "url": url,
            "text": text, "lang": None, "lang_score": None, "meta": meta, "drop_reason": reason,
        }

    fallback_id = code_doc_id(repo, path, "")
    if os.path.islink(full):
        return row(fallback_id, "", "code.symlink")
    try:
        size = os.path.getsize(full)
        if size > settings.max_code_file_bytes:
            meta["bytes"] = str(size)
            return row(fallback_id, "", "code.too_large")
        with open(full, "rb") as f:
            data = f.read()
    except OSError as e:
        meta["error"] = f"{type(e).__name__}: {e}"[:500]
        return row(fallback_id, "", "code.unreadable")
    blob = git_blob_sha(data)
    meta.update(blob_sha=blob, bytes=str(len(data)))
    doc_id = code_doc_id(repo, path, blob)
    language = language_of(path)
    if language is None:
        return row(doc_id, "", "code.unknown_extension")
    meta["language"] = language
    if b"\0" in data[:8192]:
        return row(doc_id, "", "code.binary")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return row(doc_id, "", "code.not_utf8")
    if not text.strip():
        return row(doc_id, "", "code.empty")
    return row(doc_id, text, None)


def read_code(files: Iterator[tuple[str, str, str]], source: str, domain: str, settings):
    for repo, path, full in files:
        yield read_code_file(repo, path, full, source, domain, settings)
