"""Audio + reference text → raw measures, shared by the engine and the calibration script."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from assessments.engines.local import loudness, pitch
from assessments.engines.local.decoder import (
    AlignmentFailed,
    DecoderPool,
    Decoding,
    Pronunciation,
    decode,
)
from assessments.engines.local.features import PhoneNorms, UtteranceMeasures, measure
from assessments.engines.local.lexicon import LexiconWord, pronounce_text


class BadAudio(ValueError):
    """The bytes are not 16 kHz mono 16-bit PCM WAV."""


@dataclass
class Analysis:
    words: list[LexiconWord]
    decoding: Decoding
    pitch: pitch.PitchTrack
    duration_ms: int
    wide_beams: bool  # the default beams failed and the wide ones were needed
    levels: np.ndarray  # dB per 10 ms frame
    phone_norms: PhoneNorms | None = None

    @cached_property
    def measures(self) -> UtteranceMeasures:
        texts = [w.text for w in self.words]
        speech = loudness.speech_frames(self.levels)
        return measure(self.decoding, texts, self.pitch, self.phone_norms, speech)

    def with_norms(self, phone_norms: PhoneNorms | None) -> Analysis:
        """The same decoding, measured against other per-phone norms."""
        return Analysis(
            self.words,
            self.decoding,
            self.pitch,
            self.duration_ms,
            self.wide_beams,
            self.levels,
            phone_norms,
        )

    def __getstate__(self) -> dict:
        # Measures are cheap to recompute and change more often than decodings.
        state = dict(self.__dict__)
        state.pop("measures", None)
        return state


def read_wav(data: bytes) -> bytes:
    """The PCM frames of a 16 kHz mono 16-bit WAV file."""
    try:
        with wave.open(io.BytesIO(data)) as handle:
            shape = (handle.getframerate(), handle.getnchannels(), handle.getsampwidth())
            pcm = handle.readframes(handle.getnframes())
    except (wave.Error, EOFError) as exc:
        raise BadAudio(f"not a PCM WAV file: {exc}") from exc
    if shape != (16000, 1, 2):
        raise BadAudio(f"expected 16 kHz mono 16-bit audio, got {shape}")
    return pcm


def analyse(
    pcm: bytes,
    text: str,
    *,
    pools: tuple[DecoderPool, DecoderPool],
) -> Analysis:
    """Decode with default beams, then once more with wide beams if alignment failed.

    Raises :class:`AlignmentFailed` when both fail, and
    :class:`~assessments.engines.local.lexicon.Unpronounceable` before any decoding when a
    reference word has no pronunciation (every word is aligned; none is skipped).
    """
    normal, wide = pools
    with normal.acquire() as decoder:
        words = pronounce_text(text, decoder.lookup_word)
        refs = [Pronunciation(i, w.phones) for i, w in enumerate(words)]
        try:
            decoding = decode(decoder, pcm, refs)
            used_wide = False
        except AlignmentFailed:
            decoding = None
    if decoding is None:
        with wide.acquire() as decoder:
            decoding = decode(decoder, pcm, refs)
            used_wide = True
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
    return Analysis(
        words,
        decoding,
        pitch.track(samples),
        int(len(samples) / 16),
        used_wide,
        loudness.frame_levels(samples),
    )
