"""``format=detailed`` responses → the shared result dataclasses.

Accepts the REST form (scores flat on each NBest item and word) and the SDK's form (scores
nested under ``PronunciationAssessment``), numbers as JSON numbers or strings, and any
score missing. Anything that is not the expected shape raises :class:`AzureBadResponse`.
"""

from __future__ import annotations

import math
from typing import Any

from assessments.engines.azure.errors import LEARNER_SETUP, AzureBadResponse
from assessments.results import (
    AssessmentResult,
    ErrorType,
    PhonemeAssessment,
    PhonemeCandidate,
    ProsodyFeedback,
    RecognitionStatus,
    SyllableAssessment,
    WordAssessment,
    to_hundred,
)

TICKS_PER_MS = 10_000
NESTED = "PronunciationAssessment"
_SCORE_KEYS = {
    "accuracy": "AccuracyScore",
    "fluency": "FluencyScore",
    "completeness": "CompletenessScore",
    "prosody": "ProsodyScore",
    "pronunciation": "PronScore",
}
# The SDK's JSON reports the status as an enum number; only 0 (Success) is documented.
_NUMERIC_STATUS = {0: RecognitionStatus.SUCCESS}
_BREAK_ERRORS = (ErrorType.UNEXPECTED_BREAK, ErrorType.MISSING_BREAK)


class _Shape(Exception):
    """The payload is not shaped like a detailed recognition result."""


def bad_response(reason: str) -> AzureBadResponse:
    return AzureBadResponse(
        "azure_bad_response",
        LEARNER_SETUP,
        operator_message=f"Azure returned a response we cannot read: {reason}.",
    )


def number(value: Any) -> float | None:
    """A float from a number or a numeric string; ``None`` for absent/empty/non-finite."""
    kind = type(value)  # exact type checks: this runs for every score and tick (hot path)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        return float(value)
    if value is None:
        return None
    if kind is str:
        if not value.strip():
            return None
        try:
            result = float(value)
        except ValueError as exc:
            raise _Shape(f"{value!r} is not a number") from exc
        return result if math.isfinite(result) else None
    raise _Shape(f"{kind.__name__} where a number was expected")


def ticks_to_ms(value: Any) -> int | None:
    ticks = number(value)
    return None if ticks is None else round(ticks / TICKS_PER_MS)


def _obj(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Shape(f"{what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Shape(f"{what} is not a list")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _get(item: dict[str, Any], key: str) -> Any:
    """A field flat on the item (REST) or under ``PronunciationAssessment`` (SDK)."""
    if key in item:
        return item[key]
    return _obj(item.get(NESTED), NESTED).get(key)


def recognition_status(payload: Any) -> str:
    """The status string; raises :class:`AzureBadResponse` when there is none."""
    if not isinstance(payload, dict):
        raise bad_response("the JSON is not an object")
    status = payload.get("RecognitionStatus")
    if isinstance(status, int) and not isinstance(status, bool):
        status = _NUMERIC_STATUS.get(status, f"Unknown({status})")
    if not isinstance(status, str) or not status:
        raise bad_response("RecognitionStatus is missing")
    return status


def parse_result(
    payload: dict[str, Any], *, grading_system: str, break_threshold: float = 0.75
) -> AssessmentResult:
    """Build the result of a ``Success`` response."""
    try:
        return _parse(payload, grading_system=grading_system, break_threshold=break_threshold)
    except _Shape as exc:
        raise bad_response(str(exc)) from None


def _parse(
    payload: dict[str, Any], *, grading_system: str, break_threshold: float
) -> AssessmentResult:
    nbest = _list(payload.get("NBest"), "NBest")
    if not nbest:
        raise _Shape("no NBest alternatives")
    candidates = [_obj(item, "an NBest item") for item in nbest]
    # The first alternative is the one scored; fall back to any carrying scores.
    best = next(
        (c for c in candidates if _get(c, "AccuracyScore") is not None or c.get("Words")),
        candidates[0],
    )
    raw = {name: number(_get(best, key)) for name, key in _SCORE_KEYS.items()}
    result = AssessmentResult(
        engine="azure",
        recognition_status=RecognitionStatus.SUCCESS,
        recognized_text=_text(best.get("Display") or payload.get("DisplayText") or ""),
        grading_system=grading_system,
        raw_scores={name: value for name, value in raw.items() if value is not None},
        audio_duration_ms=_duration(payload),
        **{name: to_hundred(value, grading_system) for name, value in raw.items()},
    )
    result.words = [
        _word(_obj(w, "a word"), grading_system=grading_system, threshold=break_threshold)
        for w in _list(best.get("Words"), "Words")
    ]
    result.fill_pronunciation()
    return result


def _duration(payload: dict[str, Any]) -> int | None:
    offset, duration = ticks_to_ms(payload.get("Offset")), ticks_to_ms(payload.get("Duration"))
    if duration is None:
        return None
    return duration + (offset or 0)


def _word(item: dict[str, Any], *, grading_system: str, threshold: float) -> WordAssessment:
    error_type = _text(_get(item, "ErrorType")) or ErrorType.NONE
    accuracy = to_hundred(number(_get(item, "AccuracyScore")), grading_system)
    if error_type == ErrorType.OMISSION:
        # Azure reports 0 for a word that was never said; it is not a pronunciation score.
        accuracy = None
    feedback = _obj(_get(item, "Feedback"), "Feedback")
    prosody = _prosody(_obj(feedback.get("Prosody"), "Feedback.Prosody"), threshold=threshold)
    if prosody is not None and error_type in _BREAK_ERRORS:
        # A break error the service put on the word is decided by our threshold too, or the
        # word and its prosody feedback would disagree.
        error_type = ErrorType.NONE
    if prosody is not None and error_type == ErrorType.NONE:
        # A word said correctly can still carry a prosody error; surface the first one.
        flagged = prosody.break_error_types + prosody.intonation_error_types
        if flagged:
            error_type = flagged[0]
    return WordAssessment(
        word=_text(item.get("Word")),
        accuracy=accuracy,
        error_type=error_type,
        offset_ms=ticks_to_ms(item.get("Offset")),
        duration_ms=ticks_to_ms(item.get("Duration")),
        prosody=prosody,
        syllables=[
            _syllable(_obj(s, "a syllable"), grading_system)
            for s in _list(item.get("Syllables"), "Syllables")
        ],
        phonemes=[
            _phoneme(_obj(p, "a phoneme"), grading_system)
            for p in _list(item.get("Phonemes"), "Phonemes")
        ],
    )


def _syllable(item: dict[str, Any], grading_system: str) -> SyllableAssessment:
    grapheme = item.get("Grapheme")
    return SyllableAssessment(
        syllable=_text(item.get("Syllable")),
        accuracy=to_hundred(number(_get(item, "AccuracyScore")), grading_system),
        offset_ms=ticks_to_ms(item.get("Offset")),
        duration_ms=ticks_to_ms(item.get("Duration")),
        grapheme=_text(grapheme) if grapheme is not None else None,
    )


def _phoneme(item: dict[str, Any], grading_system: str) -> PhonemeAssessment:
    candidates = [
        _obj(c, "an NBestPhonemes item") for c in _list(_get(item, "NBestPhonemes"), "NBest")
    ]
    return PhonemeAssessment(
        phoneme=_text(item.get("Phoneme")),
        accuracy=to_hundred(number(_get(item, "AccuracyScore")), grading_system),
        offset_ms=ticks_to_ms(item.get("Offset")),
        duration_ms=ticks_to_ms(item.get("Duration")),
        candidates=[
            PhonemeCandidate(phoneme=_text(c.get("Phoneme")), score=number(c.get("Score")))
            for c in candidates
        ],
    )


def _prosody(item: dict[str, Any], *, threshold: float) -> ProsodyFeedback | None:
    if not item:
        return None
    brk = _obj(item.get("Break"), "Prosody.Break")
    intonation = _obj(item.get("Intonation"), "Prosody.Intonation")
    unexpected = number(_obj(brk.get("UnexpectedBreak"), "UnexpectedBreak").get("Confidence"))
    missing = number(_obj(brk.get("MissingBreak"), "MissingBreak").get("Confidence"))
    listed = _error_types(brk.get("ErrorTypes"))
    # The service leaves the decision to the client: threshold each confidence when given,
    # keep the service's own listing only for a kind that carries no confidence.
    breaks = []
    for kind, confidence in (
        (ErrorType.UNEXPECTED_BREAK, unexpected),
        (ErrorType.MISSING_BREAK, missing),
    ):
        if (confidence is not None and confidence >= threshold) or (
            confidence is None and kind in listed
        ):
            breaks.append(kind)
    monotone = _obj(intonation.get("Monotone"), "Intonation.Monotone")
    return ProsodyFeedback(
        break_error_types=breaks,
        unexpected_break_confidence=unexpected,
        missing_break_confidence=missing,
        break_length_ms=ticks_to_ms(brk.get("BreakLength")),
        intonation_error_types=_error_types(intonation.get("ErrorTypes")),
        monotone_confidence=number(monotone.get("Confidence")),
    )


def _error_types(value: Any) -> list[str]:
    return [_text(v) for v in _list(value, "ErrorTypes") if v and v != ErrorType.NONE]
