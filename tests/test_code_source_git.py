"""Code inputs: a git repository read at a ref (working tree and bare clone), archives, The
Stack-style datasets, licence detection and the allow-list; exactly which files come out."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import zipfile
from collections import Counter

import pytest

from curator.manifest import PERMISSIVE_LICENSES, ExtractSettings
from curator.schema import code_doc_id, git_blob_sha
from stages import licenses
from stages.code_source import code_tasks, read_code_task
from tests.licence_texts import MIT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MAIN_V1 = b"def main():\n    return 1\n"
MAIN_V2 = b"def main():\n    return 2\n"
UTIL = b"package util\n\nfunc Add(a, b int) int { return a + b }\n"


def git(cwd, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
           "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True).stdout.decode().strip()


@pytest.fixture
def repo(tmp_path):
    """Two commits; a LICENSE, a vendored folder, a binary, a lock file, a symlink out of the
    tree, a notebook; the working tree then changes without a commit."""
    r = tmp_path / "widget"
    (r / "src").mkdir(parents=True)
    git(r, "init", "-q", "-b", "main")
    (r / "LICENSE").write_text(MIT)
    (r / "src" / "main.py").write_bytes(MAIN_V1)
    (r / "src" / "util.go").write_bytes(UTIL)
    git(r, "add", "-A")
    git(r, "commit", "-qm", "first")
    first = git(r, "rev-parse", "HEAD")
    (r / "src" / "main.py").write_bytes(MAIN_V2)
    (r / "node_modules" / "left-pad").mkdir(parents=True)
    (r / "node_modules" / "left-pad" / "index.js").write_text("module.exports = s => s;\n")
    (r / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(32))
    (r / "yarn.lock").write_text("# lock\n")
    (r / "app.min.js").write_text("var a=1;\n")
    (r / "escape.py").symlink_to(tmp_path / "outside.py")
    (tmp_path / "outside.py").write_text("SECRET = 1\n")
    nb = {"cells": [{"cell_type": "markdown", "source": ["# Title"]},
                    {"cell_type": "code", "source": ["import math\n", "print(math.pi)"]}],
          "metadata": {"kernelspec": {"language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    (r / "demo.ipynb").write_text(json.dumps(nb))
    git(r, "add", "-A")
    git(r, "commit", "-qm", "second")
    (r / "src" / "main.py").write_bytes(b"def main():\n    return 'uncommitted'\n")  # not read
    (r / "untracked.py").write_text("x = 1\n")  # not read
    return r, first


def rows_of(path, ref="HEAD", allow=PERMISSIVE_LICENSES):
    settings = ExtractSettings()
    return [row for t in code_tasks(str(path), ref, 256) for row in read_code_task(t, "gh", "code", settings, list(allow))]


def test_git_repo_at_head_gives_exactly_the_committed_files(repo):
    r, _ = repo
    rows = {row["meta"]["path"]: row for row in rows_of(r)}
    assert {p: row["drop_reason"] for p, row in rows.items()} == {
        "LICENSE": "code.unknown_extension",
        "app.min.js": "code.minified",
        "demo.ipynb": None,
        "escape.py": "code.symlink",
        "logo.png": "code.unknown_extension",
        "node_modules/left-pad/index.js": "code.vendored",
        "src/main.py": None,
        "src/util.go": None,
        "yarn.lock": "code.lock_file",
    }
    main = rows["src/main.py"]
    assert main["text"] == MAIN_V2.decode()  # the commit, not the working tree
    assert main["meta"]["license"] == "MIT" and main["meta"]["language"] == "Python"
    assert main["meta"]["blob_sha"] == git_blob_sha(MAIN_V2) == git(r, "rev-parse", "HEAD:src/main.py")
    assert main["id"] == code_doc_id("widget", "src/main.py", git_blob_sha(MAIN_V2))
    assert main["meta"]["commit"] == git(r, "rev-parse", "HEAD")
    assert rows["escape.py"]["text"] == ""
    nb = rows["demo.ipynb"]
    assert nb["text"] == "import math\nprint(math.pi)\n" and nb["meta"]["notebook_language"] == "python"
    assert all(row["meta"]["license"] == "MIT" for row in rows.values())


def test_binary_file_with_a_code_extension_is_dropped(repo):
    r, _ = repo
    (r / "blob.c").write_bytes(b"int x;\0\0\0\x01")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "bin")
    rows = {row["meta"]["path"]: row["drop_reason"] for row in rows_of(r)}
    assert rows["blob.c"] == "code.binary"


def test_older_ref_and_bare_clone(repo, tmp_path):
    r, first = repo
    old = {row["meta"]["path"]: row for row in rows_of(r, ref=first)}
    assert sorted(old) == ["LICENSE", "src/main.py", "src/util.go"]
    assert old["src/main.py"]["text"] == MAIN_V1.decode()
    bare = tmp_path / "mirror" / "widget.git"
    git(tmp_path, "clone", "-q", "--bare", str(r), str(bare))
    from_bare = {row["id"]: row["drop_reason"] for row in rows_of(bare)}
    from_tree = {row["id"]: row["drop_reason"] for row in rows_of(r)}
    assert from_bare == from_tree  # same repo name, paths and blobs -> same ids


def test_a_folder_of_repositories_and_a_fork_share_ids(repo, tmp_path):
    r, _ = repo
    root = tmp_path / "repos"
    root.mkdir()
    git(tmp_path, "clone", "-q", str(r), str(root / "widget"))
    git(tmp_path, "clone", "-q", str(r), str(root / "widget-fork"))
    rows = rows_of(root)
    kept = [row for row in rows if row["drop_reason"] is None]
    by_repo = Counter(row["meta"]["repo"] for row in kept)
    assert by_repo == {"widget": 3, "widget-fork": 3}
    texts = Counter(row["text"] for row in kept)
    assert all(n == 2 for n in texts.values())  # the fork's files are exact duplicates by text


def test_unlicensed_and_copyleft_repositories_are_dropped_by_default(repo, tmp_path):
    r, _ = repo
    (r / "LICENSE").write_text("GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n\n... GNU Lesser General Public License ...")
    git(r, "commit", "-qam", "gpl")
    rows = rows_of(r)
    assert {row["meta"]["license"] for row in rows} == {"GPL-3.0"}
    assert Counter(row["drop_reason"] for row in rows)["code.license"] == 3
    kept = [row for row in rows_of(r, allow=["*"]) if row["drop_reason"] is None]
    assert len(kept) == 3
    os.remove(r / "LICENSE")
    git(r, "commit", "-qam", "no licence")
    assert {row["meta"]["license"] for row in rows_of(r)} == {"NONE"}


def test_archives_of_a_repository(repo, tmp_path):
    r, _ = repo
    tgz = tmp_path / "widget-1a2b3c.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        for name, data in [("widget-1a2b3c/LICENSE", MIT.encode()), ("widget-1a2b3c/src/main.py", MAIN_V2),
                           ("widget-1a2b3c/vendor/lib.go", UTIL)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("widget-1a2b3c/passwd.py")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
        evil = tarfile.TarInfo("widget-1a2b3c/../../evil.py")
        evil.size = 4
        tf.addfile(evil, io.BytesIO(b"x=1\n"))
    rows = {row["meta"]["path"]: row for row in rows_of(tgz)}
    assert {p: row["drop_reason"] for p, row in rows.items()} == {
        "LICENSE": "code.unknown_extension", "src/main.py": None, "vendor/lib.go": "code.vendored",
        "passwd.py": "code.symlink", "widget-1a2b3c/../../evil.py": "code.escapes_repo",
    }
    main = rows["src/main.py"]
    assert main["meta"]["repo"] == "widget-1a2b3c" and main["meta"]["license"] == "MIT"
    assert main["meta"]["blob_sha"] == git_blob_sha(MAIN_V2)

    zpath = tmp_path / "gadget.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("gadget/COPYING", "Apache License\nVersion 2.0, January 2004\n")
        zf.writestr("gadget/lib.rs", "pub fn f() {}\n")
    zrows = rows_of(zpath)
    assert [(x["meta"]["path"], x["drop_reason"], x["meta"]["license"]) for x in zrows] == [
        ("COPYING", "code.unknown_extension", "Apache-2.0"), ("lib.rs", None, "Apache-2.0")]

    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(tgz.read_bytes()[:60])
    assert [x["drop_reason"] for x in rows_of(broken)] == ["code.corrupt"]


def test_stack_layout_datasets(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = [
        {"content": "print('hi')\n", "path": "a/hello.py", "repo": "o/r", "license": "MIT"},
        {"content": "int main(){}\n", "path": "m.c", "repo": "o/g", "license": "GPL-3.0"},
        {"content": "x", "path": "node_modules/x.js", "repo": "o/r", "license": "MIT"},
        {"content": "fn main() {}\n", "path": "src/main.rs", "repo": "o/two", "license": ["MIT", "Apache-2.0"]},
    ]
    pq.write_table(pa.Table.from_pylist(recs[:3]), tmp_path / "stack.parquet")
    (tmp_path / "stack.jsonl").write_text("\n".join(json.dumps(x) for x in recs) + "\n{broken\n")
    prow = rows_of(tmp_path / "stack.parquet")
    assert [x["drop_reason"] for x in prow] == [None, "code.license", "code.vendored"]
    assert prow[0]["id"] == code_doc_id("o/r", "a/hello.py", git_blob_sha(b"print('hi')\n"))
    jrows = rows_of(tmp_path / "stack.jsonl")
    assert [x["drop_reason"] for x in jrows] == [None, "code.license", "code.vendored", None, "code.corrupt"]
    assert jrows[3]["meta"]["license"] == "Apache-2.0 AND MIT"


@pytest.mark.parametrize("text, spdx", [
    (MIT, "MIT"),
    ("Apache License\n Version 2.0, January 2004\nhttp://www.apache.org/licenses/", "Apache-2.0"),
    ("Redistribution and use in source and binary forms, with or without modification... "
     "Neither the name of the copyright holder nor ...", "LicenseRef-unknown"),  # a fragment is no licence
    ("Redistribution and use in source and binary forms, with or without modification ...", "LicenseRef-unknown"),
    ("Permission to use, copy, modify, and/or distribute this software for any purpose with or without "
     "fee is hereby granted, provided that the above copyright notice and this permission notice appear "
     "in all copies.", "ISC"),
    ("GNU GENERAL PUBLIC LICENSE\nVersion 2, June 1991\n... GNU Library General Public License ...", "GPL-2.0"),
    ("GNU LESSER GENERAL PUBLIC LICENSE\nVersion 2.1, February 1999", "LGPL-2.1"),
    ("GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3, 19 November 2007", "AGPL-3.0"),
    ("This is free and unencumbered software released into the public domain.", "Unlicense"),
    ("SPDX-License-Identifier: MPL-2.0", "MPL-2.0"),
    ("All rights reserved. Ask us.", "LicenseRef-unknown"),
])
def test_licence_identification(text, spdx):
    assert licenses.identify(text) == spdx


def test_licence_detection_and_allow_list():
    assert licenses.detect({}) == "NONE"
    assert licenses.detect({"README.md": MIT}) == "NONE"  # only licence files count
    assert licenses.detect({"LICENSE-MIT": MIT, "LICENSE-APACHE": "Apache License Version 2.0"}) == "Apache-2.0 OR MIT"
    assert licenses.allowed("Apache-2.0 AND MIT", PERMISSIVE_LICENSES)
    assert not licenses.allowed("GPL-3.0 AND MIT", PERMISSIVE_LICENSES)
    assert licenses.allowed("GPL-3.0 OR MIT", PERMISSIVE_LICENSES)
    assert not licenses.allowed("NONE", PERMISSIVE_LICENSES) and licenses.allowed("NONE", ["*"])


def test_a_repository_git_cannot_read_is_counted_not_fatal(repo, tmp_path):
    r, _ = repo
    root = tmp_path / "repos"
    root.mkdir()
    git(tmp_path, "clone", "-q", str(r), str(root / "widget"))
    git(root, "init", "-q", "empty")  # no commit: HEAD names nothing
    rows = rows_of(root)
    bad = [x for x in rows if x["drop_reason"] == "code.bad_repo"]
    assert len(bad) == 1 and bad[0]["meta"]["repo"] == "empty" and "rev-parse" in bad[0]["meta"]["error"]
    assert sum(x["drop_reason"] is None for x in rows) == 3


def test_minified_code_is_dropped_but_prose_with_long_paragraphs_is_kept(tmp_path):
    from stages.code_rows import code_row

    s = ExtractSettings()
    para = ("This paragraph is written on one line, as many READMEs are. " * 8 + "\n\n") * 5
    js = "var a=" + ",".join(str(i) for i in range(400)) + ";\n"
    assert code_row("r", "README.md", para.encode(), "gh", "code", s, "MIT", ["MIT"])["drop_reason"] is None
    assert code_row("r", "app.js", js.encode(), "gh", "code", s, "MIT", ["MIT"])["drop_reason"] == "code.minified"
    gen = b"// Code generated by protoc-gen-go. DO NOT EDIT.\npackage pb\n"
    assert code_row("r", "api.go", gen, "gh", "code", s, "MIT", ["MIT"])["drop_reason"] == "code.generated"
