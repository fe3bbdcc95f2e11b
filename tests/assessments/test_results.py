"""The shared result classes: JSON round trips, defaults, PronScore, and the documented shape."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from assessments.results import (
    AssessmentResult,
    ErrorType,
    Notice,
    NoticeCode,
    PhonemeAssessment,
    PhonemeCandidate,
    ProsodyFeedback,
    RecognitionStatus,
    SyllableAssessment,
    WordAssessment,
    pronunciation_score,
    to_hundred,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "results.md"


def full_result() -> AssessmentResult:
    """A result with every field set to a non-default value, nested all the way down."""
    return AssessmentResult(
        engine="azure",
        recognition_status=RecognitionStatus.SUCCESS,
        recognized_text="hello wurld",
        accuracy=82.5,
        fluency=90.0,
        completeness=100.0,
        prosody=71.2,
        pronunciation=80.4,
        grading_system="FivePoint",
        raw_scores={"accuracy": 4.1, "fluency": 4.5, "completeness": 5.0, "prosody": 3.6},
        audio_duration_ms=1830,
        trimmed=True,
        connection_id="0123456789abcdef0123456789abcdef",
        notices=[Notice(code=NoticeCode.MISCUE_UNCHECKED_NOISY, message="Too noisy to check.")],
        words=[
            WordAssessment(
                word="hello",
                accuracy=97.0,
                offset_ms=100,
                duration_ms=420,
                prosody=ProsodyFeedback(
                    break_error_types=[ErrorType.UNEXPECTED_BREAK],
                    unexpected_break_confidence=0.81,
                    missing_break_confidence=0.02,
                    break_length_ms=250,
                    intonation_error_types=[ErrorType.MONOTONE],
                    monotone_confidence=0.9,
                ),
                syllables=[
                    SyllableAssessment("hh ax", 96.0, 100, 180, grapheme="hel"),
                    SyllableAssessment("l ow", 98.0, 280, 240, grapheme="lo"),
                ],
                phonemes=[
                    PhonemeAssessment("hh", 95.0, 100, 60, [PhonemeCandidate("hh", 0.9)]),
                    PhonemeAssessment("ax", 96.0, 160, 120),
                ],
            ),
            WordAssessment(
                word="world",
                accuracy=41.0,
                error_type=ErrorType.MISPRONUNCIATION,
                offset_ms=560,
                duration_ms=500,
                phonemes=[
                    PhonemeAssessment(
                        "er",
                        30.0,
                        700,
                        150,
                        [PhonemeCandidate("uh", 0.7), PhonemeCandidate("er", 0.2)],
                    )
                ],
            ),
            WordAssessment(word="again", error_type=ErrorType.OMISSION),
        ],
    )


def test_round_trip_through_json_is_lossless():
    result = full_result()

    text = json.dumps(result.to_dict())
    back = AssessmentResult.from_dict(json.loads(text))

    assert back == result
    assert back.to_dict() == result.to_dict()


def test_to_dict_uses_the_documented_snake_case_keys():
    data = full_result().to_dict()

    assert list(data) == [f.name for f in fields(AssessmentResult)]
    word = data["words"][0]
    assert list(word) == [f.name for f in fields(WordAssessment)]
    assert list(word["phonemes"][0]) == [f.name for f in fields(PhonemeAssessment)]
    assert list(word["phonemes"][0]["candidates"][0]) == ["phoneme", "score"]
    assert list(word["syllables"][0]) == [f.name for f in fields(SyllableAssessment)]
    assert list(word["prosody"]) == [f.name for f in fields(ProsodyFeedback)]
    assert data["words"][2]["prosody"] is None
    assert data["notices"] == [{"code": "miscue_unchecked_noisy", "message": "Too noisy to check."}]
    every_key = re.findall(r'"(\w+)":', json.dumps(data))
    assert all(key == key.lower() for key in every_key)


def test_minimal_dict_gets_the_defaults_and_unknown_keys_are_ignored():
    result = AssessmentResult.from_dict(
        {"engine": "local", "words": [{"word": "hi"}], "file": "a.wav", "future_field": 1}
    )

    assert result == AssessmentResult(engine="local", words=[WordAssessment(word="hi")])
    assert result.recognition_status == RecognitionStatus.SUCCESS
    assert result.scores() == dict.fromkeys(
        ("accuracy", "fluency", "completeness", "prosody", "pronunciation")
    )
    assert result.words[0].error_type == ErrorType.NONE
    assert result.raw_scores == {} and result.trimmed is False and result.connection_id == ""


def test_unknown_keys_are_ignored_at_every_level():
    data = full_result().to_dict()
    data["words"][0]["future_word_key"] = 1
    data["words"][0]["prosody"]["future_prosody_key"] = {"Pitch": 0.3}
    data["words"][0]["syllables"][0]["stress"] = "primary"
    data["words"][0]["phonemes"][0]["future_phoneme_key"] = True
    data["words"][0]["phonemes"][0]["candidates"][0]["rank"] = 1
    data["notices"][0]["severity"] = "info"

    assert AssessmentResult.from_dict(data) == full_result()


def test_notices_round_trip_and_default_to_none_for_results_stored_before_them():
    notices = [
        Notice(code=NoticeCode.MISCUE_UNCHECKED_NOISY, message="Missing words were not checked."),
        Notice(code="future_code", message="Something else could not be checked."),
    ]
    result = AssessmentResult(engine="local", notices=notices)

    data = json.loads(json.dumps(result.to_dict()))
    back = AssessmentResult.from_dict(data)

    assert back == result and back.notices == notices
    assert all(isinstance(notice, Notice) for notice in back.notices)
    assert data["notices"][1] == {
        "code": "future_code",
        "message": "Something else could not be checked.",
    }
    # Stored before the field existed (or stored as null): no notices, not a failure.
    del data["notices"]
    assert AssessmentResult.from_dict(data).notices == []
    assert AssessmentResult.from_dict({"engine": "azure", "notices": None}).notices == []
    assert AssessmentResult(engine="azure").to_dict()["notices"] == []


def test_round_trip_of_a_refusal_by_the_recogniser():
    result = AssessmentResult(engine="azure", recognition_status=RecognitionStatus.NO_MATCH)

    back = AssessmentResult.from_dict(json.loads(json.dumps(result.to_dict())))

    assert back == result
    assert back.succeeded is False and back.words == []


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        # The two examples Azure documents.
        ({"accuracy": 100, "fluency": 100, "completeness": 87.8, "prosody": 100}, 95.1),
        ({"accuracy": 100, "fluency": 74, "completeness": 100}, 84.4),
        # Sorted ascending before weighting, whichever component is lowest.
        ({"accuracy": 50, "fluency": 100, "completeness": 100, "prosody": 100}, 80.0),
        ({"accuracy": 100, "fluency": 100, "completeness": 100, "prosody": 50}, 80.0),
        ({"accuracy": 73.4, "fluency": None, "completeness": None}, 73.4),  # Basic dimension
        ({"accuracy": None, "fluency": 90, "completeness": 90}, None),
    ],
)
def test_pronunciation_score_weighting(scores, expected):
    assert pronunciation_score(**scores) == expected


def test_fill_pronunciation_keeps_an_engine_score():
    computed = AssessmentResult(engine="local", accuracy=100, fluency=74, completeness=100)
    given = AssessmentResult(engine="azure", accuracy=100, fluency=74, pronunciation=90.0)

    computed.fill_pronunciation()
    given.fill_pronunciation()

    assert (computed.pronunciation, given.pronunciation) == (84.4, 90.0)


def test_five_point_scores_are_brought_to_the_hundred_scale():
    assert to_hundred(4.2, "FivePoint") == 84.0
    assert to_hundred(84.04, "HundredMark") == 84.0
    assert to_hundred(None, "FivePoint") is None


def test_derived_flags():
    result = full_result()
    hello, world, _ = result.words

    assert result.succeeded
    assert hello.prosody.unexpected_break and hello.prosody.monotone
    assert not hello.prosody.missing_break
    assert hello.phonemes[0].heard is None  # best candidate is the expected phoneme
    assert world.phonemes[0].heard == "uh"


def _doc_json_example() -> dict:
    blocks = re.findall(r"```json\n(.*?)\n```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks, "docs/results.md has no ```json example"
    return json.loads(blocks[0])


def test_documented_json_example_is_the_real_shape():
    example = _doc_json_example()

    result = AssessmentResult.from_dict(example)

    assert result.to_dict() == example  # every documented key exists, none is missing
    assert result.words[0].phonemes, "the example shows words[].phonemes[]"
    assert result.pronunciation == pronunciation_score(
        accuracy=result.accuracy,
        fluency=result.fluency,
        completeness=result.completeness,
        prosody=result.prosody,
    )


def test_documentation_lists_every_field_status_and_error_type():
    doc = DOC.read_text(encoding="utf-8")
    names = {
        f.name
        for cls in (
            AssessmentResult,
            WordAssessment,
            PhonemeAssessment,
            PhonemeCandidate,
            SyllableAssessment,
            ProsodyFeedback,
            Notice,
        )
        for f in fields(cls)
    }

    assert [name for name in sorted(names) if f"`{name}`" not in doc] == []
    assert [s for s in RecognitionStatus.ALL if f"`{s}`" not in doc] == []
    assert [e for e in ErrorType.ALL if f"`{e}`" not in doc] == []
    assert [c for c in NoticeCode.ALL if f"`{c}`" not in doc] == []
