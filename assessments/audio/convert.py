"""The whole conversion: check, decode, trim silence, cut to the maximum, write the WAV.

Decoding runs in a temporary folder that is always removed. pydub is used only for the WAV
writing (see ``decode`` and ``silence`` for why it does neither of the other steps).
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from assessments.audio.decode import (
    DEMUXERS,
    SAMPLE_WIDTH,
    TARGET_RATE,
    decode_to_samples,
    measure_duration_ms,
)
from assessments.audio.silence import speech_bounds
from assessments.audio.upload_checks import HEAD_BYTES, AudioRejected, audio_check_upload

with warnings.catch_warnings():
    # pydub warns at import when no ffmpeg is on PATH; we pass our own (assessments.ffmpeg).
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

# Nothing past the maximum plus this margin is ever decoded (a two-hour file costs what a
# 35 s one does); the margin lets a learner who waited up to this long before speaking still
# get the full maximum of speech once the leading silence is trimmed.
_DECODE_MARGIN_SECONDS = 5.0


@dataclass(frozen=True)
class ConvertedAudio:
    wav: bytes  # 16 kHz mono 16-bit PCM WAV, silence-trimmed and cut to the maximum
    duration_ms: int  # of ``wav``
    original_duration_ms: int  # of the source as uploaded
    # True when the learner's audio was cut to the maximum length — speech was cut, or the
    # file went on past what was decoded — never for leading/trailing silence alone.
    trimmed: bool
    source_format: str  # what content sniffing found: webm, ogg, mp4, wav, mp3, aac, flac


def audio_convert(
    *, source: str | os.PathLike[str] | bytes, max_seconds: float | None = None
) -> ConvertedAudio:
    """Convert an upload or a file to 16 kHz mono 16-bit WAV, or refuse it.

    ``source`` is a path (read in place) or the upload's bytes. ``max_seconds`` defaults to
    ``settings.AUDIO_MAX_SECONDS``. Raises :class:`AudioRejected`, or ``OSError`` when the
    path cannot be read.
    """
    if max_seconds is None:
        max_seconds = float(getattr(settings, "AUDIO_MAX_SECONDS", 30.0))
    min_seconds = float(getattr(settings, "AUDIO_MIN_SECONDS", 0.3))
    decode_seconds = max_seconds + _DECODE_MARGIN_SECONDS

    with tempfile.TemporaryDirectory(prefix="tutor-audio-") as workdir:
        if isinstance(source, bytes):
            head = source[:HEAD_BYTES]
            source_format = audio_check_upload(size=len(source), head=head)
            path = Path(workdir) / "upload"  # no extension: nothing may guess from a name
            path.write_bytes(source)
        else:
            path = Path(source).resolve()
            with path.open("rb") as handle:  # OSError when missing or unreadable
                head = handle.read(HEAD_BYTES)
            source_format = audio_check_upload(size=path.stat().st_size, head=head)
        # ID3 tags can sit in front of any stream; let ffmpeg probe what follows them.
        demuxer = None if head.startswith(b"ID3") else DEMUXERS[source_format]
        samples, header_ms = decode_to_samples(
            path=path, demuxer=demuxer, seconds=decode_seconds, workdir=workdir
        )
        decoded_ms = len(samples) * 1000 // TARGET_RATE
        # -t stops the decode at the cap; anything beyond it was never looked at.
        hit_cap = len(samples) >= int((decode_seconds - 0.05) * TARGET_RATE)
        if not hit_cap:
            original_ms = decoded_ms
        elif header_ms is not None:
            original_ms = max(header_ms, decoded_ms)
        else:  # e.g. browser WebM, which carries no duration in its header
            measured = measure_duration_ms(path=path, demuxer=demuxer, workdir=workdir)
            original_ms = max(measured or 0, decoded_ms)

    if decoded_ms < min_seconds * 1000:
        raise AudioRejected(
            AudioRejected.TOO_SHORT,
            operator_message=f"{decoded_ms} ms of audio; the minimum is {min_seconds:g} s.",
        )
    start, end = speech_bounds(samples)
    cut = end - start > int(max_seconds * TARGET_RATE)
    if cut:
        end = start + int(max_seconds * TARGET_RATE)
    segment = AudioSegment(
        data=samples[start:end].tobytes(),
        sample_width=SAMPLE_WIDTH,
        frame_rate=TARGET_RATE,
        channels=1,
    )
    wav = segment.export(io.BytesIO(), format="wav").getvalue()
    return ConvertedAudio(
        wav=wav,
        duration_ms=(end - start) * 1000 // TARGET_RATE,
        original_duration_ms=original_ms,
        trimmed=cut or (hit_cap and original_ms > decoded_ms),
        source_format=source_format,
    )
