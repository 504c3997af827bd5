"""Write stages/data/en_token_rules.json: the rules of spaCy's blank English tokenizer.

datatrove (the reference our heuristic filters are checked against) counts Gopher, C4 and
FineWeb words with `spacy.blank("en")`. `stages.word_tokens` applies the same rules without
spaCy at run time; this script exports them (prefix, suffix, infix and URL patterns, the
special cases, and the special cases that are matched across affix tokens). spaCy is MIT
licensed. Rerun after a spaCy upgrade: .venv/bin/python scripts/export_en_token_rules.py
"""

from __future__ import annotations

import json
from pathlib import Path

import spacy
from spacy.tokenizer import Tokenizer

OUT = Path(__file__).resolve().parents[1] / "stages" / "data" / "en_token_rules.json"


def main() -> None:
    tok = spacy.blank("en").tokenizer
    assert tok.token_match is None, "an English token_match would need support in stages.word_tokens"
    plain = Tokenizer(tok.vocab, rules={}, prefix_search=tok.prefix_search,
                      suffix_search=tok.suffix_search, infix_finditer=tok.infix_finditer,
                      url_match=tok.url_match)
    special = {k: [x.text for x in tok(k)] for k in sorted(tok.rules)}  # the tokens spaCy emits
    # spaCy also matches these special cases over the tokens its affix rules cut them into
    # (its "special matcher"): e.g. "z.B." -> "z", ".", "B." -> "z.", "B.".
    matched = {k: [x.text for x in plain(k)] for k in special
               if tok.find_prefix(k) or tok.find_suffix(k) or tok.find_infix(k) or " " in k}
    rules = {
        "spacy_version": spacy.__version__,
        "prefix": tok.prefix_search.__self__.pattern,
        "suffix": tok.suffix_search.__self__.pattern,
        "infix": tok.infix_finditer.__self__.pattern,
        "url": tok.url_match.__self__.pattern,
        "special_cases": special,
        "matched_special_cases": matched,
    }
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rules, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    tmp.rename(OUT)
    print(f"wrote {OUT} ({len(special)} special cases, {len(matched)} matched across tokens)")


if __name__ == "__main__":
    main()
