"""Reference text normalisation, dictionary lookup, letter-to-sound rules and syllables."""

from __future__ import annotations

import pytest

from assessments.engines.local import g2p
from assessments.engines.local.lexicon import pronounce_text
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
    ],
)
def test_reference_text_is_normalised_as_it_is_read(text, expected):
    assert spoken(text) == expected


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
