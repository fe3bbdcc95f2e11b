"""Reference text → the words a learner will actually say.

"5" is read "five", "21st" "twenty first", "1990" "nineteen ninety", "1990s" "nineteen
nineties", "10:30" "ten thirty", "-5" "minus five", "½" "one half", "3.5" "three point
five", "50%" "fifty percent", "$3" "three dollars", "&" "and", "Dr." "doctor", "Müller"
"muller". Each reference token keeps its written form for display (the word the learner
sees); its spoken words are what gets aligned. A token whose letters are not Latin stays as
written and gets no pronunciation, so the engine refuses the text instead of skipping it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from assessments.engines.local.numbers import (
    cardinal_words,
    decade_words,
    fraction_words,
    number_words,
    ordinal_words,
    time_words,
    vulgar_fraction_words,
)

_SYMBOLS = {
    "&": "and", "%": "percent", "+": "plus", "=": "equals", "@": "at", "×": "times",
    "÷": "divided by",
}  # fmt: skip
_CURRENCY = {"$": "dollars", "£": "pounds", "€": "euros"}
_TITLES = {"mr": "mister", "mrs": "missus", "dr": "doctor", "prof": "professor"}
# Read after a number only ("5 km"); elsewhere these letters may mean something else.
_UNITS = {
    "km": ("kilometer", "kilometers"), "kg": ("kilogram", "kilograms"),
    "cm": ("centimeter", "centimeters"), "mm": ("millimeter", "millimeters"),
    "mph": ("miles per hour", "miles per hour"), "am": ("a.m.", "a.m."),
    "pm": ("p.m.", "p.m."),
}  # fmt: skip
_POWERS = {"²": "squared", "³": "cubed"}
# Letters NFKD does not take apart.
_LETTERS = {
    "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i",
}  # fmt: skip
_FRACTION_CHARS = "¼½¾⅐⅑⅒⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞"
# A word: letters, digits and the apostrophes/hyphens/points inside it ("/" only between
# digits; "_" is a blank to fill in, not a word). It may start with a minus sign (after a
# space), "#" or the "'" of "'90s", or a currency sign. Everything else separates words.
_TOKEN = re.compile(
    r"(?:(?<![\w.,])[-−](?=[$£€]?\d)|#(?=\d)|'(?=\d\d'?s\b))?"
    r"[$£€]?[^\W_](?:[^\W_]|['.,:°-]|(?<=\d)/(?=\d))*%?"
    r"|[&%+=@×÷]"
)
# Punctuation right after a word (closing quotes and brackets allowed in between).
_CLAUSE_END = re.compile(r"^['\")\]]*[,.;:!?]")
_NUMBER = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$")
_ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$", re.IGNORECASE)
_DECADE = re.compile(r"^'?(\d{2}|\d{4})'?s$")
_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)(?:([ap])\.?m\.?)?$", re.IGNORECASE)
_FRACTION = re.compile(r"^(\d)/(\d{1,2})$")
_VULGAR = re.compile(rf"^(\d*)([{_FRACTION_CHARS}])$")
_DEGREES = re.compile(r"^(.*\d)°([CF]?)$")
_WITH_UNIT = re.compile(r"^(\d+(?:\.\d+)?)([a-z]+)$", re.IGNORECASE)
_INITIALISM = re.compile(r"^(?:[a-z]\.)+[a-z]\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class ReferenceWord:
    text: str  # as written, without surrounding punctuation
    spoken: tuple[str, ...]  # lower-case words as read aloud
    clause_end: bool = False  # punctuation follows, where a reader is expected to pause


def reference_words(text: str) -> list[ReferenceWord]:
    """Split ``text`` into display words, each with the words a reader says for it."""
    words: list[ReferenceWord] = []
    text = text.replace("’", "'")
    previous = ""
    for match in _TOKEN.finditer(text):
        raw = match.group()
        token = raw.rstrip(".,:'-")
        if not token:
            continue
        spoken = _spoken(token, previous=previous)
        previous = token
        tail = raw[len(token) :] + text[match.end() : match.end() + 3]
        # The point of "Dr." belongs to the title: no pause is expected after it.
        clause_end = bool(_CLAUSE_END.match(tail)) and token.lower() not in _TITLES
        words.append(ReferenceWord(text=token, spoken=tuple(spoken), clause_end=clause_end))
    if words:
        words[-1] = ReferenceWord(words[-1].text, words[-1].spoken, clause_end=False)
    return words


def fold(word: str) -> str:
    """Latin letters without their accents: "Müller" → "muller", "straße" → "strasse".

    Letters of other scripts are kept as they are (no rule can read them).
    """
    word = "".join(_LETTERS.get(c, c) for c in word.lower())
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _spoken(token: str, *, previous: str = "") -> list[str]:
    if token in _SYMBOLS:
        return _SYMBOLS[token].split()
    if token[0] in "-−":
        return ["minus", *_spoken(token[1:])]
    if token[0] == "#":
        return ["number", *_spoken(token[1:])]
    currency = _CURRENCY.get(token[0])
    if currency:
        return _money(token[1:], currency)
    if token.endswith("%"):
        return [*_spoken(token[:-1]), "percent"]
    if token[-1] in _POWERS:
        return [*_spoken(token[:-1]), _POWERS[token[-1]]] if len(token) > 1 else []
    if token.lower() in _UNITS and any(c.isdigit() for c in previous):
        singular, plural = _UNITS[token.lower()]
        return (singular if previous == "1" else plural).split()
    return _numeric(token) or _word(token)


def _numeric(token: str) -> list[str] | None:
    """The reading of a token that is a number of some kind, or None."""
    if found := _ORDINAL.match(token):
        return ordinal_words(int(found.group(1)))
    if found := _NUMBER.match(token):
        return number_words(found.group(1), found.group(2))
    if found := _DECADE.match(token):
        return decade_words(found.group(1))
    if found := _TIME.match(token):
        hour, minute, meridiem = found.groups()
        words = time_words(int(hour), int(minute), meridiem=bool(meridiem))
        return [*words, f"{meridiem.lower()}.m."] if meridiem else words
    if found := _FRACTION.match(token):
        numerator, denominator = int(found.group(1)), int(found.group(2))
        if 0 < numerator < denominator <= 10:
            return fraction_words(numerator, denominator)
    if found := _VULGAR.match(token):
        whole, char = found.groups()
        if not whole:
            return vulgar_fraction_words(char)
        return [*cardinal_words(int(whole)), "and", *vulgar_fraction_words(char, mixed=True)]
    if found := _DEGREES.match(token):
        scale = {"C": ["celsius"], "F": ["fahrenheit"]}.get(found.group(2), [])
        return [*_spoken(found.group(1)), "degrees", *scale]
    if found := _WITH_UNIT.match(token):
        amount, unit = found.groups()
        if unit.lower() in _UNITS:
            singular, plural = _UNITS[unit.lower()]
            return [*_spoken(amount), *(singular if amount == "1" else plural).split()]
    return None


def _word(token: str) -> list[str]:
    lower = token.lower()
    if lower in _TITLES:
        return [_TITLES[lower]]
    if _INITIALISM.match(token) and len(token) > 2:
        # "U.S.A.": letter names ("a." is EY in the dictionary, "a" the article AH).
        return [f"{letter}." for letter in lower if letter.isalpha()]
    parts = [p for p in re.split(r"[-.,:/°]+", token) if p]
    if len(parts) > 1:
        return [word for part in parts for word in _spoken(part)]
    return _digits_in_word(fold(token))


def _money(amount: str, currency: str) -> list[str]:
    """Money: "$3.50" is read "three dollars fifty"."""
    whole, _, cents = amount.partition(".")
    if not whole.replace(",", "").isdigit():
        return [*_spoken(amount), currency] if amount else []
    words = [*cardinal_words(int(whole.replace(",", ""))), currency]
    if cents.isdigit() and int(cents):
        words.extend(cardinal_words(int(cents)))
    return words


def _digits_in_word(part: str) -> list[str]:
    """Mixed tokens like "mp3" read letters then the number."""
    out: list[str] = []
    for piece in re.findall(r"\d+|[^\d]+", part):
        out.extend(cardinal_words(int(piece)) if piece.isdigit() else [piece])
    return out
