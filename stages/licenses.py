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

# (SPDX id, phrases that must all appear, phrases that must not), first match wins; texts
# are compared lower-cased with whitespace collapsed. A phrase starting with "^" must be in
# the title (first 300 characters): the GNU licences name each other in their bodies.
_RULES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("AGPL-3.0", ("^gnu affero general public license", "^version 3"), ()),
    ("LGPL-3.0", ("^gnu lesser general public license", "^version 3"), ()),
    ("LGPL-2.1", ("^gnu lesser general public license", "^version 2.1"), ()),
    ("LGPL-2.0", ("^gnu library general public license",), ()),
    ("GPL-3.0", ("^gnu general public license", "^version 3"), ()),
    ("GPL-2.0", ("^gnu general public license", "^version 2"), ()),
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
    head = t[:300]
    for spdx, must, must_not in _RULES:
        if all((p[1:] in head) if p[0] == "^" else (p in t) for p in must) and not any(p in t for p in must_not):
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
