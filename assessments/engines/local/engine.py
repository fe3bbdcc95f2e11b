"""The offline assessment engine: PocketSphinx alignment + GOP, calibrated to expert scores."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from assessments.engines.base import AssessmentError, AssessmentSettings, InvalidSettings
from assessments.engines.local import loudness
from assessments.engines.local.analysis import Analysis, BadAudio, analyse, read_wav
from assessments.engines.local.decoder import AlignmentFailed, DecoderPool
from assessments.engines.local.lexicon import Unpronounceable, pronounce_text
from assessments.engines.local.normalize import reference_words
from assessments.engines.local.report import ENGINE_NAME, build_result, unspoken
from assessments.engines.local.scoring import Calibration, load_calibration
from assessments.results import AssessmentResult, Notice, NoticeCode, RecognitionStatus

logger = logging.getLogger(__name__)

SUPPORTED_LOCALES = ("en-US",)
# Below this RMS level (full scale = 1) the recording holds no usable speech.
SILENCE_RMS = 0.003
MIN_SPEECH_MS = 200
LOCALE_MESSAGE = (
    "This language needs the online (Azure) assessment engine, which is not configured. "
    "Please tell your teacher."
)
MISCUE_UNCHECKED_MESSAGE = (
    "There was a lot of background noise, so missing or extra words could not be checked. "
    "Try again somewhere quieter for a full check."
)
ALIGNMENT_MESSAGE = (
    "We could not match your recording to the text. Please read the whole text clearly, "
    "close to the microphone, and try again."
)


class LocalEngine:
    """Scores en-US read speech offline. One instance per process; safe to share by threads.

    Decoders are created on first use (``decoders`` at most, each used by one thread at a
    time); a second, wide-beam pool is only touched when an alignment fails.
    """

    name = ENGINE_NAME

    def __init__(self, *, decoders: int = 1, calibration: Calibration | None = None) -> None:
        self._pools = (DecoderPool(decoders), DecoderPool(1, wide=True))
        self._calibration = calibration or load_calibration()

    @classmethod
    def from_settings(cls) -> LocalEngine:
        from django.conf import settings

        decoders = int(getattr(settings, "LOCAL_ENGINE_DECODERS", 1))
        path = getattr(settings, "LOCAL_ENGINE_CALIBRATION", None)
        return cls(decoders=decoders, calibration=load_calibration(Path(path) if path else None))

    def assess(self, *, wav: bytes, settings: AssessmentSettings) -> AssessmentResult:
        _check_settings(settings)
        self.check_text(settings.reference_text)
        pcm = _pcm(wav)
        duration_ms = len(pcm) // 32
        if _is_silent(pcm):
            return _status_only(RecognitionStatus.INITIAL_SILENCE_TIMEOUT, settings, duration_ms)
        references = reference_words(settings.reference_text)
        try:
            analysis = analyse(pcm, settings.reference_text, pools=self._pools)
        except AlignmentFailed as exc:
            raise AssessmentError(
                "alignment_failed",
                ALIGNMENT_MESSAGE,
                operator_message=f"Offline alignment failed even with wide beams: {exc}",
                retryable=False,
            ) from exc
        analysis = analysis.with_norms(self._calibration.phone_norms)
        if len(unspoken(analysis.measures)) == len(analysis.measures.words):
            return _status_only(RecognitionStatus.NO_MATCH, settings, duration_ms)
        if analysis.wide_beams:
            logger.info("offline engine: alignment needed wide beams")
        result = build_result(analysis, references, settings, self._calibration)
        if settings.enable_miscue and settings.dimension == "Comprehensive":
            result.notices.extend(_miscue_notices(analysis))
        return result

    def check_text(self, text: str) -> None:
        """Refuse a reference text the engine cannot read in full, before any audio work.

        Every word must get a pronunciation (dictionary, spelled-out number or symbol, or
        letter-to-sound rules on its accent-folded letters); a word that gets none would
        otherwise be scored as if the learner had left it out.
        """
        if not reference_words(text):
            raise InvalidSettings("The reference text has no words to read.")
        with self._pools[0].acquire() as decoder:
            try:
                pronounce_text(text, decoder.lookup_word)
            except Unpronounceable as exc:
                named = ", ".join(f'"{word}"' for word in exc.words)
                raise InvalidSettings(
                    f"The offline engine cannot pronounce {named} in the reference text: it "
                    "reads English words (accents are ignored), numbers and common symbols. "
                    "Change the lesson's text, or configure the Azure engine."
                ) from exc


def _check_settings(settings: AssessmentSettings) -> None:
    if settings.locale not in SUPPORTED_LOCALES:
        raise AssessmentError(
            "locale_unsupported",
            LOCALE_MESSAGE,
            operator_message=(
                f"The offline engine scores en-US only; {settings.locale} needs Azure "
                "(set AZURE_SPEECH_KEY)."
            ),
            retryable=False,
        )
    settings.validate()


def _miscue_notices(analysis: Analysis) -> list[Notice]:
    """Omissions and insertions are decided by loudness; say so when it could not tell.

    The learner gets a notice on the result; the log keeps the measured contrast (see
    docs/offline-engine.md, "Limitations").
    """
    if loudness.speech_frames(analysis.levels) is not None:
        return []
    contrast = loudness.contrast_db(analysis.levels)
    logger.warning(
        "offline engine: omission/insertion detection skipped: speech is %s dB above the "
        "background (needs %.0f dB); no word is reported as omitted or inserted",
        "unknown" if contrast is None else f"{contrast:.1f}",
        loudness.MIN_CONTRAST_DB,
    )
    return [Notice(code=NoticeCode.MISCUE_UNCHECKED_NOISY, message=MISCUE_UNCHECKED_MESSAGE)]


def _pcm(wav: bytes) -> bytes:
    try:
        return read_wav(wav)
    except BadAudio as exc:
        raise AssessmentError(
            "not_audio",
            "Your recording could not be read. Please record again.",
            operator_message=str(exc),
            retryable=False,
        ) from exc


def _is_silent(pcm: bytes) -> bool:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
    if samples.size < MIN_SPEECH_MS * 16:
        return True
    frames = samples[: samples.size // 160 * 160].reshape(-1, 160)
    loudest = np.sqrt((frames**2).mean(axis=1))
    # Judge by the loud part of the recording: a few loud frames are enough for speech.
    return float(np.percentile(loudest, 95)) < SILENCE_RMS


def _status_only(status: str, settings: AssessmentSettings, duration_ms: int) -> AssessmentResult:
    return AssessmentResult(
        engine=ENGINE_NAME,
        recognition_status=status,
        grading_system=settings.grading_system,
        audio_duration_ms=duration_ms,
    )
