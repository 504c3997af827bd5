"""GopherRepetition: each rule with a document just inside and just outside its threshold."""

from __future__ import annotations

import pytest
from filter_docs import apply, distinct_words, pad_to

from stages.gopher_repetition import GopherRepetition

SENTENCES = [f"Line {w} tells about the {v} harbour and its boats." for w, v in
             zip(distinct_words(12, 5, skip=100), distinct_words(12, 7, skip=900))]


NO_NGRAMS = {"max_top_ngram_char_frac": {}, "max_dup_ngram_char_frac": {}}
"""Repeated lines repeat their n-grams too: the line tests switch the n-gram rules off."""


def reasons(*texts, lang=None, **settings):
    return [r["drop_reason"] for r in apply(GopherRepetition(settings), *texts, lang=lang)]


def score(text, col, lang=None):
    return apply(GopherRepetition(), text, lang=lang)[0][col]


def test_duplicate_lines_fraction():
    short = "Short note."
    inside = "\n".join(SENTENCES[:6] + [short] * 4)  # 10 lines, 3 repeat an earlier one: 0.3
    outside = "\n".join(SENTENCES[:5] + [short] * 5)  # 10 lines, 4 repeats: 0.4
    assert score(inside, "gopher_dup_line_frac") == pytest.approx(0.3)
    assert reasons(inside, outside, **NO_NGRAMS, max_dup_line_char_frac=None) == [
        None, "gopher_repetition.dup_lines"]


def test_duplicate_line_characters():
    long_dup = SENTENCES[0]
    body = "\n".join(SENTENCES[1:9] + [long_dup, long_dup])  # one repeat, ~50 chars of ~500
    frac = score(body, "gopher_dup_line_char_frac")
    assert frac == pytest.approx(len(long_dup) / len(body))
    assert reasons(body, **NO_NGRAMS, max_dup_line_char_frac=frac) == [None]
    assert reasons(body, **NO_NGRAMS, max_dup_line_char_frac=frac - 1e-9) == [
        "gopher_repetition.dup_line_chars"]


def test_duplicate_paragraphs():
    paras = [s + " " + t for s, t in zip(SENTENCES[:7], SENTENCES[5:12])]
    inside = "\n\n".join(paras[:7] + [paras[0]] * 3)  # 10 paragraphs, 3 repeats
    outside = "\n\n".join(paras[:6] + [paras[0]] * 4)
    assert score(inside, "gopher_dup_para_frac") == pytest.approx(0.3)
    assert reasons(inside, outside, **NO_NGRAMS, max_dup_para_char_frac=None,
                   max_dup_line_frac=None, max_dup_line_char_frac=None) == [
        None, "gopher_repetition.dup_paragraphs"]


def test_top_2gram_character_fraction():
    # "ab cd" 10 times between distinct words: 50 characters; 250 chars -> 0.2, 249 -> above
    seq = " ".join(f"ab cd {w}" for w in distinct_words(10, 5, "klmnop"))
    inside, outside = pad_to(seq, 250), pad_to(seq, 249)
    assert score(inside, "gopher_top_2gram_char_frac") == pytest.approx(0.2)
    assert reasons(inside, outside) == [None, "gopher_repetition.top_2gram"]


def test_duplicated_5gram_character_fraction():
    # a 5-gram of 8-letter words repeated 10 times: 9 repeats x 40 characters = 360;
    # 2400 characters -> 0.15 (kept), 2399 -> above. Its top 4-gram covers 350 chars (< 0.16).
    five = " ".join(distinct_words(5, 8, "abcdef", skip=5000))
    seq = " ".join(f"{five} {w}" for w in distinct_words(10, 5, "klmnop"))
    inside, outside = pad_to(seq, 2400), pad_to(seq, 2399)
    assert score(inside, "gopher_dup_5gram_char_frac") == pytest.approx(0.15)
    assert score(inside, "gopher_top_4gram_char_frac") == pytest.approx(350 / 2400)
    assert reasons(inside, outside) == [None, "gopher_repetition.dup_5gram"]


def test_threshold_change_is_reapplied_from_the_scores():
    seq = pad_to(" ".join(f"ab cd {w}" for w in distinct_words(10, 5, "klmnop")), 249)
    stage = GopherRepetition({"max_top_ngram_char_frac": {2: 0.25}})
    scores = apply(GopherRepetition(), seq)[0]
    assert GopherRepetition().keep_document(scores) == "top_2gram"
    assert stage.keep_document(scores) is None


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_no_space_languages_skip_ngram_rules_but_not_line_rules(lang):
    text = {"zh": "我们今天去公园散步。天气很好，阳光明媚。", "ja": "今日は公園を散歩しました。天気がとても良かったです。"}[lang]
    row = apply(GopherRepetition(), "\n".join([text] * 3), lang=lang)[0]
    assert row["gopher_top_2gram_char_frac"] is None and row["gopher_dup_5gram_char_frac"] is None
    assert row["gopher_dup_line_frac"] == pytest.approx(2 / 3)
    assert row["drop_reason"] == "gopher_repetition.dup_lines"
    ok = apply(GopherRepetition(), text, lang=lang)[0]
    assert ok["drop_reason"] is None


def test_settings_reject_unknown_ngram_sizes():
    with pytest.raises(ValueError):
        GopherRepetition({"max_top_ngram_char_frac": {7: 0.1}})


def _reference_duplicate_ngram_chars(words, n):
    """The rule as written in datatrove: visit every position, jump n after a repeat."""
    seen, chars, i = set(), 0, 0
    while i < len(words) - n + 1:
        gram = tuple(words[i:i + n])
        if gram in seen:
            chars += sum(map(len, gram))
            i += n
        else:
            seen.add(gram)
            i += 1
    return chars


def test_duplicate_ngram_scan_matches_the_plain_definition():
    import random

    from stages.text_stats import duplicate_ngram_chars

    rnd = random.Random(7)
    for _ in range(2000):
        words = [rnd.choice(["a", "bb", "c"]) for _ in range(rnd.randint(0, 40))]
        for n in (1, 2, 3, 5):
            assert duplicate_ngram_chars(words, n) == _reference_duplicate_ngram_chars(words, n), (words, n)


def _reference_top_ngram_chars(words, n):
    """The most frequent n-gram by collections.Counter (ties: the first seen), as datatrove."""
    from collections import Counter

    if len(words) < n:
        return None
    gram, count = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1)).most_common(1)[0]
    return (sum(map(len, gram)) + n - 1) * count


def test_ngrams_of_increasing_n_match_the_plain_definitions():
    """One NGrams object asked for n = 1, 2, ... 10 in turn (as the stage asks) gives what
    counting tuples of words gives, ties between equally frequent n-grams included."""
    import random

    from stages.text_stats import NGrams

    rnd = random.Random(11)
    for _ in range(1500):
        vocab = ["a", "bb", "c", "dddd", "é"][: rnd.randint(1, 5)]
        words = [rnd.choice(vocab) for _ in range(rnd.randint(0, 60))]
        if rnd.random() < 0.3:  # a repeated block, as navigation repeated per item
            words = words[:10] * rnd.randint(2, 4) + words[10:]
        grams = NGrams(words)
        for n in range(1, 11):
            assert grams.top_chars(n) == _reference_top_ngram_chars(words, n), (words, n)
            assert grams.duplicate_chars(n) == _reference_duplicate_ngram_chars(words, n), (words, n)
    grams = NGrams(["a", "b", "a", "b"])
    assert grams.duplicate_chars(2) == 2
    with pytest.raises(ValueError):  # n-grams are built up from shorter ones, never back down
        grams.top_chars(1)
