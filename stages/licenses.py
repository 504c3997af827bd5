"""A repository's licence as an SPDX expression, from its LICENSE/COPYING files, and the
manifest's allow-list check.

Licence files are those at the repository's root named LICENSE, LICENCE, COPYING or UNLICENSE,
with any suffix. Each file is identified by its whole text, because a few added words change
a licence: MIT plus "The Software shall be used for Good, not Evil" is the JSON licence, MIT
plus "for non-commercial purposes only" or the Commons Clause is not open source at all.

- Both the file and the SPDX reference texts (stages/data/licenses.json, made by
  scripts/export_license_texts.py) are reduced to words: case, punctuation, list numbering,
  years, copyright statements and "All rights reserved" are ignored; a link to a licence's
  home (apache.org, gnu.org...) is the word "url", any other link the word "link"; a word in
  another script counts like any other ("仅限非商业用途").
- A copyright statement is ignored only when its holder reads as a name, by an allow-list of
  shapes: capitalised or short caseless words ("Jane Doe", "gRPC", "李小龙"), e-mails,
  @handles, domains, a link to a bare host or a code-host profile, "Inc", "LLC", "and its
  affiliates", "the X authors", "contributors of x", one lower-case word alone ("octocat"), at
  most 12 words, never a word of a condition ("only", "commercial", "excluding", "license"...).
  Anything else ("Jane Doe, who retains ownership of all derivative works") is licence text,
  so the file no longer matches.
- The references whose required words the file contains are aligned with it (difflib, on
  word pairs). A reference matches when every one of its required words is there (titles,
  warranty disclaimers, limitations of liability and "how to apply" appendices may be
  missing, and a name of up to ~8 words may stand where the reference has one to fill in,
  "Neither the name of <organization> nor", when it reads as a name by the same shapes as a
  copyright holder) and the file adds no word inside it beyond a few from a small list
  ("the", "this", the licence's own name...). Any other added word (not, only, commercial,
  evil...) or missing required word, and it is not that licence.
- Text before or after the matched licence is identified the same way (another licence
  text, a statement naming licences); anything left that is not identified makes the whole
  file LicenseRef-unknown. So a proprietary notice, a rider or a clause added to a
  permissive licence is never taken for it.
- A short statement in plain words naming licences is those licences: "This project is
  licensed under the MIT license", "Apache License, Version 2.0". It may use only words about
  which licence applies; "the BSD license" (which one?) adds LicenseRef-unknown.
- A file whose title names a licence that is not permissive (GNU GPL/LGPL/AGPL, MPL, EPL,
  Creative Commons) but whose text does not match it (an old FSF address, a fragment) is
  given that id (GPL-3.0, or LicenseRef-GPL without a version): these ids are not in the
  default allow-list, so the guess can only drop a repository, never keep one (an
  allow-list that names them accepts the title).
- The whole text the caller gives (max_license_bytes) is read. A text of more than _MAX_WORDS
  words (more than four of the longest reference) is not aligned, so the time per file stays
  bounded: only its title is read (GPL-3.0...), else it is LicenseRef-unknown.
- An `SPDX-License-Identifier:` line counts only as the file's statement: in its first three
  non-empty lines. Its expression ("(MIT OR Apache-2.0)") is parsed with `license-expression`;
  an unparsable one is LicenseRef-unknown, and the rest of the file must agree with it.
  The same line in the middle of a text (a GPL quoting another licence's id) is just text.

A repository's expression combines its files. "Either of these licences" is an OR:
- when a file offers a choice ("This project is dual-licensed under the Unlicense and MIT
  licenses. You may use this code under the terms of either license."; "Licensed under either
  of Apache License, Version 2.0 or MIT license at your option"; "either of the licenses found
  in LICENSE.APACHE or LICENSE.BSD"), every licence the repository's files name is an
  alternative: COPYING + LICENSE-MIT + UNLICENSE is "MIT OR Unlicense";
- licence files named after their licence (LICENSE-MIT and LICENSE-APACHE, the Rust
  convention; UNLICENSE) are alternatives to each other: "Apache-2.0 OR MIT";
- otherwise several licences are "A AND B" (all must be allowed), and a licence file that is
  not identified adds "AND LicenseRef-unknown", so the repository is not kept by default.
A README's licence section is not read (only licence files are). A repository without a
licence file is "NONE" (all rights reserved). Expressions are written sorted, each licence once.

`allowed` evaluates the expression with `license-expression`: AND needs every part allowed, OR
one, "A WITH exception" needs A (exceptions only add permissions) or the whole "A WITH
exception" in the list; "-only", "-or-later" and "+" are one licence for the allow-list; an
unparsable expression is not allowed; "*" keeps all.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

from license_expression import LicenseSymbol, LicenseWithExceptionSymbol, Licensing

NONE = "NONE"
UNKNOWN = "LicenseRef-unknown"
_DATA = Path(__file__).resolve().parent / "data" / "licenses.json"
_FILE = re.compile(r"^(licen[cs]e|copying|unlicen[cs]e)([-._][\w.-]*)?$", re.I)
_NAMED = re.compile(r"^(?:(?:licen[cs]e|copying)[-_.](?P<name>[\w.-]+?)|(?P<unlicense>unlicen[cs]e))"
                    r"(?:\.(?:txt|md|markdown|rst|text|html?|adoc|org))?$", re.I)
_PLAIN_EXT = {"txt", "md", "markdown", "rst", "text", "html", "htm", "adoc", "org"}
# A text this long holds more than _MAX_DEPTH + 1 of the longest reference (GPL-3.0: 5,584 words),
# so it cannot be identified whole; it is not aligned (that would take time growing with its
# length), only its title is read. The caller bounds the bytes (max_license_bytes).
_MAX_WORDS = 24_000

# -- text to words ---------------------------------------------------------------------------
_MARKUP = re.compile(r"<<(var|optional|end)(?:;[^<>]*)?>>")
_URL = re.compile(r"(?:https?://|www\.)([^\s<>\"'()\[\]/]*)[^\s<>\"'()\[\]]*", re.I)
# A link to a licence's home is the word "url"; any other link ("https://acme.com/extra-terms")
# is the word "link", which no licence contains and no statement may add.
_LICENCE_HOSTS = re.compile(r"(?:^|\.)(?:apache\.org|opensource\.org|spdx\.org|gnu\.org|fsf\.org|mozilla\.org|"
                            r"creativecommons\.org|unlicense\.org|choosealicense\.com|polyformproject\.org|"
                            r"eclipse\.org|boost\.org|python\.org|json\.org|wtfpl\.net|blueoakcouncil\.org|"
                            r"mit-license\.org|mariadb\.com|elastic\.co|oracle\.com|zlib\.net|landley\.net)$")
# A copyright statement: "Copyright (c) ...", "Copyright 2024 ...", "(c) 2024 ...", "© ...",
# "Copyright Jane Doe"; not a wrapped line of licence text ("copyright notice", "COPYRIGHT HOLDERS").
_COPYRIGHT_LINE = re.compile(
    r"^[\s#*/;!>|=~`'\"-]*(?:(?i:portions\s+))?(?:(?i:copyright)\s*(?:(?i:\(c\))|©|:|(?=\d|<|\[)|(?i:year|yyyy)\b)"
    r"|Copyright\s+(?!(?:Notice|Holders?|Owners?|Licen[cs]e|And|Or|Laws?|Interest|Act)\b)(?=[A-Z][a-z])"
    r"|(?i:\(c\))\s*(?=\d)|©)")
_COPYRIGHT_INLINE = re.compile(r"\bcopyright\s+(?:\(c\)\s*|©\s*)?(?:1[89]|20)\d\d\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[A-Za-z0-9)>\]]{2})[.;]\s+(?=[A-Z])")
_RESERVED = re.compile(r"all\s+rights\s+reserved\.?", re.I)
_LIST_MARK = re.compile(r"(?<!\S)\(?(?:\d{1,2}|[a-z]|[ivx]{2,4})[.)](?!\S)", re.I)
_JOIN = re.compile(r"\b(non|sub)[-\s]+(?=[a-z])", re.I)  # non-commercial = noncommercial
_SPDX_LINE = re.compile(r"SPDX-License-Identifier\s*:\s*(.*)", re.I)
_WORD = re.compile(r"[a-z0-9]+")
_UWORD = re.compile(r"\w+")
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
_EQUIV = {"licence": "license", "licences": "licenses", "licenced": "licensed", "licencing": "licensing",
          "acknowledgement": "acknowledgment", "https": "http", "whilst": "while"}
_VAR = "\0var"

# Words a file may add inside a licence or around it (beside the licence's own name), and
# words that make a licence another one.
_HARMLESS = frozenset("the a an this that and or of to in is by it its license licenses licensed "
                      "software copyright version v spdx identifier notice file c".split())
_RESTRICTIVE = frozenset("not no non noncommercial commercial only prohibited except excluding without "
                         "evil good never forbidden must shall sell military nuclear harm personal "
                         "evaluation restricted exclusively solely".split())
# Words that are no part of a licensor's name: a name to fill in (or a copyright holder) with
# one of them is a condition in disguise ("Neither the name of Acme, for personal use only, nor").
_NOT_A_NAME = _RESTRICTIVE | frozenset(
    "cannot use used using permitted allowed purpose purposes fee fees pay paid payment royalty royalties "
    "prohibit prohibits forbid forbids consent approval terms conditions confidential proprietary internal "
    "private academic research educational education trial demo unauthorized unlicensed licensee "
    "subscription reserved copying distribution redistribution modification excludes exclude excluded "
    "except excepting retains retain ownership grant granted grants rights permission permissions license "
    "licenses licensed licence licensing unless provided customers".split())
# A holder's or filled-in name is an allow-list of shapes (_name_like): words with a capital or
# in a script without case ("Jane Doe", "gRPC", "张三"), these lower-case words, and one other
# lower-case word as a project's name ("the tokio authors", "octocat" alone).
_NAME_WORDS = frozenset(
    "and or of the by for c de da das do dos van von der den del della di du la le les y e et al und zu bin "
    "ibn ben st its his her their other others all individual respective original present now today inc "
    "ltd llc gmbh mbh corp co sa ag bv nv plc pty srl sas spa kg ug ab oy kk limited company corporation "
    "affiliates mailto year yyyy name names author owner owners holder holders fullname".split())
_GROUP_WORDS = frozenset("authors contributors developers maintainers committers team project community "
                         "organization foundation members".split())
_NAME_MAX = 12          # name words in a holder
_HOLDER_CHARS = 400     # a longer "holder" is text
# E-mail addresses, @handles and links a copyright holder may carry: "<jane@example.org>",
# "(@octocat)", "(https://janedoe.dev)". A link is the holder's site only as a bare host or a
# profile on a code host; "https://acme.com/extra-terms" stays text (the word "link").
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HANDLE = re.compile(r"(?<![\w.])@[\w-]+")
_DOMAIN = re.compile(r"(?<![\w.@-])[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,6}(?![\w@-])")  # "JSON.org", "acme.io"
_HOME = re.compile(r"(?:https?://|www\.)[\w.-]+/?|https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|"
                   r"codeberg\.org|sr\.ht)/[\w.~-]+(?:/[\w.-]+)?/?", re.I)
_VAR_WORDS = 8          # words a file may put where the reference has a name to fill in
_EXTRA_AROUND = 16      # harmless words (titles) a file may have around a licence
_MAX_DEPTH = 3          # licences (and statements) in one file, one inside the rest
_TITLE_WORDS = 40       # where a title (or the licence named in a notice) is looked for


class _Name(str):
    """A word of a capitalised word or of one in a script without case: the shape of a name.
    Equal to (and hashed as) the plain lower-case word, so matching ignores the difference."""
    __slots__ = ()


def _clean(text: str, markup: bool = False) -> str:
    """Text without copyright statements, URLs and list numbering; case is kept (see _words).
    `markup`: the text is a reference, whose <<var>> slots may stand in a copyright line."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'")
    text = _RESERVED.sub(" ", text)  # also when wrapped: "All rights\nreserved."
    lines = [_uncopyright(line, markup) if "copyright" in line.lower() or "(c)" in line.lower() or "©" in line
             else line for line in text.splitlines()]
    text = _LIST_MARK.sub(" ", _URL.sub(_link, "\n".join(lines)))
    return _JOIN.sub(r"\1", text.replace("&", " and "))


def _uncopyright(line: str, markup: bool) -> str:
    """The line without its copyright statements ("Copyright (c) 2024 Jane Doe."): each holder
    runs to the end of its sentence and is dropped only when it reads as a name (_holder)."""
    for _ in range(8):  # "Copyright 2011 Twitter, Inc. Copyright 2011 The Bootstrap Authors"
        m = _COPYRIGHT_LINE.match(line)
        head, rest = ("", line[m.end():]) if m else ("", "")
        if not m:
            m = _COPYRIGHT_INLINE.search(line)
            if not m:
                return line
            head, rest = line[:m.start()], line[m.end():]
        end = _SENTENCE_END.search(rest)
        if not _holder(rest[:end.start()] if end else rest, markup):
            return line
        line = head + (" " + rest[end.end():] if end else "")
    return line


def _holder(text: str, markup: bool = False) -> bool:
    """Whether a copyright statement's holder reads as a name (or names): a rider in it
    ("Jane Doe, excluding commercial use") is not one, and stays licence text."""
    if len(text) > _HOLDER_CHARS:
        return False
    if markup:
        text = _MARKUP.sub(" ", text)
    for link in _URL.finditer(text):
        if not _HOME.fullmatch(link.group(0).rstrip(".,;:)>]")):
            return False
    text = _HANDLE.sub(" ", _EMAIL.sub(" ", _URL.sub(" ", text)))
    for domain in _DOMAIN.finditer(text):
        if _NOT_A_NAME & set(_words(domain.group(0))):
            return False
    text = _DOMAIN.sub(" ", text)
    return _name_like(_words(text), frozenset(), _NAME_MAX)


def _name_like(words: list[str], also: frozenset[str], most: int) -> bool:
    """Whether words (from _words) are names: _Name words, _NAME_WORDS, words of `also`, lower-case
    words naming a group ("the tokio authors"), one other lower-case word only alone ("octocat");
    never a word of _NOT_A_NAME (a condition: "Acme, for personal use only"); at most `most`."""
    names = free = 0
    for i, w in enumerate(words):
        if w in also or w.isdigit():
            continue
        if w in _NOT_A_NAME:
            return False
        if w in _NAME_WORDS:
            continue
        if isinstance(w, _Name) or w in _GROUP_WORDS or _group_name(words, i):
            names += 1
        else:
            free += 1
    return names + free <= most and (free == 0 or free == 1 and names == 0)


def _group_name(words: list[str], i: int) -> bool:
    """words[i] names a group: "the tokio authors", "the contributors of project-x"."""
    return (i + 1 < len(words) and words[i + 1] in _GROUP_WORDS or i > 0 and words[i - 1] in _GROUP_WORDS
            or i > 1 and words[i - 1] == "of" and words[i - 2] in _GROUP_WORDS)


def _link(m: re.Match) -> str:
    return " url " if _LICENCE_HOSTS.search(m.group(1).split(":")[0].lower()) else " link "


def _words(text: str) -> list[str]:
    """Lower-case words without years; a word from a capitalised or short caseless one is a _Name.
    A word in another script is one word ("仅限非商业用途" is no less a word than "only")."""
    out: list[str] = []
    for m in _UWORD.finditer(text):
        word = m.group()
        low = word.lower()
        # capitalised, or caseless and short (a name in Han script is 2-4 characters; a longer
        # run is a phrase: "仅限非商业用途", for non-commercial use only)
        name = word != low or (word == word.upper() and len(word) <= 4 and not word.isdigit())
        for w in (_WORD.findall(low) if low.isascii() else low.split("_")):
            if not w or _YEAR.fullmatch(w):
                continue
            w = _EQUIV.get(w, w)
            out.append(_Name(w) if name else w)
    return out


def _tokens(text: str) -> list[str]:
    """The words a licence file is compared by (see the module docstring)."""
    return _words(_clean(text))


# -- the reference texts ---------------------------------------------------------------------
@dataclass
class _Ref:
    id: str
    words: list[str]
    optional: list[bool]
    budget: dict[int, int]  # position of a name to fill in -> words the file may put there
    slot_words: dict[int, frozenset[str]]  # position of a name to fill in -> the reference's own words
    required: frozenset[str]
    n_required: int
    harmless: frozenset[str]
    _matcher: SequenceMatcher | None = None

    @property
    def matcher(self) -> SequenceMatcher:
        """difflib's index of the reference's word pairs, built when first needed."""
        if self._matcher is None:
            self._matcher = SequenceMatcher(None, [], _pairs(self.words), autojunk=True)
        return self._matcher


_MATCHER_LOCK = threading.Lock()


def _pairs(words: list[str]) -> list[str]:
    return [f"{a} {b}" for a, b in zip(words, words[1:])]


def _blocks(ref: _Ref, words: list[str]) -> list[tuple[int, int, int]]:
    """(position in words, position in ref, length) of the runs of words they share, in order.
    Found on word pairs: a pair recurs far less often than a word, so difflib's search for the
    longest common run is several times faster (Apache-2.0: 3 ms, not 15)."""
    with _MATCHER_LOCK:  # a matcher holds the text it compares: one comparison at a time
        matcher = ref.matcher
        matcher.set_seq1(_pairs(words))
        blocks = matcher.get_matching_blocks()
    out: list[tuple[int, int, int]] = []
    for a, b, n in blocks:
        if not n:
            continue
        n += 1  # n pairs = n + 1 words; runs that touch share a word
        if out:
            cut = max(out[-1][0] + out[-1][2] - a, out[-1][1] + out[-1][2] - b, 0)
            a, b, n = a + cut, b + cut, n - cut
        if n > 0:
            out.append((a, b, n))
    return out


def _ref(entry: dict) -> _Ref:
    words: list[str] = []
    optional: list[bool] = []
    budget: dict[int, int] = {}
    slot_words: dict[int, frozenset[str]] = {}
    depth, pos = 0, 0
    text = _clean(entry["text"], markup=True)
    for m in [*_MARKUP.finditer(text), None]:
        chunk = _words(text[pos:m.start() if m else len(text)])
        words += chunk
        optional += [depth > 0] * len(chunk)
        if m is None:
            break
        pos = m.end()
        if m.group(1) == "var":  # <<var;original>>: the original or any short name
            original = _words(m.group(0)[6:-2])
            budget[len(words)] = max(_VAR_WORDS, len(original) + 2)
            slot_words[len(words)] = frozenset(original)
            words.append(_VAR)
            optional.append(True)
        else:
            depth += 1 if m.group(1) == "optional" else -1
    required = [w for w, o in zip(words, optional) if not o]
    name = set(_words((entry["name"] + " " + entry["id"]).lower())) - _RESTRICTIVE
    return _Ref(entry["id"], words, optional, budget, slot_words, frozenset(required), len(required),
                frozenset(name | _HARMLESS))


@lru_cache(maxsize=1)
def _refs() -> list[_Ref]:
    with open(_DATA, encoding="utf-8") as f:
        return [_ref(e) for e in json.load(f)["licenses"]]


@dataclass
class _Match:
    full: bool
    before: list[str]
    after: list[str]


def _align(ref: _Ref, words: list[str]) -> _Match | None:
    """Where `ref` lies in `words`, and whether it lies there whole and unchanged."""
    blocks = _blocks(ref, words)
    anchors = [b for b in blocks if b[2] >= 3]
    if not anchors:
        return None
    start, end = anchors[0][0], anchors[-1][0] + anchors[-1][2]
    inside = [b for b in blocks if b[0] >= start and b[0] + b[2] <= end]
    missing = missing_ok = extra_ok = 0
    extra_bad = 0
    gaps = [(start, start, 0, inside[0][1])]
    gaps += [(xa + xn, ya, xb + xn, yb) for (xa, xb, xn), (ya, yb, _) in zip(inside, inside[1:])]
    gaps.append((end, end, inside[-1][1] + inside[-1][2], len(ref.words)))
    for a0, a1, b0, b1 in gaps:
        added, dropped = words[a0:a1], range(b0, b1)
        room = sum(ref.budget.get(j, 0) for j in dropped)
        if room and len(added) <= room + len(dropped):  # a name filled in, not a condition
            also = frozenset().union(*(ref.slot_words.get(j, ()) for j in dropped), ref.words[b0:b1])
            extra_bad += 0 if _name_like(added, also, room) else len(added)
            continue
        for j in dropped:
            if not ref.optional[j]:
                if ref.words[j] in ref.harmless:
                    missing_ok += 1
                else:
                    missing += 1
        for w in added:
            if w in ref.harmless and w not in _RESTRICTIVE:
                extra_ok += 1
            else:
                extra_bad += 1
    # A few missing words are tolerated in the long texts (an old FSF address...); an added word
    # never is: one "not" makes Apache-2.0 another licence.
    tolerance = ref.n_required // 1000
    full = (missing <= tolerance and not extra_bad and missing_ok <= 3 + ref.n_required // 40
            and extra_ok <= 6 + ref.n_required // 200)
    return _Match(full, words[:start], words[end:])


# -- statements and titles -------------------------------------------------------------------
_NAMES = [(re.compile(rx), spdx) for rx, spdx in [
    (r"\bapache(?: license| software license)?(?: version| v)? ?2(?: 0)?\b|\bapache2\b", "Apache-2.0"),
    (r"\bmit(?: 0| no attribution)\b", "MIT-0"),
    (r"\bmit\b(?! 0\b| no attribution)", "MIT"),
    (r"\bunlicense\b|\bfree and unencumbered software released into the public domain\b", "Unlicense"),
    (r"\bbsd 3 clause\b|\b3 clause bsd\b", "BSD-3-Clause"),
    (r"\bbsd 2 clause\b|\b2 clause bsd\b", "BSD-2-Clause"),
    (r"\b0bsd\b|\bbsd zero clause\b", "0BSD"),
    (r"\bisc\b", "ISC"),
    (r"\bzlib\b", "Zlib"),
    (r"\bboost software license\b|\bbsl 1 0\b", "BSL-1.0"),
    (r"\bcc0\b", "CC0-1.0"),
    (r"\bmozilla public license(?: version| v)? 2 0\b|\bmpl 2 0\b", "MPL-2.0"),
    (r"\b(?:gnu )?(?:affero general public license|agpl)(?: version| v)? ?3(?: 0)?\b|\bagplv3\b", "AGPL-3.0"),
    (r"\b(?:gnu )?(?:lesser general public license|lgpl)(?: version| v)? ?3(?: 0)?\b|\blgplv3\b", "LGPL-3.0"),
    (r"\b(?:gnu )?(?:lesser general public license|lgpl)(?: version| v)? ?2 1\b", "LGPL-2.1"),
    (r"\b(?<!lesser )(?<!affero )(?:gnu )?(?:general public license|gpl)(?: version| v)? ?3(?: 0)?\b|\bgplv3\b",
     "GPL-3.0"),
    (r"\b(?<!lesser )(?<!affero )(?:gnu )?(?:general public license|gpl)(?: version| v)? ?2(?: 0)?\b|\bgplv2\b",
     "GPL-2.0"),
]]
# Licence words a statement may use without naming one licence exactly ("the BSD license"):
# what they stand for is not known.
_FAMILY = frozenset("apache bsd gpl lgpl agpl gnu general mozilla mpl eclipse epl creative commons cc artistic "
                    "gplv2 gplv3 lgplv3 agplv3".split())
_STATEMENT = frozenset("""this the a an project code software library crate package module repository repo
    work works program it its is are be been being will and or either both any all each of following below
    above under terms license licenses licensed licensing dual multi triple at your option choice choose
    discretion you may can use using distributed released available see file files for details copy copies
    included in on as by to from text full found here there which whichever version v url notice copyright
    made these those contribution contributions january february march april may june july august september
    october november december""".split()) | _FAMILY
# LICENSE-APACHE, LICENSE.BSD, LICENSE-MIT.txt: names of files, not of licences
_FILE_REF = re.compile(r"\b(?:license|copying) (?:apache2?|mit|bsd|unlicense|isc|zlib|cc0|[al]?gpl\w*|mpl\w*)"
                       r"(?: txt| md)?\b")
_LICENSE_WORDS = frozenset({"license", "licenses", "licensed"})
_CHOICE = re.compile(r"\b(?:dual|multi|triple) licensed\b|\bat (?:your|the user s|the licensee s|their) "
                     r"(?:option|choice|discretion)\b|\beither of\b|\bunder (?:the terms of )?either\b|"
                     r"\byour choice\b|\bchoose (?:either|one|any|between)\b|\beither license\b|"
                     r"\b(?:any|one) of the following licenses\b|\bwhichever\b")

# Titles of licences outside the default allow-list, taken at their word (module docstring).
_TITLES = [(re.compile(rx), spdx) for rx, spdx in [
    (r"\bgnu affero general public license\b", "AGPL"),
    (r"\bgnu lesser general public license\b", "LGPL"),
    (r"\bgnu library general public license\b", "LGPL-2.0"),
    (r"\bgnu general public license\b", "GPL"),
    (r"\bmozilla public license\b", "MPL"),
    (r"\beclipse public license\b", "EPL"),
    (r"\b(?:creative commons )?attribution(?: noncommercial)?(?: sharealike| noderivatives| noderivs)? "
     r"[1-4] 0 (?:international|unported|generic)\b", "CC"),
]]
_VERSION = re.compile(r"\b(?:version |v ?)([1-3])(?: ([0-9]))?\b")


def _statement(words: list[str]) -> tuple[str, bool] | None:
    """(expression, offers a choice) of a short statement in plain words naming licences, or
    None. A statement offering a choice without naming the licences ("either of the licenses
    found in LICENSE.APACHE or LICENSE.BSD") is ("", True): the other files name them."""
    if not words or len(words) > 160:
        return None
    text = _FILE_REF.sub(" ", " ".join(words))
    names = {spdx for rx, spdx in _NAMES if rx.search(text)}
    rest = text
    for rx, _ in _NAMES:
        rest = rx.sub(" ", rest)
    if any(w not in _STATEMENT and not w.isdigit() for w in rest.split()):
        return None  # a word that is not about which licence applies: a condition, a rider...
    unresolved = bool(_FAMILY & set(rest.split()))  # "the BSD license": which one is not known
    if _CHOICE.search(text) and _LICENSE_WORDS & set(words):
        if not names:
            return "", True
        return _combine(" OR ", names | ({UNKNOWN} if unresolved else set())), True
    if not names:
        return None
    return _combine(" AND ", names | ({UNKNOWN} if unresolved else set())), False


def _title(words: list[str]) -> str | None:
    """The id that the title of a non-permissive licence names (module docstring), or None."""
    head = " ".join(words)
    found = [(m.start(), m, family) for rx, family in _TITLES for m in [rx.search(head)] if m]
    if not found:
        return None
    _, m, family = min(found, key=lambda f: f[0])  # the first name in the text is its title
    if family == "CC":
        t = m.group(0).split()
        kind = "".join(x for x, w in (("-NC", "noncommercial"), ("-SA", "sharealike"),
                                       ("-ND", "noderivatives"), ("-ND", "noderivs")) if w in t)
        return f"CC-BY{kind}-{t[-3]}.0"
    if family == "LGPL-2.0":
        return family
    after = " ".join(words[len(head[:m.end()].split()):][:25])
    v = _VERSION.search(after) or re.match(r"([1-3])(?: ([0-9]))?\b", after)
    return f"{family}-{v.group(1)}.{v.group(2) or '0'}" if v else f"LicenseRef-{family}"


# -- one file --------------------------------------------------------------------------------
def _harmless(words: list[str], allowed: frozenset[str] = _HARMLESS) -> bool:
    """Words around a licence that say nothing: a title, "SPDX-License-Identifier"..."""
    return len(words) <= _EXTRA_AROUND and all(w in allowed for w in words)


def _match(words: list[str], depth: int = 0) -> tuple[str, bool]:
    """(expression, offers a choice) of the licence texts and statements in `words`: one
    licence text alone; else a non-permissive title at the top; else licence texts and
    statements one after the other; else LicenseRef-unknown."""
    if not words:
        return UNKNOWN, False
    if len(words) > _MAX_WORDS:
        return _title(words[:_TITLE_WORDS]) or UNKNOWN, False
    said = _statement(words)
    if said and (said[1] or UNKNOWN not in said[0].split()):
        return said
    have = set(words)
    candidates = sorted(
        (r for r in _refs() if r.n_required * 0.9 <= len(words) and len(r.required & have) >= 0.9 * len(r.required)),
        key=lambda r: (-len(r.required & have) / len(r.required), -r.n_required))
    found = []
    for ref in candidates[:4]:
        m = _align(ref, words)
        if m is not None and m.full:
            rest = [part for part in (m.before, m.after) if not _harmless(part, ref.harmless)]
            if not rest:
                return ref.id, False
            found.append((ref, rest))
    title = _title(words[:_TITLE_WORDS])
    if title:
        return title, False
    if not found or depth >= _MAX_DEPTH:
        return said or (UNKNOWN, False)
    ref, rest = found[0]
    parts, choice = [ref.id], False
    for part in rest:
        expr, offers = _match(part, depth + 1)
        if expr == UNKNOWN or UNKNOWN in expr.split() and not offers:
            return UNKNOWN, False
        parts.append(expr)
        choice = choice or offers
    return _combine(" OR " if choice else " AND ", parts), choice


def _spdx_statement(text: str) -> tuple[str, str] | None:
    """(expression, the rest of the text) when an SPDX-License-Identifier line opens the file."""
    lines = text.splitlines()
    seen = 0
    for k, line in enumerate(lines):
        if not line.strip(" \t#/*;!<>-{}%"):
            continue
        m = _SPDX_LINE.search(line)
        if m:
            raw = re.sub(r"\s*(?:\*/|-->|\*\)|#}|%}|%>)\s*$", "", m.group(1)).strip()
            return _parse_expr(raw) or UNKNOWN, "\n".join(lines[:k] + lines[k + 1:])
        seen += 1
        if seen >= 3:
            return None
    return None


def _classify(text: str) -> tuple[str, bool]:
    """(expression, offers a choice) of one licence file."""
    stated = _spdx_statement(text)
    words = _tokens(stated[1] if stated else text)
    if not stated:
        return _match(words)
    expr = stated[0]
    if not words or _harmless(words):
        return expr, False
    rest, offers = _match(words)
    if rest == expr or set(_symbols(rest)) <= set(_symbols(expr)):
        return expr, offers
    return _combine(" AND ", [expr, rest if UNKNOWN not in rest.split() else UNKNOWN]), False


def identify(text: str) -> str:
    """The SPDX expression of one licence file's text, or LicenseRef-unknown."""
    return _classify(text)[0] or UNKNOWN


def is_license_file(path: str) -> bool:
    """A licence file at the repository's root (not LICENSE files of vendored folders)."""
    return "/" not in path and bool(_FILE.match(path))


def _named(path: str) -> bool:
    """LICENSE-MIT, LICENCE.apache, COPYING-GPL, UNLICENSE: a file named after its licence."""
    m = _NAMED.match(path)
    return bool(m) and (bool(m.group("unlicense")) or m.group("name").lower() not in _PLAIN_EXT)


def detect(files: dict[str, str]) -> str:
    """The licence of a repository from {root file name: text} of its licence files (the
    rules are in the module docstring)."""
    found = [(name, *_classify(text)) for name, text in sorted(files.items()) if is_license_file(name)]
    if not found:
        return NONE
    known = [(name, expr, choice) for name, expr, choice in found if expr != UNKNOWN]
    if any(choice for _, _, choice in known):
        parts = [_combine(" OR ", [expr for _, expr, _ in known])]
    else:
        named = {expr for name, expr, _ in known if _named(name)}
        plain = [expr for name, expr, _ in known if not _named(name)]
        parts = ([_combine(" OR ", named)] if len(named) > 1 else list(named)) + plain
    if len(known) < len(found):
        parts.append(UNKNOWN)
    return _combine(" AND ", parts) or UNKNOWN


# -- expressions -----------------------------------------------------------------------------
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
_LICENSING = Licensing()  # no list of known ids: any well-formed id parses (LicenseRef-..., NONE)


@lru_cache(maxsize=4096)
def _tree(expression: str):
    """The parsed expression, or None when it is not a valid SPDX expression."""
    try:
        tree = _LICENSING.parse(expression)
    except Exception:  # the parser raises several kinds on bad input (ExpressionError, IndexError...)
        return None
    if tree is None or not all(_SYMBOL.match(s.key) for s in _LICENSING.license_symbols(tree, unique=False)):
        return None
    return tree


def _parse_expr(expression: str) -> str | None:
    tree = _tree(expression.strip())
    return None if tree is None else tree.render()


def _symbols(expression: str) -> list[str]:
    tree = _tree(expression)
    return [] if tree is None else [s.key for s in _LICENSING.license_symbols(tree)]


def _combine(op: str, exprs) -> str:
    """exprs joined by op (" AND " or " OR "), each once, sorted, compound ones in parentheses;
    an expression of the same op contributes its parts."""
    same = _LICENSING.OR if op == " OR " else _LICENSING.AND
    items: set[str] = set()
    for e in exprs:
        tree = _tree(e) if e else None
        if isinstance(tree, same):
            items.update(a.render() for a in tree.args)
        elif e:
            items.add(tree.render() if tree is not None else e)
    if len(items) == 1:
        return items.pop()
    return op.join(f"({e})" if " AND " in e or " OR " in e else e for e in sorted(items, key=str.lower))


def _base(key: str) -> str:
    key = key.lower()
    for suffix in ("-or-later", "-only", "+"):
        key = key.removesuffix(suffix)
    return key


@lru_cache(maxsize=4096)
def _allowed(expression: str, allow: tuple[str, ...]) -> bool:
    tree = _tree(expression)
    if tree is None:
        return False
    ok = {_base(a) for a in allow if isinstance(a, str)}
    full = {a.lower() for a in allow if isinstance(a, str)}

    def ev(node) -> bool:
        if isinstance(node, LicenseWithExceptionSymbol):  # an exception only adds permissions
            return _base(node.license_symbol.key) in ok or node.render().lower() in full
        if isinstance(node, LicenseSymbol):
            return _base(node.key) in ok
        if isinstance(node, _LICENSING.AND):
            return all(ev(a) for a in node.args)
        if isinstance(node, _LICENSING.OR):
            return any(ev(a) for a in node.args)
        return False

    return ev(tree)


def allowed(expression: str, allow: list[str] | tuple[str, ...]) -> bool:
    """Whether a repository with this licence expression is kept under the allow-list."""
    if "*" in allow:
        return True
    return _allowed(str(expression), tuple(allow))
