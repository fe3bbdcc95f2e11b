"""Score bands, word markers and chart tables for the result and progress pages.

The colour bands live here and only here: ≥ 80 good (green), 60–79 fair (amber),
< 60 poor (red), judged on the whole number the page prints (79.6 shows as 80, so it is
good). Every band is shown with text as well as colour.
"""

from __future__ import annotations

from typing import Any

from django import template

from assessments.results import ErrorType

register = template.Library()

GOOD_FROM = 80.0
FAIR_FROM = 60.0

BAND_LABELS = {"good": "Good", "fair": "Fair", "poor": "Needs work", "none": "Not scored"}

# The words a screen reader hears for each error type (colour and shape show the rest).
ERROR_LABELS = {
    ErrorType.OMISSION: "missed out",
    ErrorType.INSERTION: "extra word, not in the text",
    ErrorType.MISPRONUNCIATION: "mispronounced",
    ErrorType.UNEXPECTED_BREAK: "unexpected pause before this word",
    ErrorType.MISSING_BREAK: "missing pause before this word",
    ErrorType.MONOTONE: "flat, monotone intonation",
}


def _whole_score(value: Any) -> int | None:
    """A score rounded to the whole number the pages print, or None when there is none.

    The band is taken from this same number, so a 79.6 printed as "80" is also green.
    """
    if value is None or value == "":
        return None
    try:
        return round(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


@register.filter
def score_band(value: Any) -> str:
    """``good`` / ``fair`` / ``poor`` for a 0–100 score, ``none`` when there is no score."""
    whole = _whole_score(value)
    if whole is None:
        return "none"
    if whole >= GOOD_FROM:
        return "good"
    if whole >= FAIR_FROM:
        return "fair"
    return "poor"


@register.filter
def band_label(value: Any) -> str:
    return BAND_LABELS[score_band(value)]


@register.filter
def error_label(error_type: str) -> str:
    return ERROR_LABELS.get(error_type, "")


@register.filter
def score(value: Any) -> str:
    """A score as the pages print it: a whole number, or an en dash when missing."""
    whole = _whole_score(value)
    return "–" if whole is None else str(whole)


@register.filter
def five_point(value: Any) -> str:
    """A 0–100 score back on the five-point scale some lessons are graded on."""
    if value is None or value == "":
        return "–"
    return f"{float(value) / 20:.1f}"


@register.simple_tag
def word_markers(word: Any) -> list[dict[str, str]]:
    """The markers to draw before a word: breaks and monotone, each with its kind and text.

    The kind picks the icon (``partials/marker_icon.html``); the label is the screen-reader
    text and tooltip.
    """
    markers = []
    if getattr(word, "unexpected_break", False) or word.error_type == ErrorType.UNEXPECTED_BREAK:
        markers.append({"kind": "break", "label": ERROR_LABELS[ErrorType.UNEXPECTED_BREAK]})
    if getattr(word, "missing_break", False) or word.error_type == ErrorType.MISSING_BREAK:
        markers.append({"kind": "nobreak", "label": ERROR_LABELS[ErrorType.MISSING_BREAK]})
    if getattr(word, "monotone", False) or word.error_type == ErrorType.MONOTONE:
        markers.append({"kind": "monotone", "label": ERROR_LABELS[ErrorType.MONOTONE]})
    return markers


@register.simple_tag
def chart_rows(chart: dict[str, Any]) -> list[dict[str, Any]]:
    """A chart's data turned into table rows (one per label), for the accessible fallback."""
    datasets = chart.get("datasets", [])
    return [
        {"label": label, "values": [d["data"][i] if i < len(d["data"]) else None
                                    for d in datasets]}
        for i, label in enumerate(chart.get("labels", []))
    ]


# Result page order: the headline score first.
SCORE_LABELS = (
    ("pronunciation", "Pronunciation"),
    ("accuracy", "Accuracy"),
    ("fluency", "Fluency"),
    ("prosody", "Prosody"),
    ("completeness", "Completeness"),
)


@register.simple_tag
def attempt_scores(attempt: Any) -> list[dict[str, Any]]:
    """The five overall scores of an attempt, labelled and banded, in display order."""
    return [
        {"name": name, "label": label, "value": getattr(attempt, name),
         "band": score_band(getattr(attempt, name))}
        for name, label in SCORE_LABELS
    ]
