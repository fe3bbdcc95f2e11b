"""Raw measures + settings → the shared :class:`AssessmentResult` shape."""

from __future__ import annotations

from assessments.engines.base import AssessmentSettings
from assessments.engines.local.analysis import Analysis
from assessments.engines.local.decoder import Segment
from assessments.engines.local.features import (
    PhoneMeasures,
    UtteranceMeasures,
    WordMeasures,
    phone_rows,
    word_rows,
)
from assessments.engines.local.normalize import ReferenceWord
from assessments.engines.local.phonemes import phoneme_name, syllabify
from assessments.engines.local.prosody import monotone_confidence, word_feedback
from assessments.engines.local.scoring import Calibration
from assessments.results import (
    MISPRONUNCIATION_THRESHOLD,
    AssessmentResult,
    ErrorType,
    PhonemeAssessment,
    PhonemeCandidate,
    SyllableAssessment,
    WordAssessment,
    pronunciation_score,
    to_hundred,
)

ENGINE_NAME = "local"
FRAME_MS = 10
# A word aligned where less than this share of frames are speech-level was not said.
OMISSION_SPEECH_SHARE = 0.3


def build_result(
    analysis: Analysis,
    references: list[ReferenceWord],
    settings: AssessmentSettings,
    calibration: Calibration,
) -> AssessmentResult:
    measures = analysis.measures
    comprehensive = settings.dimension == "Comprehensive"
    miscue = settings.enable_miscue and comprehensive
    not_said = unspoken(measures)
    # Completeness always counts unsaid words; only miscue mode names them as omissions.
    omitted = not_said if miscue else set()
    word_scores = {i: calibration.score("word", row) for i, row in word_rows(measures)}
    phone_scores = {(i, j): calibration.score("phone", row) for i, j, row in phone_rows(measures)}
    spoken = [w for w in measures.words if w.index not in not_said]
    scores = _overall(measures, calibration, settings, spoken_share=len(spoken) / len(references))
    result = AssessmentResult(
        engine=ENGINE_NAME,
        recognized_text=" ".join(w.text for w in spoken),
        grading_system=settings.grading_system,
        audio_duration_ms=analysis.duration_ms,
    )
    _set_scores(result, scores, settings.grading_system)
    if settings.granularity == "FullText":
        return result
    prosody = comprehensive and settings.enable_prosody
    for word in measures.words:
        result.words.append(
            _word(
                word,
                references[word.index],
                omitted=word.index in omitted,
                accuracy=word_scores.get(word.index),
                phone_scores=phone_scores,
                settings=settings,
                previous=references[word.index - 1] if word.index else None,
                monotone=monotone_confidence(measures) if prosody else None,
            )
        )
    if miscue:
        _add_insertions(result, measures, analysis)
    return result


def unspoken(measures: UtteranceMeasures) -> set[int]:
    """Reference words aligned to (mostly) silence or noise: they were not said."""
    return {
        w.index
        for w in measures.words
        if w.omitted or w.features.get("speech_share", 1.0) < OMISSION_SPEECH_SHARE
    }


def _overall(
    measures: UtteranceMeasures,
    calibration: Calibration,
    settings: AssessmentSettings,
    *,
    spoken_share: float,
) -> dict[str, float]:
    features = measures.features
    scores = {"accuracy": calibration.score("accuracy", features)}
    if settings.dimension == "Comprehensive":
        scores["fluency"] = calibration.score("fluency", features)
        scores["completeness"] = round(100.0 * spoken_share, 1)
        if settings.enable_prosody:
            scores["prosody"] = calibration.score("prosody", features)
    total = pronunciation_score(
        accuracy=scores["accuracy"],
        fluency=scores.get("fluency"),
        completeness=scores.get("completeness"),
        prosody=scores.get("prosody"),
    )
    if total is not None:
        scores["pronunciation"] = total
    return scores


def _set_scores(result: AssessmentResult, scores: dict[str, float], grading: str) -> None:
    """Store the engine's numbers in grading units and the 0–100 fields from them."""
    for name, value in scores.items():
        raw = round(value / 20.0, 2) if grading == "FivePoint" else value
        result.raw_scores[name] = raw
        setattr(result, name, to_hundred(raw, grading))


def _word(
    word: WordMeasures,
    reference: ReferenceWord,
    *,
    omitted: bool,
    accuracy: float | None,
    phone_scores: dict[tuple[int, int], float],
    settings: AssessmentSettings,
    previous: ReferenceWord | None,
    monotone: float | None,
) -> WordAssessment:
    comprehensive = settings.dimension == "Comprehensive"
    error = ErrorType.NONE
    if omitted:
        error, accuracy = ErrorType.OMISSION, None
    elif comprehensive and accuracy is not None and accuracy < MISPRONUNCIATION_THRESHOLD:
        error = ErrorType.MISPRONUNCIATION
    assessed = WordAssessment(word=reference.text, accuracy=accuracy, error_type=error)
    if omitted or word.start is None or word.end is None:
        return assessed
    assessed.offset_ms, assessed.duration_ms = _ms(word.start, word.end)
    if settings.granularity == "Phoneme":
        assessed.phonemes = [
            _phoneme(p, phone_scores.get((word.index, j)), settings)
            for j, p in enumerate(word.phones)
        ]
        assessed.syllables = _syllables(assessed.phonemes, [p.phone for p in word.phones])
    if monotone is not None:
        assessed.prosody = word_feedback(word, previous, monotone)
        if assessed.error_type == ErrorType.NONE and assessed.prosody.break_error_types:
            assessed.error_type = assessed.prosody.break_error_types[0]
    return assessed


def _phoneme(
    phone: PhoneMeasures, accuracy: float | None, settings: AssessmentSettings
) -> PhonemeAssessment:
    offset, duration = _ms(phone.start, phone.end)
    candidates = []
    if settings.nbest_phoneme_count > 0:
        for name, share in phone.heard_shares[: settings.nbest_phoneme_count]:
            candidates.append(
                PhonemeCandidate(phoneme_name(name, settings.phoneme_alphabet), round(100 * share))
            )
    return PhonemeAssessment(
        phoneme=phoneme_name(phone.phone, settings.phoneme_alphabet),
        accuracy=accuracy,
        offset_ms=offset,
        duration_ms=duration,
        candidates=candidates,
    )


def _syllables(phonemes: list[PhonemeAssessment], phones: list[str]) -> list[SyllableAssessment]:
    syllables = []
    for group in syllabify(phones):
        members = [phonemes[i] for i in group]
        scored = [p.accuracy for p in members if p.accuracy is not None]
        first, last = members[0], members[-1]
        start = first.offset_ms or 0
        syllables.append(
            SyllableAssessment(
                syllable=" ".join(p.phoneme for p in members),
                accuracy=round(sum(scored) / len(scored), 1) if scored else None,
                offset_ms=start,
                duration_ms=(last.offset_ms or 0) + (last.duration_ms or 0) - start,
            )
        )
    return syllables


def _add_insertions(
    result: AssessmentResult, measures: UtteranceMeasures, analysis: Analysis
) -> None:
    inserted = [_insertion(seg, analysis) for seg in measures.insertions]
    if not inserted:
        return
    timed = [w for w in result.words if w.offset_ms is not None] + inserted
    untimed = [w for w in result.words if w.offset_ms is None]
    timed.sort(key=lambda w: w.offset_ms or 0)
    result.words = _merge_untimed(timed, untimed, result.words)


def _insertion(seg: Segment, analysis: Analysis) -> WordAssessment:
    """Other speech between reference words, named by what the phone loop heard there."""
    heard = [
        s.label.lower()
        for s in analysis.decoding.loop
        if s.start < seg.end and s.end > seg.start and s.label.isalpha() and s.label != "SIL"
    ]
    offset, duration = _ms(seg.start, seg.end)
    return WordAssessment(
        word=" ".join(heard) or "…",
        error_type=ErrorType.INSERTION,
        offset_ms=offset,
        duration_ms=duration,
    )


def _merge_untimed(
    timed: list[WordAssessment], untimed: list[WordAssessment], original: list[WordAssessment]
) -> list[WordAssessment]:
    """Put omitted words (no timing) back after the word that preceded them."""
    if not untimed:
        return timed
    merged = list(timed)
    for word in untimed:
        position = next(i for i, w in enumerate(original) if w is word)
        placed = {id(w) for w in merged}
        before = next((w for w in reversed(original[:position]) if id(w) in placed), None)
        at = next(i for i, w in enumerate(merged) if w is before) + 1 if before else 0
        merged.insert(at, word)
    return merged


def _ms(start: int, end: int) -> tuple[int, int]:
    return start * FRAME_MS, (end - start) * FRAME_MS
