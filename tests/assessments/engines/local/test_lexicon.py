"""Reference text normalisation, dictionary lookup, letter-to-sound rules and syllables."""

from __future__ import annotations

import pytest

from assessments.engines.local import g2p
from assessments.engines.local.lexicon import Unpronounceable, pronounce_text
from assessments.engines.local.normalize import reference_words
from assessments.engines.local.phonemes import phoneme_name, syllabify

DICTIONARY = {
    "five": "F AY V",
    "cats": "K AE T S",
    "i": "AY",
    "have": "HH AE V",
    "cat": "K AE T",
    "bus": "B AH S",
}


def spoken(text: str) -> list[str]:
    return [" ".join(w.spoken) for w in reference_words(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I have 5 cats!", ["i", "have", "five", "cats"]),
        ("21 people", ["twenty one", "people"]),
        ("in 1990", ["in", "nineteen ninety"]),
        ("in 2005", ["in", "two thousand five"]),
        ("the 3rd time", ["the", "third", "time"]),
        ("pi is 3.14", ["pi", "is", "three point one four"]),
        ("$3.50 or 50%", ["three dollars fifty", "or", "fifty percent"]),
        ("salt & pepper", ["salt", "and", "pepper"]),
        ("well-known", ["well known"]),
        ("1,200 miles", ["one thousand two hundred", "miles"]),
        ("“Hello,” she said…", ["hello", "she", "said"]),
        # decades
        ("the 1990s", ["the", "nineteen nineties"]),
        ("the '90s", ["the", "nineties"]),
        ("the 1980's", ["the", "nineteen eighties"]),
        ("the 1900s", ["the", "nineteen hundreds"]),
        ("the 2000s", ["the", "two thousands"]),
        # times
        ("at 10:00", ["at", "ten o'clock"]),
        ("at 10:30", ["at", "ten thirty"]),
        ("at 12:05", ["at", "twelve oh five"]),
        ("at 14:00", ["at", "fourteen hundred"]),
        ("at 10:30pm", ["at", "ten thirty p.m."]),
        ("10am", ["ten a.m."]),
        ("at 5 pm", ["at", "five", "p.m."]),
        ("10 a.m.", ["ten", "a. m."]),
        ("I am here", ["i", "am", "here"]),
        # titles
        ("Dr. Smith", ["doctor", "smith"]),
        ("Mr. and Mrs. Brown", ["mister", "and", "missus", "brown"]),
        ("Ms. Lee", ["ms", "lee"]),
        ("Prof. Ng", ["professor", "ng"]),
        # signs, fractions, symbols
        ("-5", ["minus five"]),
        ("it was −3.5 today", ["it", "was", "minus three point five", "today"]),
        ("-5°C", ["minus five degrees celsius"]),
        ("50°", ["fifty degrees"]),
        ("5-4", ["five four"]),
        ("x - 5", ["x", "five"]),
        ("½", ["one half"]),
        ("2½ cups", ["two and a half", "cups"]),
        ("¾", ["three quarters"]),
        ("3/4", ["three quarters"]),
        ("1/3", ["one third"]),
        ("24/7", ["twenty four seven"]),
        ("x²", ["x squared"]),
        ("#1", ["number one"]),
        ("A+", ["a", "plus"]),
        ("3×4", ["three", "times", "four"]),
        ("rock & roll", ["rock", "and", "roll"]),
        # units after a number
        ("100km", ["one hundred kilometers"]),
        ("1 km", ["one", "kilometer"]),
        ("5 kg", ["five", "kilograms"]),
        # other forms
        ("2nd-hand", ["second hand"]),
        ("U.S.A.", ["u. s. a."]),
        ("mp3", ["mp three"]),
        ("fill ___ in", ["fill", "in"]),
        # accented Latin letters are folded; other scripts stay as written
        ("Müller", ["muller"]),
        ("naïve café", ["naive", "cafe"]),
        ("Straße", ["strasse"]),
        ("日本", ["日本"]),
    ],
)
def test_reference_text_is_normalised_as_it_is_read(text, expected):
    assert spoken(text) == expected


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("He took up a book ½", ["He", "took", "up", "a", "book", "½"]),
        ("In the '90s, at 10:30.", ["In", "the", "'90s", "at", "10:30"]),
        ("Dr. Müller is -5°C!", ["Dr", "Müller", "is", "-5°C"]),
        ("2½ cups of 日本 tea", ["2½", "cups", "of", "日本", "tea"]),
    ],
)
def test_every_written_token_is_one_displayed_word(text, shown):
    assert [w.text for w in reference_words(text)] == shown


def test_a_title_point_is_not_a_clause_end():
    words = reference_words("Dr. Smith came. Then Mr. Brown.")
    assert [(w.text, w.clause_end) for w in words] == [
        ("Dr", False), ("Smith", False), ("came", True), ("Then", False), ("Mr", False),
        ("Brown", False),
    ]  # fmt: skip


def test_written_form_and_clause_ends_are_kept():
    words = reference_words("Hello, world. I have 5 cats!")
    assert [w.text for w in words] == ["Hello", "world", "I", "have", "5", "cats"]
    assert [w.clause_end for w in words] == [True, True, False, False, False, False]


def test_dictionary_words_come_from_the_dictionary():
    words = pronounce_text("I have 5 cats", DICTIONARY.get)
    assert [w.phones for w in words] == [
        ("AY",), ("HH", "AE", "V"), ("F", "AY", "V"), ("K", "AE", "T", "S")
    ]  # fmt: skip
    assert not any(w.guessed for w in words)


def test_possessives_follow_the_last_sound():
    cat, bus = pronounce_text("cat's bus's", DICTIONARY.get)
    assert cat.phones == ("K", "AE", "T", "S") and not cat.guessed
    assert bus.phones == ("B", "AH", "S", "IH", "Z")


def test_words_with_no_pronunciation_are_refused_by_name():
    with pytest.raises(Unpronounceable) as raised:
        pronounce_text("I have 日本 and ½ cat", DICTIONARY.get)
    assert raised.value.words == ["日本"]  # "½" is read "one half"


def test_accented_words_use_the_dictionary_or_the_rules_on_folded_letters():
    (cafe,) = pronounce_text("café", {"cafe": "K AE F EY"}.get)
    assert cafe.phones == ("K", "AE", "F", "EY") and not cafe.guessed
    assert g2p.predict("Müller") == g2p.predict("muller")
    assert g2p.predict("naïve") == g2p.predict("naive")
    assert g2p.predict("müller")[:2] == ("M", "AH")
    assert g2p.predict("日本") == () and g2p.predict("x日") == ()


def test_unknown_words_get_letter_to_sound_pronunciations():
    (word,) = pronounce_text("blicket", DICTIONARY.get)
    assert word.guessed
    assert word.phones[:2] == ("B", "L") and "K" in word.phones and word.phones[-1] == "T"


@pytest.mark.parametrize(
    ("word", "expected"),
    [("knight", "N AY T"), ("zoomed", "Z UW M D"), ("tutor", "T UW T ER")],
)
def test_letter_to_sound_rules_handle_common_patterns(word, expected):
    assert " ".join(g2p.predict(word)) == expected


def test_letter_to_sound_alignment_splits_phones_over_letters():
    logp = {}
    chunks = g2p.align("box", ("B", "AA", "K", "S"), logp)
    assert chunks is not None and len(chunks) == 3
    assert " ".join(c for c in chunks if c).split() == ["B", "AA", "K", "S"]


def test_syllables_and_alphabets():
    phones = ["P", "R", "OW", "G", "R", "AE", "M"]
    # "program": the consonant before the second vowel starts its syllable.
    assert syllabify(phones) == [[0, 1, 2, 3], [4, 5, 6]]
    assert syllabify(["HH", "M"]) == [[0, 1]]
    assert phoneme_name("TH", "") == "th"
    assert phoneme_name("TH", "IPA") == "θ"


@pytest.fixture(scope="module")
def cmudict() -> dict[str, str]:
    entries: dict[str, str] = {}
    with g2p.default_dictionary().open(encoding="utf-8") as handle:
        for line in handle:
            word, _, phones = line.strip().partition(" ")
            entries.setdefault(word, phones)
    return entries


@pytest.mark.parametrize(
    "text",
    ["10:00", "10am", "U.S.A.", "Dr. Mrs. Mr. Prof.", "the 1990s and '80s", "-5°C", "2½ ¾ 3/4",
     "5 km", "x²", "#1", "café"],
)  # fmt: skip
def test_spelled_out_forms_are_dictionary_words(text, cmudict):
    words = pronounce_text(text, cmudict.get)
    assert not any(w.guessed for w in words), [w.text for w in words if w.guessed]
