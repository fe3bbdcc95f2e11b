"""Phoneme names in the alphabets the contract offers, and syllables from phone strings."""

from __future__ import annotations

from collections.abc import Sequence

VOWELS = frozenset(
    "AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split()  # noqa: SIM905 - readable table
)
_IPA = {
    "AA": "ɑ", "AE": "æ", "AH": "ə", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "B": "b", "CH": "tʃ",
    "D": "d", "DH": "ð", "EH": "ɛ", "ER": "ɝ", "EY": "eɪ", "F": "f", "G": "ɡ", "HH": "h",
    "IH": "ɪ", "IY": "i", "JH": "dʒ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ",
    "OW": "oʊ", "OY": "ɔɪ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ",
    "UH": "ʊ", "UW": "u", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}  # fmt: skip


def phoneme_name(phone: str, alphabet: str) -> str:
    """ARPAbet ``phone`` as Azure would name it: SAPI (lower case, the default) or IPA."""
    if alphabet == "IPA":
        return _IPA.get(phone, phone.lower())
    return phone.lower()


def syllabify(phones: Sequence[str]) -> list[list[int]]:
    """Group phone indices into syllables: one vowel each, consonants split between vowels.

    Between two vowels the last consonant starts the next syllable (CV is the most common
    English onset); leading consonants join the first syllable, trailing ones the last.
    """
    nuclei = [i for i, p in enumerate(phones) if p in VOWELS]
    if not nuclei:
        return [list(range(len(phones)))] if phones else []
    syllables: list[list[int]] = []
    start = 0
    for this, following in zip(nuclei, [*nuclei[1:], None], strict=True):
        if following is None:
            end = len(phones)
        else:
            gap = following - this - 1
            end = following - (1 if gap >= 1 else 0)
        syllables.append(list(range(start, end)))
        start = end
    return syllables
