"""GopherQuality: every rule at its threshold (one document just inside, one just outside),
per document and through `apply` on an Arrow batch; languages; settings."""

from __future__ import annotations

import itertools

import pyarrow as pa
import pytest
from pydantic import ValidationError

from curator.schema import DOC_SCHEMA
from stages import word_tokens as wt
from stages.gopher import GopherQuality, split_tokens, split_words
from stages.word_tokens import word_tokens

SCORES = list(GopherQuality.columns)

PROSE = (
    "The river town of Millbrook grew up around a grain mill that was built in 1820 by a "
    "family of Scottish settlers. For most of the nineteenth century the mill was the largest "
    "employer in the valley, and the town's fortunes rose and fell with the price of wheat. "
    "When the railway arrived in 1871, new warehouses went up along the water, and a small bank "
    "opened on the main street to lend money to farmers who wanted to expand. The old mill "
    "closed in 1958, but the building still stands today. Volunteers restored its wooden wheel "
    "in the early 1990s, and on summer weekends visitors can watch it turn while a guide "
    "explains how flour was once ground between two heavy stones."
)


def words(n: int) -> str:
    """The first n words of PROSE, repeated as often as needed."""
    return " ".join(itertools.islice(itertools.cycle(PROSE.split()), n))


PLAIN = [w.strip(".,") for w in PROSE.split() if w.strip(".,").isalpha()]


def plain(n: int) -> str:
    """n words of PROSE without any punctuation (each word is one token)."""
    return " ".join(itertools.islice(itertools.cycle(PLAIN), n))


# -- one document just inside (kept) and one just outside (dropped) each threshold ----------
AVG_SHORT = (
    "My father and I got up early to drive out to the lake. We took a big red box of bait, "
    "two old rods and a bag of sandwiches. The sun was low and the air was cool. Dad set up "
    "the rods on a log by the bank, and I sat on the dry mud to wait."
)  # 58 words, 174 characters: mean exactly 3
AVG_LONG = (
    "Intergovernmental organizations increasingly emphasize comprehensive environmental "
    "accountability frameworks. Multinational manufacturers consequently restructure "
    "international procurement relationships, prioritizing certified sustainability commitments "
    "alongside traditional profitability considerations. Independent verification institutions "
    "systematically investigate questionable greenhouse accounting methodologies, documenting "
    "inconsistencies between the published decarbonization trajectories and operational "
    "realities. Nevertheless, institutional investors overwhelmingly now demand that all of "
    "their holdings use standardized reporting, recognizing that unverifiable environmental "
    "declarations fundamentally undermine the comparability of corporate statements. "
    "Regulatory authorities throughout continental Europe therefore mandate externally audited "
    "transition steps."
)  # 79 words, 790 characters: mean exactly 10
HASHTAGS = plain(48) + "\n#history #travel #millbrook #rivers #heritage #mills"  # 60 tokens, 6 '#'
ELLIPSES = " ".join(f"...{plain(9)}" for _ in range(8))  # 72 words + 8 ellipses: 80 tokens
BULLET_ITEMS = [
    "- two litres of water per person and a refillable bottle",
    "- a waterproof jacket with a hood, even if the forecast is dry",
    "• sturdy boots that have been worn in before the trip",
    "• a printed map of the route and a compass",
    "* sandwiches, fruit and a flask of hot tea for lunch",
    "* sun cream, a hat and a spare pair of socks",
    "- a small first aid kit with plasters and blister pads",
    "- a head torch in case the walk back runs late",
    "- a fully charged phone with the leader's number saved",
]
BULLETS_IN = "Packing list for the weekend hike with the scouts:\n\n" + "\n".join(BULLET_ITEMS)
BULLETS_OUT = "- packing list for the weekend hike with the scouts\n\n" + "\n".join(BULLET_ITEMS)
HEADLINE_LINES = [
    "Council approves new cycle lanes on the high street after a long public consultation.",
    "Ten things the mayor did not tell the council about next year's budget...",
    "Local bakery wins a national award for its sourdough loaf and rye crackers.",
    "Why the old railway bridge will stay closed until at least the spring...",
    "School choir raises money for the children's ward at the county hospital.",
    "Residents share their memories of the great flood of 1968 and what came after.",
    "Police appeal for witnesses after a van was stolen from the industrial estate.",
    "What the new parking charges mean for shoppers in the town centre...",
    "Allotment society opens its waiting list to new members this month.",
    "Weather: a dry and bright weekend ahead, with frost likely on Sunday night.",
]  # 3 of 10 lines end with an ellipsis
HEADLINES = "\n".join(HEADLINE_LINES)
NUMBERS = plain(60) + " " + " ".join(str(1990 + i) for i in range(15))  # 60 of 75 tokens
LISTING = (
    "Handmade oak cutting board. Every board is cut from a single plank of kiln dried oak, "
    "sanded by hand in our small workshop in Devon, then finished in food safe mineral oil. "
    "The grain runs along the full length, so knives glide smoothly across the surface. "
    "Rubber feet keep it steady on wet worktops. Measures 40 by 25 cm, 2 cm thick. Wipe clean "
    "after use; never soak it or put it in a dishwasher. Ships in recycled packaging within "
    "three days."
)  # stop words: "the" and "of"

# (rule, kept document, dropped document, score column, value inside, value outside)
CASES = [
    ("word_count", plain(50), plain(49), "gopher_words", 50, 49),
    ("word_count", plain(100_000), plain(100_001), "gopher_words", 100_000, 100_001),
    ("avg_word_length", AVG_SHORT, AVG_SHORT.replace("Dad set", "He set"),
     "gopher_avg_word_length", 3.0, 173 / 58),
    ("avg_word_length", AVG_LONG, AVG_LONG.replace("steps.", "stages."),
     "gopher_avg_word_length", 10.0, 791 / 79),
    ("symbol_word_ratio", HASHTAGS, HASHTAGS + " #weekend",
     "gopher_symbol_word_ratio", 0.1, 7 / 62),
    ("symbol_word_ratio", ELLIPSES, ELLIPSES + " again…",
     "gopher_symbol_word_ratio", 0.1, 9 / 82),
    ("bullet_lines", BULLETS_IN, BULLETS_OUT, "gopher_bullet_lines_ratio", 0.9, 1.0),
    ("ellipsis_lines", HEADLINES, HEADLINES.replace("this month.", "this month..."),
     "gopher_ellipsis_lines_ratio", 0.3, 0.4),
    ("alpha_words", NUMBERS, NUMBERS + " 2005",
     "gopher_alpha_words_ratio", 0.8, 60 / 76),
    ("stop_words", LISTING, LISTING.replace("plank of kiln dried oak", "kiln dried oak plank"),
     "gopher_stop_words", 2, 1),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]

GERMAN = (
    "Die kleine Stadt am Rhein lebte lange vom Weinbau und vom Handel auf dem Fluss. Im "
    "neunzehnten Jahrhundert entstanden entlang des Ufers große Lagerhäuser, und jeden Herbst "
    "kamen Erntehelfer aus den umliegenden Dörfern, um bei der Lese zu helfen. Heute ist von "
    "diesem Treiben wenig geblieben: Die meisten Weinberge werden von wenigen Familienbetrieben "
    "bewirtschaftet, und im Sommer bringen Ausflugsschiffe Touristen, die durch die engen Gassen "
    "der Altstadt schlendern und in den Straußwirtschaften den jungen Wein probieren."
)
CHINESE = (
    "这座小城坐落在长江边上，很早以前就以造船和航运闻名。十九世纪末，沿江修建了许多仓库和码头，"
    "每年秋天都有大批商船在这里停靠。如今，老码头已经改建成一座公园，傍晚时分，居民们喜欢在江边"
    "散步、下棋，孩子们则在草地上放风筝。"
)


def doc(text: str, lang: str | None = "en", domain: str = "web", drop_reason=None, i: int = 0):
    return {
        "id": f"doc-{i}", "source": "test", "kind": "warc", "domain": domain,
        "url": f"https://example.org/{i}", "text": text, "lang": lang, "lang_score": 0.99,
        "meta": None, "drop_reason": drop_reason,
    }


def verdict(stage: GopherQuality, d: dict) -> str | None:
    return stage.keep_document(stage.score_document(d))


# -- per document ------------------------------------------------------------------------------
@pytest.mark.parametrize(("rule", "inside", "outside", "column", "v_in", "v_out"), CASES, ids=IDS)
def test_rule_threshold_per_document(rule, inside, outside, column, v_in, v_out):
    g = GopherQuality()
    s_in, s_out = g.score_document(doc(inside)), g.score_document(doc(outside))
    assert s_in[column] == pytest.approx(v_in) and s_out[column] == pytest.approx(v_out)
    assert g.keep_document(s_in) is None
    assert g.keep_document(s_out) == rule


def test_tokenizer_strips_edge_punctuation_only():
    text = "“Don't panic,” she said -- e-mail me at 3.5 p.m. #tag ... (really) 😀 हिंदी!"
    assert split_words(text) == [
        "Don't", "panic", "she", "said", "e-mail", "me", "at", "3.5", "p.m", "tag", "really", "हिंदी",
    ]


def test_rules_are_checked_in_order():
    # Too short and no stop words at all: the first rule in the order names it.
    short = doc("Handmade oak cutting board, sanded by hand.")
    assert verdict(GopherQuality(), short) == "word_count"


# -- languages ---------------------------------------------------------------------------------
def test_german_is_scored_but_not_held_to_english_stop_words():
    g = GopherQuality()
    s = g.score_document(doc(GERMAN, lang="de"))
    assert s["gopher_words"] == 76 and s["gopher_stop_words"] is None
    assert g.keep_document(s) is None
    # The same text labelled English (or not yet labelled) has none of the English stop words.
    assert verdict(g, doc(GERMAN, lang="en")) == "stop_words"
    assert verdict(g, doc(GERMAN, lang=None)) == "stop_words"


@pytest.mark.parametrize("lang", ["zh", "zh-Hans", "ja"])
def test_languages_without_spaces_are_kept_unscored(lang):
    g = GopherQuality()
    s = g.score_document(doc(CHINESE, lang=lang))
    assert all(s.get(c) is None for c in SCORES)
    assert g.keep_document(s) is None
    # Without the skip, the whole text would count as a handful of "words".
    assert verdict(GopherQuality({"skip_languages": []}), doc(CHINESE, lang=lang)) == "word_count"


# -- settings ----------------------------------------------------------------------------------
def test_custom_thresholds_change_the_outcome_without_rescoring():
    scores = GopherQuality().score_document(doc(words(50)))
    assert GopherQuality().keep_document(scores) is None
    assert GopherQuality({"min_doc_words": 60}).keep_document(scores) == "word_count"
    assert GopherQuality({"min_stop_words": 6}).keep_document(scores) == "stop_words"

    hashtags_out = doc(HASHTAGS + " #weekend")
    assert verdict(GopherQuality({"max_symbol_word_ratio": 0.2}), hashtags_out) is None
    assert verdict(GopherQuality({"max_symbol_word_ratio": None}), hashtags_out) is None


def test_custom_stop_word_list():
    listing = doc(LISTING)
    own_list = GopherQuality({"stop_words": ["oak", "board", "cm"], "min_stop_words": 3})
    assert verdict(own_list, listing) is None
    assert verdict(GopherQuality({"stop_words": ["with", "have"]}), listing) == "stop_words"


def test_unknown_setting_is_rejected():
    with pytest.raises(ValidationError):
        GopherQuality({"min_words": 10})


# -- through apply on an Arrow batch -----------------------------------------------------------
def test_apply_marks_rejects_and_leaves_other_rows_untouched():
    rows, expected = [], []
    for rule, inside, outside, *_ in CASES:
        rows += [doc(inside, i=len(rows)), doc(outside, i=len(rows) + 1)]
        expected += [None, f"gopher_quality.{rule}"]
    n_cases = len(rows)
    rows.append(doc(words(10), drop_reason="langid.language", i=len(rows)))  # already dropped
    rows.append(doc(words(10), domain="code", i=len(rows)))  # domain not configured
    rows.append(doc(GERMAN, lang="de", i=len(rows)))
    rows.append(doc(CHINESE, lang="zh", i=len(rows)))
    expected += ["langid.language", None, None, None]

    batch = pa.RecordBatch.from_pylist(rows, schema=DOC_SCHEMA)
    out = GopherQuality({"domains": ["web"]}).apply(batch)

    assert out.schema.names == DOC_SCHEMA.names + SCORES
    assert out.schema.field("gopher_words").type == pa.int64()
    assert out.schema.field("gopher_stop_words").type == pa.int64()
    assert out.schema.field("gopher_alpha_words_ratio").type == pa.float64()
    assert out.column("drop_reason").to_pylist() == expected
    assert out.column("text").to_pylist() == [r["text"] for r in rows]

    table = out.to_pylist()
    for case, (i_in, i_out) in zip(CASES, zip(range(0, n_cases, 2), range(1, n_cases, 2))):
        column, v_in, v_out = case[3:]
        assert table[i_in][column] == pytest.approx(v_in)
        assert table[i_out][column] == pytest.approx(v_out)
    dropped, other_domain, german, chinese = table[n_cases:]
    for row in (dropped, other_domain, chinese):
        assert all(row[c] is None for c in SCORES)
    assert german["gopher_words"] == 76 and german["gopher_stop_words"] is None


def test_apply_with_nothing_to_score():
    batch = pa.RecordBatch.from_pylist(
        [doc(words(10), drop_reason="langid.low_score")], schema=DOC_SCHEMA
    )
    out = GopherQuality().apply(batch)
    assert out.column("drop_reason").to_pylist() == ["langid.low_score"]
    assert all(out.column(c).to_pylist() == [None] for c in SCORES)


# -- tokens: spaCy's English rules, as datatrove counts words -----------------------------------
TOKEN_CASES = [
    ("Don't use e-mail: see /etc/apt or http://a.example/x. It costs 3.5% (5,000)...",
     ("Do", "n't", "use", "e", "-", "mail", ":", "see", "/etc", "/", "apt", "or", "http://a.example/x",
      ".", "It", "costs", "3.5", "%", "(", "5,000", ")", "...")),
    ("GTK+ C++ UTF-8 --help |---|---|", ("GTK+", "C++", "UTF-8", "--help", "|---|---|")),
    # French elisions are one word each, not "l" + "'objet"
    ("l'objet d'un serveur c'est", ("l'objet", "d'un", "serveur", "c'est")),
    # English contractions written without the apostrophe are two words
    ("dont im cant", ("do", "nt", "i", "m", "ca", "nt")),
    # underscores are punctuation: "__init__" has one word among five tokens
    ("__init__ and/or on\\|off", ("_", "_", "init", "_", "_", "and/or", "on\\|off")),
    # hyphens after digits split; a run of '#' is one token per '#'
    ("64-bit 2021-07-25 ####", ("64", "-", "bit", "2021", "-", "07", "-", "25", "#", "#", "#", "#")),
    # abbreviations keep their period, also when cut apart first ("z.B.")
    ("z.B. Dr. a.m. 10am :-)", ("z.", "B.", "Dr.", "a.m.", "10", "am", ":-)")),
    ('CreateScriptService("UI") x86->IR:', ('CreateScriptService("UI', '"', ")", "x86->IR", ":")),
    ("हिन्दी भाषा غالباً", ("हिन्दी", "भाषा", "غالباً")),  # vowel signs stay in the word
]


@pytest.mark.parametrize(("text", "tokens"), TOKEN_CASES)
def test_tokens_follow_spacy_english_rules(text, tokens):
    assert split_tokens(text) == tokens


def test_english_special_cases_only_for_english_text():
    assert split_tokens("im Sommer", "en") == ("i", "m", "Sommer")
    assert split_tokens("im Sommer", None) == ("i", "m", "Sommer")  # language not yet known
    assert split_tokens("im Sommer", "de") == ("im", "Sommer")
    assert split_tokens("im Haus.", "de") == ("im", "Haus", ".")


def test_words_are_tokens_with_a_letter_or_digit():
    s = GopherQuality().score_document(doc("__init__ → d'un 42 ©"))
    # tokens: _ _ init _ _ → d'un 42 © -> 9 tokens; words: init d'un 42; with a letter: 2
    assert s["gopher_words"] == 3
    assert s["gopher_avg_word_length"] == pytest.approx((4 + 4 + 2) / 3)
    assert s["gopher_alpha_words_ratio"] == pytest.approx(2 / 9)


def test_tokens_match_spacy_on_mixed_text():
    spacy = pytest.importorskip("spacy")
    text = " ".join(c[0] for c in TOKEN_CASES) + (
        " (see §3.2) “quoted,” he said... 10km/h $5.00 US$10 '''bold''' qu'il l’interpréteur"
        " debian-devel@lists.debian.org [:] label[:] (;)， «Windows»''' 8) :-((( <3 it's Mr. O'Neil's"
        " user:pw@host.example.com/path a:b:c ...... (((x))) 12kg 3.5mbar"
    )
    expected = [t.text for t in spacy.blank("en").tokenizer(text) if t.text.strip()]
    assert word_tokens(text) == expected


def test_exported_rules_are_those_of_the_installed_spacy():
    spacy = pytest.importorskip("spacy")
    tok = spacy.blank("en").tokenizer
    assert wt._RULES["prefix"] == tok.prefix_search.__self__.pattern
    assert wt._RULES["suffix"] == tok.suffix_search.__self__.pattern
    assert wt._RULES["infix"] == tok.infix_finditer.__self__.pattern
    assert wt._RULES["url"] == tok.url_match.__self__.pattern
    assert set(wt._SPECIAL) == set(tok.rules)


def test_long_runs_of_affixes_are_cut_one_token_each():
    # each '=' or '(' is a prefix: peeled one at a time without re-scanning the rest
    assert word_tokens("=" * 5000) == ["="] * 5000
    assert word_tokens("(" * 3000 + "x" + ")" * 3000) == ["("] * 3000 + ["x"] + [")"] * 3000
    assert word_tokens("a:" * 3000) == ["a", ":"] * 3000


def test_token_cache_holds_a_batch_and_stays_within_its_budget(monkeypatch):
    """The tokens of a text are found again after a whole batch of other texts (each stage
    runs over the whole batch before the next), and the cache never holds more characters
    of text than its budget."""
    from stages import gopher

    monkeypatch.setattr(gopher, "TOKEN_CACHE_CHARS", 10_000)
    monkeypatch.setattr(gopher, "_TOKENS", type(gopher._TOKENS)())
    monkeypatch.setattr(gopher, "_TOKEN_CHARS", [0])
    texts = [f"Document {i} says hello, world. It isn't long." for i in range(100)]
    first = [split_tokens(t) for t in texts]
    assert all(split_tokens(t) is tokens for t, tokens in zip(texts, first))  # from the cache
    assert split_tokens(texts[0], "de") == ("Document", "0", "says", "hello", ",", "world", ".", "It", "isn't", "long", ".")
    for i in range(1000):
        split_tokens(f"another text number {i} " * 20)
    assert gopher._TOKEN_CHARS[0] == sum(len(t) for t, _ in gopher._TOKENS) <= 10_000
    assert split_tokens(texts[0]) == first[0]
