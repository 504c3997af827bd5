"""C4 (line removal kept as a modification, page rules) and FineWeb quality rules, each with
documents just inside and just outside its threshold; zh/ja handling."""

from __future__ import annotations

import pytest
from filter_docs import apply, distinct_words

from stages.c4 import C4Quality
from stages.fineweb import FineWebQuality

GOOD = [
    "The ferry leaves the harbour at seven every morning.",
    "Passengers buy tickets at the small kiosk by the pier.",
    "In winter the crossing takes almost two hours!",
    "Would you like a seat on the upper deck?",
    "The captain has worked on this route for thirty years.",
    "Seagulls follow the boat until it reaches open water.",
]


# -- C4 -------------------------------------------------------------------------------------
def test_c4_removes_lines_per_rule_and_counts_them():
    text = "\n".join([
        "Ferry timetable",  # no terminal punctuation
        *GOOD[:3],
        "Read more.",  # fewer than 3 words
        "Please enable JavaScript to see the map.",
        "This site uses cookies to improve your visit.",
        "x" * 1001 + " is a very long word.",
        "Paris is the capital of France.[1]",  # citation removed, line kept
        *GOOD[3:],
    ])
    out = apply(C4Quality(), text)[0]
    assert out["drop_reason"] is None
    assert out["text"] == "\n".join(GOOD[:3] + ["Paris is the capital of France."] + GOOD[3:])
    assert (out["c4_lines_removed_no_terminal_punct"], out["c4_lines_removed_too_few_words"],
            out["c4_lines_removed_javascript"], out["c4_lines_removed_policy"],
            out["c4_lines_removed_long_word"], out["c4_lines_removed"]) == (1, 1, 1, 1, 1, 5)
    assert out["c4_sentences"] == 7


def test_c4_min_sentences():
    five = "\n".join(GOOD[:5])
    four = "\n".join(GOOD[:4] + ["Menu", "Home page"])
    rows = apply(C4Quality(), five, four)
    assert [r["c4_sentences"] for r in rows] == [5, 4]
    assert [r["drop_reason"] for r in rows] == [None, "c4.too_few_sentences"]
    assert rows[1]["text"] == four  # a dropped document keeps its original text
    assert C4Quality({"min_sentences": 4}).keep_document(rows[1]) is None


def test_c4_counts_several_sentences_on_one_line():
    rows = apply(C4Quality(), " ".join(GOOD[:4]) + "\n" + GOOD[4])
    assert rows[0]["c4_sentences"] == 5 and rows[0]["drop_reason"] is None


def test_c4_page_rules_lorem_ipsum_and_curly_bracket():
    body = "\n".join(GOOD)
    rows = apply(C4Quality(), body + "\nLorem ipsum dolor sit amet, consectetur.",
                 body + "\nSet it with {x: 1} in the file.",
                 body + "\nfunction f() { return 1 }")  # no terminal punctuation: line removed first
    assert [r["drop_reason"] for r in rows] == ["c4.lorem_ipsum", "c4.curly_bracket", None]
    assert rows[2]["text"] == body
    off = apply(C4Quality({"filter_curly_bracket": False}), body + "\nSet it with {x: 1} in the file.")
    assert off[0]["drop_reason"] is None and off[0]["c4_curly_bracket"] is True


def test_c4_terminal_punctuation_variants():
    rows = apply(C4Quality({"min_sentences": 1}), "He said it was fine.\"\nWait for it...\nReally?")
    assert rows[0]["text"] == "He said it was fine.\""  # ellipsis and 1-word lines removed
    assert rows[0]["c4_lines_removed_no_terminal_punct"] == 1
    assert rows[0]["c4_lines_removed_too_few_words"] == 1


@pytest.mark.parametrize("lang,lines", [
    ("zh", ["我们今天去公园散步。", "天气很好，阳光明媚。", "孩子们在草地上玩耍！", "你想一起去吗？", "晚上我们吃了饺子。"]),
    ("ja", ["今日は公園を散歩しました。", "天気がとても良かったです。", "子供たちは芝生で遊びました！", "一緒に行きませんか？", "夜は寿司を食べました。"]),
])
def test_c4_no_space_languages_skip_words_per_line(lang, lines):
    row = apply(C4Quality(), "\n".join(lines), lang=lang)[0]
    assert row["drop_reason"] is None and row["c4_sentences"] == 5 and row["c4_lines_removed"] == 0
    # without the language, each line is one whitespace "word": all removed, page dropped
    assert apply(C4Quality(), "\n".join(lines))[0]["drop_reason"] == "c4.too_few_sentences"


# -- FineWeb --------------------------------------------------------------------------------
def long_lines(n: int, punct: int) -> list[str]:
    """n distinct lines over 30 characters, the first `punct` ending in a full stop."""
    words = distinct_words(4 * n, 7)
    return [" ".join(words[4 * i:4 * i + 4]) + ("." if i < punct else "") for i in range(n)]


def fw(*texts, lang=None, **settings):
    return apply(FineWebQuality(settings), *texts, lang=lang)


def test_fineweb_line_punctuation_ratio():
    inside, outside = "\n".join(long_lines(25, 3)), "\n".join(long_lines(25, 2))  # 0.12 / 0.08
    rows = fw(inside, outside)
    assert rows[0]["fineweb_line_punct_ratio"] == pytest.approx(0.12)
    assert [r["drop_reason"] for r in rows] == [None, "fineweb_quality.line_punct_ratio"]
    assert fw(outside, line_punct_exclude_zero=True)[0]["drop_reason"] == "fineweb_quality.line_punct_ratio"
    assert fw("\n".join(long_lines(25, 0)), line_punct_exclude_zero=True)[0]["drop_reason"] is None


def test_fineweb_short_line_ratio():
    short = ["Tea is ready.", "Bring a cup.", "It is hot."]
    inside = "\n".join(short[:2] + long_lines(1, 1))  # 2 of 3 lines short: 0.667
    outside = "\n".join(short + long_lines(1, 1))  # 3 of 4: 0.75
    rows = fw(inside, outside, max_newline_word_ratio=None)
    assert rows[0]["fineweb_short_line_ratio"] == pytest.approx(2 / 3)
    assert [r["drop_reason"] for r in rows] == [None, "fineweb_quality.short_line_ratio"]


def test_fineweb_duplicated_line_characters():
    dup = "Ten chars."  # 10 characters, appears twice: 10 duplicated characters
    base = long_lines(35, 35)
    inside = "\n".join(base + [dup, dup])
    chars = len(inside) - inside.count("\n")
    rows = fw(inside)
    assert rows[0]["fineweb_char_dup_ratio"] == pytest.approx(10 / chars)
    assert fw(inside, max_char_dup_ratio=10 / chars)[0]["drop_reason"] is None
    shorter = "\n".join(base[:5] + [dup, dup])  # 10 of fewer characters: above 0.01
    assert fw(shorter)[0]["drop_reason"] == "fineweb_quality.char_dup_ratio"
    assert chars > 1000 and fw(inside)[0]["drop_reason"] is None


def test_fineweb_newline_word_ratio():
    # lines of 3 long words, 3 of them ending in "." (a token too): n lines give n - 1
    # newlines over 3n + 3 tokens; 19 lines: 18 / 60 = 0.3, 20 lines: 19 / 63 above
    words = distinct_words(60, 12)
    lines = [" ".join(words[3 * i:3 * i + 3]) + ("." if i < 3 else "") for i in range(20)]
    inside, outside = "\n".join(lines[:19]), "\n".join(lines)
    rows = fw(inside, outside)
    assert rows[0]["fineweb_newline_word_ratio"] == pytest.approx(0.3)
    assert [r["drop_reason"] for r in rows] == [None, "fineweb_quality.newline_word_ratio"]


def test_fineweb_empty_text():
    assert fw("  \n\n \n")[0]["drop_reason"] == "fineweb_quality.empty"


@pytest.mark.parametrize("lang,text", [
    ("zh", "我们今天去公园散步，天气很好，阳光明媚，孩子们在草地上玩耍。\n晚上我们一起吃了饺子，还看了一部电影，大家都很开心。"),
    ("ja", "今日は公園を散歩しました。天気がとても良くて、子供たちは芝生で遊びました。\n夜は家族で寿司を食べて、映画を見ました。みんな楽しかったです。"),
])
def test_fineweb_no_space_languages(lang, text):
    row = fw(text, lang=lang)[0]
    assert row["fineweb_newline_word_ratio"] is None  # whitespace words are meaningless here
    assert row["fineweb_short_line_ratio"] is None  # 30 characters is a long line in zh/ja
    assert row["fineweb_line_punct_ratio"] == 1.0  # 。 ends a sentence
    assert row["drop_reason"] is None
