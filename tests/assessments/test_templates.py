"""Score bands, word colouring and error markers on the result fragment."""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string

from assessments.templatetags.assessment_tags import (
    band_label,
    chart_rows,
    five_point,
    score,
    score_band,
    word_markers,
)
from tests.factories import AttemptFactory, PhonemeResultFactory, WordResultFactory


@pytest.mark.parametrize(
    ("value", "band"),
    [(100, "good"), (80, "good"), (79.5, "good"), (79.4, "fair"), (60, "fair"),
     (59.5, "fair"), (59.4, "poor"), (0, "poor"),
     (None, "none"), ("", "none"), ("n/a", "none"), ("85", "good")],
)
def test_score_band_boundaries(value, band):
    assert score_band(value) == band


@pytest.mark.parametrize("value", [79.4, 79.5, 79.6, 79.99, 59.49, 59.5, 59.6, 60.4, 80.5])
def test_band_agrees_with_the_number_shown(value):
    """A score printed as "80" is never coloured amber, nor one printed "59" amber."""
    shown = int(score(value))
    expected = "good" if shown >= 80 else "fair" if shown >= 60 else "poor"
    assert score_band(value) == expected
    assert band_label(value) == band_label(shown)


def test_band_labels_and_number_formats():
    assert band_label(90) == "Good"
    assert band_label(65) == "Fair"
    assert band_label(10) == "Needs work"
    assert band_label(None) == "Not scored"
    assert score(79.6) == "80" and score(None) == "–"
    assert five_point(80) == "4.0" and five_point(None) == "–"


def test_word_markers_from_flags_and_error_type(db):
    word = WordResultFactory(unexpected_break=True, monotone=True)
    assert [m["kind"] for m in word_markers(word)] == ["break", "monotone"]
    assert all(m["label"] and m["kind"] for m in word_markers(word))
    missing = WordResultFactory(error_type="MissingBreak")
    assert [m["kind"] for m in word_markers(missing)] == ["nobreak"]
    assert word_markers(WordResultFactory()) == []


def test_chart_rows_transposes_datasets():
    chart = {"labels": ["#1", "#2"],
             "datasets": [{"label": "A", "data": [1, 2]}, {"label": "B", "data": [3]}]}
    assert chart_rows(chart) == [{"label": "#1", "values": [1, 3]},
                                 {"label": "#2", "values": [2, None]}]


def render_result(attempt, is_owner=True):
    return render_to_string(
        "assessments/partials/attempt_panel.html",
        {"attempt": attempt, "lesson": attempt.lesson, "is_owner": is_owner, "oob": False},
    )


def word_button(html: str, text: str) -> str:
    """The <button class="word …"> … </button> that contains ``text``."""
    for match in re.finditer(r"<button type=\"button\" class=\"word [^>]*>.*?</button>", html,
                             re.S):
        if text in match.group(0):
            return match.group(0)
    raise AssertionError(f"No word button for {text!r}")


@pytest.fixture
def attempt(db):
    attempt = AttemptFactory(pronunciation=72.0)
    words = [
        dict(word="good", accuracy=92.0),
        dict(word="morning", accuracy=65.0, unexpected_break=True),
        dict(word="um", accuracy=None, error_type="Insertion"),
        dict(word="how", accuracy=45.0, error_type="Mispronunciation"),
        dict(word="are", accuracy=0.0, error_type="Omission"),
        dict(word="you", accuracy=81.0, missing_break=True),
        dict(word="today", accuracy=70.0, monotone=True, offset_ms=None),
    ]
    for order, fields in enumerate(words):
        WordResultFactory(attempt=attempt, order=order, **fields)
    how = attempt.words.get(word="how")
    PhonemeResultFactory(word=how, order=0, phoneme="hh", accuracy=90.0)
    PhonemeResultFactory(word=how, order=1, phoneme="aw", accuracy=20.0, heard="ow")
    return attempt


def test_words_are_coloured_by_band_with_text(attempt):
    html = render_result(attempt)
    assert "word--good" in word_button(html, ">good<")
    assert "word--fair" in word_button(html, "morning")
    assert "word--poor" in word_button(html, "how")
    assert "word--good" in word_button(html, ">you<")
    # The band and the error type use separate class names, so they never collide.
    assert "word--none" not in word_button(html, ">you<")
    # Colour is never the only cue: the band is also in words for screen readers.
    assert "Needs work" in word_button(html, "how")
    assert "Fair" in word_button(html, "morning")


def test_omitted_word_is_struck_through(attempt):
    button = word_button(render_result(attempt), "are")
    assert "word--error-omission" in button
    assert "<s>are</s>" in button
    assert "missed out" in button


def test_inserted_word_is_shown_between_and_marked(attempt):
    html = render_result(attempt)
    button = word_button(html, "um")
    assert "word--error-insertion" in button
    assert "<ins>um</ins>" in button
    assert 'class="marker marker--insertion"' in button
    assert "extra word, not in the text" in button
    # In reading order, between the words around it.
    assert html.index(">morning<") < html.index("<ins>um</ins>") < html.index(">how<")


def test_break_and_monotone_markers_come_before_the_word(attempt):
    html = render_result(attempt)
    break_marker = html.index("marker marker--break")
    assert break_marker < html.index("morning", break_marker)
    assert html.index("marker--nobreak") < html.index("you", html.index("marker--nobreak"))
    monotone = html.index('class="marker marker--monotone"')
    assert "flat, monotone intonation" in html[monotone:monotone + 400]
    assert html.index(">today<", monotone) > monotone


def test_mispronounced_word_is_marked_and_phonemes_listed(attempt):
    html = render_result(attempt)
    button = word_button(html, "how")
    assert "word--error-mispronunciation" in button
    assert "mispronounced" in button
    detail_id = re.search(r'aria-controls="([^"]+)"', button).group(1)
    detail = html[html.index(f'id="{detail_id}"'):]
    detail = detail[: detail.index("</section>")]
    assert "<th scope=\"row\">hh</th>" in detail
    assert "<th scope=\"row\">aw</th>" in detail and "<td>ow</td>" in detail
    assert "phoneme--poor" in detail and "phoneme--good" in detail


def test_segment_data_only_when_timed(attempt):
    html = render_result(attempt)
    assert 'data-offset-ms="100" data-duration-ms="300"' in word_button(html, "good")
    assert "data-offset-ms" not in word_button(html, "today")


def test_legend_explains_every_mark(attempt):
    html = render_result(attempt)
    legend = html[html.index('class="legend"'):]
    for text in ("80 or more", "60 to 79", "below 60", "mispronounced", "Struck through",
                 "extra word",
                 "unexpected pause", "missing pause", "monotone"):
        assert text in legend


def test_scores_show_grading_and_five_point_lessons(attempt):
    html = render_result(attempt)
    assert html.count('class="score__meter"') == 5
    assert 'low="60" high="80"' in html
    assert "graded on a 100-point scale" in html
    attempt.grading_system = "FivePoint"
    html = render_result(attempt)
    assert "five-point scale" in html and "(3.6/5)" in html


def test_missing_score_says_not_assessed(attempt):
    attempt.prosody = None
    html = render_result(attempt)
    assert html.count('class="score__meter"') == 4
    assert "Not assessed" in html


def test_result_without_words_shows_plain_text(db):
    attempt = AttemptFactory()
    html = render_result(attempt)
    assert "without word-by-word detail" in html
    assert attempt.reference_text in html
