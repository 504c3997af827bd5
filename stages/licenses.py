"""A repository's licence as an SPDX expression, from its LICENSE/COPYING files, and the
manifest's allow-list check.

Detection reads the licence files at the repository's root (LICENSE, LICENCE, COPYING,
UNLICENSE, with any extension) and matches each against the phrases that tell the common
licences apart (an `SPDX-License-Identifier:` line wins). Several files with different
licences give "A AND B", which is allowed only when every part is. A repository without a
licence file is "NONE" (all rights reserved); a text nothing matches is
"LicenseRef-unknown". Neither is permissive, so both are dropped under the default list.
"""

from __future__ import annotations

import re

NONE = "NONE"
UNKNOWN = "LicenseRef-unknown"
_FILE = re.compile(r"^(licen[cs]e|copying|unlicen[cs]e)([-._][\w.-]*)?$", re.I)
_SPDX_LINE = re.compile(r"SPDX-License-Identifier:\s*([A-Za-z0-9.+-]+(?:\s+(?:AND|OR|WITH)\s+[A-Za-z0-9.+-]+)*)")

# The GNU licences name each other in their bodies: the first GNU licence name in the text
# (its title) and the version after it decide.
_GNU = re.compile(r"gnu (affero |lesser |library )?general public license")
_GNU_VERSION = re.compile(r"^\W{0,3}(?:v\.?\s*|.{0,100}?version\s+)(\d(?:\.\d)?)")
_GNU_IDS = {"affero ": "AGPL", "lesser ": "LGPL", "library ": "LGPL", "": "GPL"}

# (SPDX id, phrases that must all appear, phrases that must not), first match wins; texts
# are compared lower-cased with whitespace collapsed.
_RULES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("Apache-2.0", ("apache license", "version 2.0"), ()),
    ("MPL-2.0", ("mozilla public license", "2.0"), ()),
    ("EPL-2.0", ("eclipse public license", "2.0"), ()),
    ("EPL-1.0", ("eclipse public license",), ()),
    ("BSL-1.0", ("boost software license",), ()),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",), ()),
    ("CC0-1.0", ("cc0 1.0 universal",), ()),
    ("CC-BY-SA-4.0", ("attribution-sharealike 4.0 international",), ()),
    ("CC-BY-4.0", ("attribution 4.0 international",), ()),
    ("WTFPL", ("do what the fuck you want to",), ()),
    ("Zlib", ("provided 'as-is', without any express or implied warranty", "altered source versions must be plainly marked"), ()),
    ("PSF-2.0", ("python software foundation license",), ()),
    ("MIT-0", ("permission is hereby granted, free of charge, to any person obtaining a copy",),
     ("the above copyright notice and this permission notice shall be included",)),
    ("MIT", ("permission is hereby granted, free of charge, to any person obtaining a copy",), ()),
    ("0BSD", ("permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted",),
     ("provided that the above copyright notice and this permission notice appear in all copies",)),
    ("ISC", ("permission to use, copy, modify, and",
             "distribute this software for any purpose with or without fee is hereby granted"), ()),
    ("BSD-4-Clause", ("redistribution and use in source and binary forms", "advertising materials"), ()),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "neither the name"), ()),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "may not be used to endorse"), ()),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",), ()),
]


def is_license_file(path: str) -> bool:
    """A licence file at the repository's root (not LICENSE files of vendored folders)."""
    return "/" not in path and bool(_FILE.match(path))


def identify(text: str) -> str:
    """The SPDX id of one licence text, or LicenseRef-unknown."""
    m = _SPDX_LINE.search(text)
    if m:
        return m.group(1).strip()
    t = " ".join(text.lower().replace("\u2019", "'").split())
    gnu = _GNU.search(t)
    if gnu:
        family = _GNU_IDS[gnu.group(1) or ""]
        v = _GNU_VERSION.search(t[gnu.end():gnu.end() + 130])
        version = v.group(1) if v else None
        if not version:
            version = "2.0" if family == "LGPL" and gnu.group(1) == "library " else None
        return f"{family}-{version if '.' in version else version + '.0'}" if version else f"LicenseRef-{family}"
    for spdx, must, must_not in _RULES:
        if all(p in t for p in must) and not any(p in t for p in must_not):
            return spdx
    return UNKNOWN


def detect(files: dict[str, str]) -> str:
    """The licence of a repository from {root file name: text} of its licence files."""
    found = sorted({identify(text) for name, text in files.items() if is_license_file(name)})
    if not found:
        return NONE
    if len(found) > 1 and UNKNOWN in found:  # e.g. a NOTICE-like COPYING beside a real LICENSE
        found.remove(UNKNOWN)
    return " AND ".join(found)


def allowed(expression: str, allow: list[str] | tuple[str, ...]) -> bool:
    """Whether a repository with this licence is kept: "*" keeps all; "A AND B" needs both;
    "A OR B" needs either."""
    if "*" in allow:
        return True
    ok = set(allow)
    for part in expression.split(" AND "):
        choices = [c.strip("() ") for c in part.split(" OR ")]
        if not any(c in ok for c in choices):
            return False
    return True
