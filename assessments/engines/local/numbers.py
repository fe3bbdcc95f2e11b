"""Numbers as they are read aloud: cardinals, ordinals, years, decades, times, fractions.

All functions return lower-case words; :mod:`normalize` decides which reading a token gets.
"""

from __future__ import annotations

import unicodedata

ONES = [
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
# Denominators with their own names ("one half", "three quarters"); others are ordinals.
_DENOMINATORS = {2: ("half", "halves"), 4: ("quarter", "quarters")}


def cardinal_words(value: int) -> list[str]:
    if value < 20:
        return [ONES[value]]
    if value < 100:
        tens, ones = divmod(value, 10)
        return [_TENS[tens]] + ([ONES[ones]] if ones else [])
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


def reads_as_year(value: int) -> bool:
    # "1990" is said "nineteen ninety", but "2005" is "two thousand five".
    return 1100 <= value <= 1999 or 2010 <= value <= 2099


def year_words(value: int) -> list[str]:
    high, low = divmod(value, 100)
    if low == 0:
        return [*cardinal_words(high), "hundred"]
    low_words = cardinal_words(low) if low >= 10 else ["oh", ONES[low]]
    return [*cardinal_words(high), *low_words]


def number_words(integer: str, fraction: str | None = None) -> list[str]:
    """ "1990" is a year, "1,990" a quantity, "3.14" "three point one four"."""
    value = int(integer.replace(",", ""))
    if fraction is None and len(integer) == 4 and reads_as_year(value):
        words = year_words(value)
    else:
        words = cardinal_words(value)
    if fraction:
        words = [*words, "point", *(ONES[int(d)] for d in fraction)]
    return words


def plural_words(words: list[str]) -> list[str]:
    """The plural of a number's reading: "ninety" → "nineties", "six" → "sixes"."""
    last = words[-1]
    if last.endswith("y"):
        last = last[:-1] + "ies"
    elif last.endswith("x"):
        last += "es"
    else:
        last += "s"
    return [*words[:-1], last]


def decade_words(digits: str) -> list[str]:
    """ "1990s" → "nineteen nineties", "90s" → "nineties", "1900s" → "nineteen hundreds"."""
    return plural_words(number_words(digits))


def time_words(hour: int, minute: int, *, meridiem: bool = False) -> list[str]:
    """ "10:00" → "ten o'clock", "10:30" → "ten thirty", "10:05" → "ten oh five".

    With a.m./p.m. after it the hour stands alone ("10:00 am" → "ten a.m."); a full hour
    past 12 is read the 24-hour way ("14:00" → "fourteen hundred").
    """
    words = cardinal_words(hour)
    if minute == 0:
        if meridiem:
            return words
        return [*words, "o'clock"] if 1 <= hour <= 12 else [*words, "hundred"]
    if minute < 10:
        return [*words, "oh", ONES[minute]]
    return [*words, *cardinal_words(minute)]


def fraction_words(numerator: int, denominator: int, *, mixed: bool = False) -> list[str]:
    """ "3/4" → "three quarters", "1/3" → "one third"; after a whole number "and a half"."""
    singular, plural = _DENOMINATORS.get(denominator) or _ordinal_pair(denominator)
    name = singular if numerator == 1 else plural
    count = ["a"] if mixed and numerator == 1 else cardinal_words(numerator)
    return [*count, *name.split()]


def vulgar_fraction_words(char: str, *, mixed: bool = False) -> list[str]:
    """ "½" → "one half" (from the character's Unicode name), "2½" → "two and a half"."""
    words = unicodedata.name(char).lower().removeprefix("vulgar fraction ").split()
    if mixed and words[0] == "one":
        words[0] = "a"
    return words


def _ordinal_pair(denominator: int) -> tuple[str, str]:
    ordinal = " ".join(ordinal_words(denominator))
    return ordinal, ordinal + "s"
