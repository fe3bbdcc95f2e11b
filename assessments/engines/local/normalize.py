"""Reference text → the words a learner will actually say.

"5" is read "five", "21st" "twenty first", "1990" "nineteen ninety", "3.5" "three point
five", "50%" "fifty percent", "$3" "three dollars", "&" "and". Each reference token keeps
its written form for display; its spoken words are what gets aligned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]  # fmt: skip
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
_SYMBOLS = {"&": "and", "%": "percent", "+": "plus", "=": "equals", "@": "at"}
_CURRENCY = {"$": "dollars", "£": "pounds", "€": "euros"}
# Letters, digits and the apostrophes/hyphens/points inside words; everything else separates.
_TOKEN = re.compile(r"[$£€]?[\w][\w'’.,:-]*%?|[&%+=@]")
# Punctuation right after a word (closing quotes and brackets allowed in between).
_CLAUSE_END = re.compile(r"^['\")\]]*[,.;:!?]")
_NUMBER = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$")
_ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$", re.IGNORECASE)


@dataclass(frozen=True)
class ReferenceWord:
    text: str  # as written, without surrounding punctuation
    spoken: tuple[str, ...]  # lower-case words as read aloud
    clause_end: bool = False  # punctuation follows, where a reader is expected to pause


def reference_words(text: str) -> list[ReferenceWord]:
    """Split ``text`` into display words, each with the words a reader says for it."""
    words = []
    text = text.replace("’", "'")
    for match in _TOKEN.finditer(text):
        token = match.group().strip(".,:'-")
        if not token:
            continue
        spoken = _spoken(token)
        if spoken:
            raw = match.group()
            tail = raw[len(raw.rstrip(".,:'-")) :] + text[match.end() : match.end() + 3]
            clause_end = bool(_CLAUSE_END.match(tail))
            words.append(ReferenceWord(text=token, spoken=tuple(spoken), clause_end=clause_end))
    if words:
        words[-1] = ReferenceWord(words[-1].text, words[-1].spoken, clause_end=False)
    return words


def _spoken(token: str) -> list[str]:
    if token in _SYMBOLS:
        return [_SYMBOLS[token]]
    currency = _CURRENCY.get(token[0])
    if currency:
        return _money(token[1:], currency)
    if token.endswith("%"):
        return [*_spoken(token[:-1]), "percent"]
    ordinal = _ORDINAL.match(token)
    if ordinal:
        return ordinal_words(int(ordinal.group(1)))
    number = _NUMBER.match(token)
    if number:
        return _number_words(number.group(1), number.group(2))
    parts = [p for p in re.split(r"[-.,:]+", token.lower()) if p]
    spoken: list[str] = []
    for part in parts:
        spoken.extend(_digits_in_word(part))
    return spoken


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
    pieces = re.findall(r"\d+|[^\d]+", part)
    out: list[str] = []
    for piece in pieces:
        out.extend(cardinal_words(int(piece)) if piece.isdigit() else [piece])
    return out


def _number_words(integer: str, fraction: str | None) -> list[str]:
    # "1990" is a year, "1,990" a quantity.
    value = int(integer.replace(",", ""))
    if fraction is None and len(integer) == 4 and _reads_as_year(value):
        words = year_words(value)
    else:
        words = cardinal_words(value)
    if fraction:
        words = [*words, "point", *(_ONES[int(d)] for d in fraction)]
    return words


def _reads_as_year(value: int) -> bool:
    # "1990" is said "nineteen ninety", but "2005" is "two thousand five".
    return 1100 <= value <= 1999 or 2010 <= value <= 2099


def year_words(value: int) -> list[str]:
    high, low = divmod(value, 100)
    if low == 0:
        return [*cardinal_words(high), "hundred"]
    low_words = cardinal_words(low) if low >= 10 else ["oh", _ONES[low]]
    return [*cardinal_words(high), *low_words]


def cardinal_words(value: int) -> list[str]:
    if value < 20:
        return [_ONES[value]]
    if value < 100:
        tens, ones = divmod(value, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    for size, name in _SCALES:
        if value >= size:
            high, rest = divmod(value, size)
            return [*cardinal_words(high), name, *(cardinal_words(rest) if rest else [])]
    raise AssertionError("unreachable")


def ordinal_words(value: int) -> list[str]:
    words = cardinal_words(value)
    last = words[-1]
    if last in _ORDINAL_WORDS:
        words[-1] = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return words
