"""The one result shape every assessment engine returns.

The Azure client and the offline engine both build these dataclasses; storage, pages,
charts and the ``assess`` command only ever read them. All overall scores are on a
0–100 scale whatever grading system the lesson asked for; the engine's own numbers are
kept in ``raw_scores`` next to ``grading_system``. Every score is optional because an
engine (or the chosen settings) may not produce it. See ``docs/results.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


class RecognitionStatus:
    SUCCESS = "Success"
    NO_MATCH = "NoMatch"
    INITIAL_SILENCE_TIMEOUT = "InitialSilenceTimeout"
    BABBLE_TIMEOUT = "BabbleTimeout"
    ERROR = "Error"

    ALL = (SUCCESS, NO_MATCH, INITIAL_SILENCE_TIMEOUT, BABBLE_TIMEOUT, ERROR)


class ErrorType:
    NONE = "None"
    OMISSION = "Omission"
    INSERTION = "Insertion"
    MISPRONUNCIATION = "Mispronunciation"
    UNEXPECTED_BREAK = "UnexpectedBreak"
    MISSING_BREAK = "MissingBreak"
    MONOTONE = "Monotone"

    ALL = (NONE, OMISSION, INSERTION, MISPRONUNCIATION, UNEXPECTED_BREAK, MISSING_BREAK, MONOTONE)


class NoticeCode:
    """Stable codes of :class:`Notice`; an engine adds the ones that apply to a result."""

    # Miscue detection was asked for but the recording was too noisy to judge it.
    MISCUE_UNCHECKED_NOISY = "miscue_unchecked_noisy"

    ALL = (MISCUE_UNCHECKED_NOISY,)


SCORE_NAMES = ("accuracy", "fluency", "completeness", "prosody", "pronunciation")

# Azure documents "Mispronunciation" as a word whose accuracy is below 60.
MISPRONUNCIATION_THRESHOLD = 60.0


def pronunciation_score(
    *,
    accuracy: float | None,
    fluency: float | None,
    completeness: float | None,
    prosody: float | None = None,
) -> float | None:
    """Azure's documented PronScore: a weighted sum of the sorted component scores.

    With prosody: 0.4·s0 + 0.2·s1 + 0.2·s2 + 0.2·s3; without: 0.6·s0 + 0.2·s1 + 0.2·s2,
    where s0 ≤ s1 ≤ … . Accuracy alone (Basic dimension) is returned as is.
    """
    if accuracy is None:
        return None
    parts = [s for s in (accuracy, fluency, completeness, prosody) if s is not None]
    parts.sort()
    if len(parts) == 4:
        weights = (0.4, 0.2, 0.2, 0.2)
    elif len(parts) == 3:
        weights = (0.6, 0.2, 0.2)
    elif len(parts) == 2:
        weights = (0.6, 0.4)
    else:
        return round(parts[0], 1)
    return round(sum(w * s for w, s in zip(weights, parts, strict=True)), 1)


def to_hundred(value: float | None, grading_system: str) -> float | None:
    """Bring a score given in ``grading_system`` onto the 0–100 scale."""
    if value is None:
        return None
    if grading_system == "FivePoint":
        return round(float(value) * 20.0, 1)
    return round(float(value), 1)


@dataclass
class PhonemeCandidate:
    """One of the phonemes the engine heard at this position, with its likelihood score."""

    phoneme: str
    score: float | None = None


@dataclass
class PhonemeAssessment:
    phoneme: str
    accuracy: float | None = None
    offset_ms: int | None = None
    duration_ms: int | None = None
    candidates: list[PhonemeCandidate] = field(default_factory=list)

    @property
    def heard(self) -> str | None:
        """The best spoken candidate when it differs from the expected phoneme."""
        for candidate in self.candidates:
            if candidate.phoneme and candidate.phoneme != self.phoneme:
                return candidate.phoneme
            return None
        return None


@dataclass
class SyllableAssessment:
    syllable: str
    accuracy: float | None = None
    offset_ms: int | None = None
    duration_ms: int | None = None
    grapheme: str | None = None


@dataclass
class ProsodyFeedback:
    """Per-word prosody feedback (Azure ``Feedback.Prosody``, or the offline estimate)."""

    break_error_types: list[str] = field(default_factory=list)
    unexpected_break_confidence: float | None = None
    missing_break_confidence: float | None = None
    break_length_ms: int | None = None
    intonation_error_types: list[str] = field(default_factory=list)
    monotone_confidence: float | None = None

    @property
    def unexpected_break(self) -> bool:
        return ErrorType.UNEXPECTED_BREAK in self.break_error_types

    @property
    def missing_break(self) -> bool:
        return ErrorType.MISSING_BREAK in self.break_error_types

    @property
    def monotone(self) -> bool:
        return ErrorType.MONOTONE in self.intonation_error_types


@dataclass
class WordAssessment:
    word: str
    accuracy: float | None = None
    error_type: str = ErrorType.NONE
    offset_ms: int | None = None
    duration_ms: int | None = None
    prosody: ProsodyFeedback | None = None
    syllables: list[SyllableAssessment] = field(default_factory=list)
    phonemes: list[PhonemeAssessment] = field(default_factory=list)


@dataclass
class Notice:
    """Part of the assessment that could not be done, said so the learner understands it."""

    code: str  # stable, for code and logs (see NoticeCode)
    message: str  # one learner-readable sentence or two, shown on the result page as is


@dataclass
class AssessmentResult:
    engine: str
    recognition_status: str = RecognitionStatus.SUCCESS
    recognized_text: str = ""
    accuracy: float | None = None
    fluency: float | None = None
    completeness: float | None = None
    prosody: float | None = None
    pronunciation: float | None = None
    grading_system: str = "HundredMark"
    # The engine's own overall numbers, in ``grading_system`` units, before scaling.
    raw_scores: dict[str, float] = field(default_factory=dict)
    audio_duration_ms: int | None = None
    trimmed: bool = False
    words: list[WordAssessment] = field(default_factory=list)
    # Support correlation id (Azure ``X-ConnectionId``); empty for the offline engine.
    connection_id: str = ""
    # What could not be assessed (e.g. miscues in a noisy recording); empty when all was.
    notices: list[Notice] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.recognition_status == RecognitionStatus.SUCCESS

    def scores(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in SCORE_NAMES}

    def fill_pronunciation(self) -> None:
        """Compute ``pronunciation`` with Azure's weighting when the engine did not give it."""
        if self.pronunciation is None:
            self.pronunciation = pronunciation_score(
                accuracy=self.accuracy,
                fluency=self.fluency,
                completeness=self.completeness,
                prosody=self.prosody,
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with snake_case keys (the documented shape)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssessmentResult:
        """Rebuild a result from :meth:`to_dict` output; unknown keys are ignored at every
        level, so JSON stored before a field was removed (or by a newer version) still loads.
        """
        values = _known_fields(cls, data)
        values["words"] = [_word_from_dict(w) for w in data.get("words") or []]
        values["raw_scores"] = dict(data.get("raw_scores") or {})
        values["notices"] = [
            Notice(**_known_fields(Notice, n)) for n in data.get("notices") or []
        ]
        return cls(**values)


def _known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def _word_from_dict(data: dict[str, Any]) -> WordAssessment:
    values = _known_fields(WordAssessment, data)
    prosody = data.get("prosody")
    values["prosody"] = (
        ProsodyFeedback(**_known_fields(ProsodyFeedback, prosody)) if prosody else None
    )
    values["syllables"] = [
        SyllableAssessment(**_known_fields(SyllableAssessment, s))
        for s in data.get("syllables") or []
    ]
    values["phonemes"] = [_phoneme_from_dict(p) for p in data.get("phonemes") or []]
    return WordAssessment(**values)


def _phoneme_from_dict(data: dict[str, Any]) -> PhonemeAssessment:
    values = _known_fields(PhonemeAssessment, data)
    values["candidates"] = [
        PhonemeCandidate(**_known_fields(PhonemeCandidate, c)) for c in data.get("candidates") or []
    ]
    return PhonemeAssessment(**values)
