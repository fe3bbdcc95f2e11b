"""The offline assessment engine: PocketSphinx alignment + GOP, calibrated to expert scores."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from assessments.engines.base import AssessmentError, AssessmentSettings, InvalidSettings
from assessments.engines.local.analysis import BadAudio, analyse, read_wav
from assessments.engines.local.decoder import AlignmentFailed, DecoderPool
from assessments.engines.local.normalize import reference_words
from assessments.engines.local.report import ENGINE_NAME, build_result, unspoken
from assessments.engines.local.scoring import Calibration, load_calibration
from assessments.results import AssessmentResult, RecognitionStatus

logger = logging.getLogger(__name__)

SUPPORTED_LOCALES = ("en-US",)
# Below this RMS level (full scale = 1) the recording holds no usable speech.
SILENCE_RMS = 0.003
MIN_SPEECH_MS = 200
LOCALE_MESSAGE = (
    "This language needs the online (Azure) assessment engine, which is not configured. "
    "Please tell your teacher."
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
        pcm = _pcm(wav)
        duration_ms = len(pcm) // 32
        if _is_silent(pcm):
            return _status_only(RecognitionStatus.INITIAL_SILENCE_TIMEOUT, settings, duration_ms)
        references = reference_words(settings.reference_text)
        if not references:
            raise InvalidSettings("The reference text has no words to read.")
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
        return build_result(analysis, references, settings, self._calibration)


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
