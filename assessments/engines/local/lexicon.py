"""Pronunciations for reference words: CMUdict first, learnt letter-to-sound rules otherwise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assessments.engines.local import g2p
from assessments.engines.local.normalize import ReferenceWord, reference_words

# A dictionary lookup: lower-case word → space-separated phones, or None.
Lookup = Callable[[str], str | None]
_VOICELESS = {"P", "T", "K", "F", "TH"}
_SIBILANT = {"S", "Z", "SH", "ZH", "CH", "JH"}


@dataclass(frozen=True)
class LexiconWord:
    text: str
    phones: tuple[str, ...]
    guessed: bool  # at least one part came from letter-to-sound rules


class Unpronounceable(ValueError):
    """Reference words that neither the dictionary nor the letter-to-sound rules can read."""

    def __init__(self, words: list[str]) -> None:
        super().__init__("no pronunciation for " + ", ".join(repr(w) for w in words))
        self.words = words


def pronounce_text(text: str, lookup: Lookup) -> list[LexiconWord]:
    """Phones for every reference word; raises :class:`Unpronounceable` rather than skip one."""
    words = [pronounce_word(word, lookup) for word in reference_words(text)]
    missing = [w.text for w in words if not w.phones]
    if missing:
        raise Unpronounceable(missing)
    return words


def words_without_pronunciation(text: str) -> list[str]:
    """The reference words this engine could not read, found without loading its model.

    The dictionary holds plain-letter words only, and the letter-to-sound rules read any
    word of (accent-folded) Latin letters, so whether a word can be read does not depend
    on the dictionary: an empty lookup gives the same answer, cheaply, in the web process.
    """
    try:
        pronounce_text(text, lambda _word: None)
    except Unpronounceable as exc:
        return exc.words
    return []


def pronounce_word(word: ReferenceWord, lookup: Lookup) -> LexiconWord:
    phones: list[str] = []
    guessed = False
    for spoken in word.spoken:
        found = _dictionary_phones(spoken, lookup)
        if found is None:
            found, guessed = g2p.predict(spoken), True
        phones.extend(found)
    return LexiconWord(text=word.text, phones=tuple(phones), guessed=guessed)


def _dictionary_phones(word: str, lookup: Lookup) -> tuple[str, ...] | None:
    found = lookup(word)
    if found:
        return tuple(found.split())
    if word.endswith("'s") and len(word) > 2:
        base = lookup(word[:-2])
        if base:
            return (*base.split(), *_possessive(base.split()[-1]))
    return None


def _possessive(last_phone: str) -> tuple[str, ...]:
    """English "'s" follows the last sound: "bus's" IH Z, "cat's" S, "dog's" Z."""
    if last_phone in _SIBILANT:
        return ("IH", "Z")
    return ("S",) if last_phone in _VOICELESS else ("Z",)
