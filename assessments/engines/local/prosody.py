"""Per-word prosody feedback in Azure's shape: breaks and monotone, with confidences.

Breaks (a pause where no punctuation is, none where it is) become error types. Monotone
stays a confidence only: on speechocean762 the pitch spread it is made from does not
separate the readings the experts found less prosodic (docs/offline-engine.md, "Monotone"),
so the engine never flags a word as ``Monotone``.
"""

from __future__ import annotations

from assessments.engines.local.features import UtteranceMeasures, WordMeasures
from assessments.engines.local.normalize import ReferenceWord
from assessments.engines.local.rhythm import PAUSE_FRAMES
from assessments.results import ErrorType, ProsodyFeedback

BREAK_THRESHOLD = 0.75  # Microsoft's suggested cut-off for break confidences
FRAME_MS = 10


def word_feedback(
    word: WordMeasures, previous: ReferenceWord | None, monotone: float
) -> ProsodyFeedback:
    pause = word.pause_before if previous is not None else 0
    expected = previous is not None and previous.clause_end
    # Confidence grows with the pause length: 0.2 s is a hesitation, 0.6 s a clear break.
    unexpected = 0.0 if expected else _ramp(pause, PAUSE_FRAMES / 2, 3 * PAUSE_FRAMES)
    missing = 1.0 - _ramp(pause, 3, PAUSE_FRAMES) if expected else 0.0
    feedback = ProsodyFeedback(
        unexpected_break_confidence=round(unexpected, 2),
        missing_break_confidence=round(missing, 2),
        break_length_ms=pause * FRAME_MS,
        monotone_confidence=round(monotone, 2),
    )
    if unexpected >= BREAK_THRESHOLD:
        feedback.break_error_types.append(ErrorType.UNEXPECTED_BREAK)
    if missing >= BREAK_THRESHOLD:
        feedback.break_error_types.append(ErrorType.MISSING_BREAK)
    return feedback


def monotone_confidence(measures: UtteranceMeasures) -> float:
    """Flat pitch: a spread under ~1 semitone is monotone, over ~3 is lively speech.

    A measure, not a verdict: the thresholds are hand-picked and not validated (see the
    module docstring), so no error type is derived from it.
    """
    features = measures.features
    if features.get("voiced", 0.0) < 0.05:
        return 0.0  # too little voicing to judge
    return 1.0 - _ramp(features["pitch_sd"], 1.0, 3.0)


def _ramp(value: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (value - low) / (high - low)))
