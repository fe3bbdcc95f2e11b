"""Recorded-style payloads (tests/data/azure) → the shared result dataclasses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assessments.engines.azure import AzureBadResponse
from assessments.engines.azure.parse import parse_result, recognition_status, ticks_to_ms
from assessments.results import ErrorType, pronunciation_score, to_hundred

DATA = Path(__file__).resolve().parents[3] / "data" / "azure"


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_flat_rest_form_matches_microsofts_documented_example():
    payload = load("flat_rest_prosody.json")
    best = payload["NBest"][0]

    result = parse_result(payload, grading_system="HundredMark")

    assert result.recognized_text == best["Display"]
    assert result.scores() == {
        "accuracy": best["AccuracyScore"],
        "fluency": best["FluencyScore"],
        "completeness": best["CompletenessScore"],
        "prosody": best["ProsodyScore"],
        "pronunciation": best["PronScore"],
    }
    # Azure's own PronScore agrees with the documented weighting.
    assert result.pronunciation == pronunciation_score(
        accuracy=result.accuracy,
        fluency=result.fluency,
        completeness=result.completeness,
        prosody=result.prosody,
    )
    assert [w.word for w in result.words] == [w["Word"] for w in best["Words"]]
    morning = result.words[1]
    assert morning.offset_ms == best["Words"][1]["Offset"] // 10_000
    assert morning.duration_ms == best["Words"][1]["Duration"] // 10_000
    # MissingBreak confidence 1.0 ≥ 0.75 is a break error even though ErrorTypes says None.
    assert morning.prosody.missing_break
    assert not morning.prosody.unexpected_break
    assert morning.error_type == ErrorType.MISSING_BREAK
    assert result.words[0].prosody.break_error_types == []
    assert result.audio_duration_ms == (payload["Offset"] + payload["Duration"]) // 10_000


def test_nested_sdk_form_with_phonemes_syllables_and_nbest_phonemes():
    payload = load("nested_sdk_phonemes.json")
    best = payload["NBest"][0]

    result = parse_result(payload, grading_system="HundredMark")

    assert result.succeeded  # numeric RecognitionStatus 0
    assessed = best["PronunciationAssessment"]
    assert result.accuracy == assessed["AccuracyScore"]
    assert result.fluency == assessed["FluencyScore"]
    assert result.prosody is None
    # No PronScore in the payload: filled with Azure's documented weighting.
    assert result.pronunciation == pronunciation_score(
        accuracy=assessed["AccuracyScore"],
        fluency=assessed["FluencyScore"],
        completeness=assessed["CompletenessScore"],
    )
    assert "pronunciation" not in result.raw_scores
    three = result.words[0]
    assert three.error_type == ErrorType.MISPRONUNCIATION
    assert three.accuracy == best["Words"][0]["PronunciationAssessment"]["AccuracyScore"]
    assert [s.syllable for s in three.syllables] == ["θri"]
    assert three.syllables[0].grapheme == "three"
    theta = three.phonemes[0]
    assert theta.phoneme == "θ"
    assert [c.phoneme for c in theta.candidates] == ["s", "θ", "f"]
    assert theta.heard == "s"
    assert three.phonemes[1].heard is None  # best candidate is the expected phoneme
    assert sum(len(w.phonemes) for w in result.words) == sum(
        len(w["Phonemes"]) for w in best["Words"]
    )


def test_strings_for_numbers_and_five_point_scale():
    payload = load("strings_old_fivepoint.json")
    best = payload["NBest"][0]

    result = parse_result(payload, grading_system="FivePoint")

    assert result.grading_system == "FivePoint"
    assert result.raw_scores["accuracy"] == float(best["AccuracyScore"])
    assert result.accuracy == to_hundred(float(best["AccuracyScore"]), "FivePoint")
    assert result.pronunciation == to_hundred(float(best["PronScore"]), "FivePoint")
    assert 0 <= result.accuracy <= 100
    five = next(w for w in result.words if w.word == "five")
    assert five.accuracy == to_hundred(2.7, "FivePoint")
    assert five.error_type == ErrorType.MISPRONUNCIATION
    assert result.words[0].offset_ms == ticks_to_ms(best["Words"][0]["Offset"])
    assert isinstance(result.words[0].offset_ms, int)


UB, MB = ErrorType.UNEXPECTED_BREAK, ErrorType.MISSING_BREAK


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        # Confidences in the file (unexpected / missing): would .02/.11, like .96/.01,
        # a .70/.05, cup .01/.81, tea .03/.79, please .04/.20; "i" has none, "of" is omitted.
        (
            0.75,
            {"i": [], "would": [], "like": [UB], "a": [], "cup": [MB], "of": None,
             "tea": [MB], "please": []},
        ),
        (
            0.5,
            {"i": [], "would": [], "like": [UB], "a": [UB], "cup": [MB], "of": None,
             "tea": [MB], "please": []},
        ),
        (
            0.99,
            {"i": [], "would": [], "like": [], "a": [], "cup": [], "of": None,
             "tea": [], "please": []},
        ),
    ],
)
def test_break_errors_follow_the_confidence_threshold(threshold, expected):
    payload = load("prosody_breaks_miscue.json")

    result = parse_result(payload, grading_system="HundredMark", break_threshold=threshold)

    assert {
        w.word: (w.prosody.break_error_types if w.prosody else None) for w in result.words
    } == expected


def test_omission_monotone_and_error_type_precedence():
    result = parse_result(load("prosody_breaks_miscue.json"), grading_system="HundredMark")
    by_word = {w.word: w for w in result.words}

    assert by_word["of"].error_type == ErrorType.OMISSION
    assert by_word["of"].accuracy is None  # an omitted word has no pronunciation score
    assert by_word["of"].prosody is None
    # Mispronunciation wins over a prosody flag on the same word.
    assert by_word["cup"].error_type == ErrorType.MISPRONUNCIATION
    assert by_word["cup"].prosody.missing_break
    assert by_word["like"].error_type == ErrorType.UNEXPECTED_BREAK
    assert by_word["like"].prosody.break_length_ms == 850
    # "a" has UnexpectedBreak listed by the service but confidence 0.7 < 0.75.
    assert not by_word["a"].prosody.unexpected_break
    assert by_word["i"].prosody.monotone
    assert by_word["i"].error_type == ErrorType.MONOTONE
    assert result.prosody == 64.5


def test_every_score_is_optional():
    payload = {
        "RecognitionStatus": "Success",
        "NBest": [{"Display": "Hi.", "Words": [{"Word": "hi"}]}],
    }

    result = parse_result(payload, grading_system="HundredMark")

    assert result.scores() == dict.fromkeys(result.scores())
    assert result.raw_scores == {}
    assert result.words[0].accuracy is None
    assert result.words[0].error_type == ErrorType.NONE


@pytest.mark.parametrize(
    "payload",
    [
        {"RecognitionStatus": "Success", "NBest": "nope"},
        {"RecognitionStatus": "Success", "NBest": [{"AccuracyScore": "high"}]},
        {"RecognitionStatus": "Success", "NBest": [{"Words": [{"Word": "a", "Offset": []}]}]},
        {"RecognitionStatus": "Success", "NBest": [{"Words": {"Word": "a"}}]},
        {"RecognitionStatus": "Success", "NBest": [{"Words": [{"Word": "a", "Feedback": 3}]}]},
        {"RecognitionStatus": "Success", "NBest": []},
    ],
)
def test_malformed_shapes_raise_bad_response(payload):
    with pytest.raises(AzureBadResponse) as caught:
        parse_result(payload, grading_system="HundredMark")
    assert caught.value.retryable is False
    assert caught.value.code == "azure_bad_response"


@pytest.mark.parametrize(
    "payload", [[], "Success", {"DisplayText": "x"}, {"RecognitionStatus": ""}]
)
def test_missing_recognition_status_is_a_bad_response(payload):
    with pytest.raises(AzureBadResponse):
        recognition_status(payload)


def test_the_first_nbest_alternative_is_the_assessed_one():
    # As in Microsoft's detailed example, a later alternative may carry a higher confidence;
    # the scores belong to the first.
    payload = {
        "RecognitionStatus": "Success",
        "NBest": [
            {"Confidence": 0.90, "Display": "Good morning.", "AccuracyScore": 80.0, "Words": []},
            {"Confidence": 0.95, "Display": "Good mourning.", "AccuracyScore": 40.0, "Words": []},
        ],
    }

    result = parse_result(payload, grading_system="HundredMark")

    assert result.recognized_text == "Good morning." and result.accuracy == 80.0


@pytest.mark.parametrize(
    ("confidence", "expected"), [(0.5, ErrorType.NONE), (0.9, ErrorType.UNEXPECTED_BREAK)]
)
def test_a_break_error_type_from_the_service_is_thresholded_too(confidence, expected):
    word = {
        "Word": "tea",
        "AccuracyScore": 90.0,
        "ErrorType": "UnexpectedBreak",
        "Feedback": {
            "Prosody": {
                "Break": {
                    "ErrorTypes": ["UnexpectedBreak"],
                    "UnexpectedBreak": {"Confidence": confidence},
                    "MissingBreak": {"Confidence": 0.0},
                }
            }
        },
    }
    payload = {"RecognitionStatus": "Success", "NBest": [{"Words": [word]}]}

    parsed = parse_result(payload, grading_system="HundredMark").words[0]

    assert parsed.error_type == expected
    assert parsed.prosody.unexpected_break == (expected == ErrorType.UNEXPECTED_BREAK)
