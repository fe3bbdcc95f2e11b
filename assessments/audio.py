"""Turn what browsers record and people upload into what the engines take.

Every engine takes 16 kHz, mono, 16-bit PCM WAV of at most ``AUDIO_MAX_SECONDS``. This module
decides the container by its first bytes (never by file name or declared MIME type), decodes
with ffmpeg straight to that format, trims long leading/trailing silence and cuts to the
maximum length. Anything it cannot use is refused with :class:`AudioRejected`, whose code and
learner message are shown as they are. See ``docs/audio.md``.

Decoding runs ffmpeg once, as an argv list (no shell), reading the file by absolute path and
writing raw samples into a temporary folder that is always removed. pydub's
``AudioSegment.from_file`` would run ffprobe first (a second process), would place extra
``parameters`` after the output name where ffmpeg ignores them, and would read WAV in Python
without resampling; so we use pydub for the WAV writing, and numpy
for the level analysis (pydub's silence scan is a per-chunk Python loop, far slower than the
decode itself).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from assessments.engines.base import AssessmentError
from assessments.ffmpeg import ffmpeg_binary

with warnings.catch_warnings():
    # pydub warns at import when no ffmpeg is on PATH; we pass our own (assessments.ffmpeg).
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

TARGET_RATE = 16_000
SAMPLE_WIDTH = 2
HEAD_BYTES = 64

# The ffmpeg demuxer to force for each sniffed container, so a file is read as what its
# bytes say it is. WebM is Matroska; MP4/M4A/3GP/MOV share the "mov" demuxer.
_DEMUXERS = {
    "wav": "wav",
    "webm": "matroska",
    "ogg": "ogg",
    "mp4": "mov",
    "mp3": "mp3",
    "aac": "aac",
    "flac": "flac",
}

_FRAME_SAMPLES = TARGET_RATE // 100  # 10 ms level-analysis frames
# Nothing past the maximum plus this margin is ever decoded (a two-hour file costs what a
# 35 s one does); the margin lets a learner who waited up to this long before speaking still
# get the full maximum of speech once the leading silence is trimmed.
_DECODE_MARGIN_SECONDS = 5.0
# A single click above the threshold is not speech.
_MIN_VOICED_MS = 50
_DECODE_TIMEOUT_SECONDS = 60
_DURATION_RE = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_TIME_RE = re.compile(rb"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)")


class AudioRejected(AssessmentError):
    """A recording we cannot assess, with a reason the learner can act on."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_AUDIO = "not_audio"
    TOO_SHORT = "too_short"
    NO_SPEECH = "no_speech"

    MESSAGES = {
        EMPTY: "Your recording was empty. Check your microphone and try again.",
        TOO_LARGE: "Your recording is too large (the limit is {limit_mb:g} MB). "
        "Record a shorter answer and try again.",
        NOT_AUDIO: "We couldn't read that file as audio. Record again, or upload a WAV, MP3, "
        "FLAC, Ogg, WebM or MP4 audio file.",
        TOO_SHORT: "Your recording is too short. Read the whole text aloud and try again.",
        NO_SPEECH: "We couldn't hear any speech in your recording. "
        "Check your microphone and try again.",
    }

    def __init__(self, code: str, *, operator_message: str = "", **message_args: object) -> None:
        super().__init__(
            code,
            self.MESSAGES[code].format(**message_args),
            operator_message=operator_message,
        )


@dataclass(frozen=True)
class ConvertedAudio:
    wav: bytes  # 16 kHz mono 16-bit PCM WAV, silence-trimmed and cut to the maximum
    duration_ms: int  # of ``wav``
    original_duration_ms: int  # of the source as uploaded
    # True when the learner's audio was cut to the maximum length — speech was cut, or the
    # file went on past what was decoded — never for leading/trailing silence alone.
    trimmed: bool
    source_format: str  # what content sniffing found: webm, ogg, mp4, wav, mp3, aac, flac


def audio_sniff_format(*, head: bytes) -> str | None:
    """The container the first bytes of a file announce, or ``None`` when it is not audio."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: WebM / Matroska
        return "webm"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # MPEG audio frame sync; layer bits 00 mean an ADTS AAC stream instead of MP3.
        return "aac" if head[1] & 0x06 == 0 else "mp3"
    return None


def audio_check_upload(*, size: int, head: bytes) -> str:
    """Cheap checks before an upload is stored; returns the sniffed format or refuses it."""
    if size <= 0:
        raise AudioRejected(AudioRejected.EMPTY, operator_message="Upload has 0 bytes.")
    limit = int(getattr(settings, "AUDIO_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    if size > limit:
        raise AudioRejected(
            AudioRejected.TOO_LARGE,
            operator_message=f"Upload has {size} bytes; the limit is {limit}.",
            limit_mb=round(limit / (1024 * 1024), 1),
        )
    source_format = audio_sniff_format(head=head)
    if source_format is None:
        raise AudioRejected(
            AudioRejected.NOT_AUDIO,
            operator_message=f"Unrecognised file signature {head[:12].hex()}.",
        )
    return source_format


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
        demuxer = None if head.startswith(b"ID3") else _DEMUXERS[source_format]
        samples, header_ms = _decode(
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
            measured = _measure_duration_ms(path=path, demuxer=demuxer, workdir=workdir)
            original_ms = max(measured or 0, decoded_ms)

    if decoded_ms < min_seconds * 1000:
        raise AudioRejected(
            AudioRejected.TOO_SHORT,
            operator_message=f"{decoded_ms} ms of audio; the minimum is {min_seconds:g} s.",
        )
    start, end = _speech_bounds(samples)
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


def _ffmpeg_input_args(*, path: Path, demuxer: str | None) -> list[str]:
    # "file:" keeps ffmpeg from reading a name like "concat:…" or "-x" as a protocol or an
    # option, and the whitelist stops a container from pulling in other URLs.
    args = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-nostats"]
    args += ["-protocol_whitelist", "file"]
    if demuxer:
        args += ["-f", demuxer]
    return [*args, "-i", f"file:{path}"]


def _decode(
    *, path: Path, demuxer: str | None, seconds: float, workdir: str
) -> tuple[np.ndarray, int | None]:
    """Decode the first ``seconds`` of the first audio stream to 16 kHz mono s16 samples.

    Also returns the container's declared duration in ms when it states one.
    """
    # Writing to a file in the work folder rather than a pipe saves a thousand small reads
    # (and the context switches) per 30 s of audio.
    output = Path(workdir) / "decoded.s16"
    command = [
        *_ffmpeg_input_args(path=path, demuxer=demuxer),
        *("-map", "0:a:0", "-t", f"{seconds:.3f}"),
        *("-ac", "1", "-ar", str(TARGET_RATE), "-c:a", "pcm_s16le", "-f", "s16le"),
        *("-y", f"file:{output}"),
    ]
    try:
        done = subprocess.run(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=_DECODE_TIMEOUT_SECONDS,
            cwd=workdir,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AudioRejected(
            AudioRejected.NOT_AUDIO,
            operator_message=f"ffmpeg took more than {_DECODE_TIMEOUT_SECONDS} s to decode.",
        ) from exc
    raw = output.read_bytes() if output.exists() else b""
    raw = raw[: len(raw) // SAMPLE_WIDTH * SAMPLE_WIDTH]
    if done.returncode != 0 or not raw:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise AudioRejected(
            AudioRejected.NOT_AUDIO,
            operator_message=f"ffmpeg decoded no audio (exit {done.returncode}): "
            + " | ".join(tail),
        )
    match = _DURATION_RE.search(done.stderr)
    return np.frombuffer(raw, dtype="<i2"), _match_ms(match)


def _measure_duration_ms(*, path: Path, demuxer: str | None, workdir: str) -> int | None:
    """The real length of a file without a declared duration: demux it (no decoding)."""
    command = [
        *_ffmpeg_input_args(path=path, demuxer=demuxer),
        *("-map", "0:a:0", "-c", "copy", "-f", "null", "-"),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=_DECODE_TIMEOUT_SECONDS, cwd=workdir, check=False
        )
    except subprocess.TimeoutExpired:
        return None
    matches = list(_TIME_RE.finditer(done.stderr))
    return _match_ms(matches[-1]) if matches else None


def _match_ms(match: re.Match[bytes] | None) -> int | None:
    if match is None:
        return None
    hours, minutes, seconds = (float(part) for part in match.groups())
    return round((hours * 3600 + minutes * 60 + seconds) * 1000)


def _speech_bounds(samples: np.ndarray) -> tuple[int, int]:
    """Sample range from the first to the last loud 10 ms frame, padded; refuses silence."""
    threshold_dbfs = float(getattr(settings, "AUDIO_SILENCE_DBFS", -50.0))
    keep_ms = int(getattr(settings, "AUDIO_KEEP_SILENCE_MS", 300))
    count = -(-len(samples) // _FRAME_SAMPLES)
    frames = np.zeros(count * _FRAME_SAMPLES, dtype=np.float32)  # last frame zero-padded
    frames[: len(samples)] = samples
    frames = frames.reshape(count, _FRAME_SAMPLES)
    power = np.einsum("ij,ij->i", frames, frames) / _FRAME_SAMPLES  # mean square per frame
    # dBFS of a frame's RMS, relative to 16-bit full scale (as pydub measures it).
    loud = power > (32768.0 * 10 ** (threshold_dbfs / 20)) ** 2
    if int(loud.sum()) * 10 < _MIN_VOICED_MS:
        peak = 10 * np.log10(max(float(power.max()), 1e-9) / 32768.0**2)
        raise AudioRejected(
            AudioRejected.NO_SPEECH,
            operator_message=f"Loudest 10 ms frame is {peak:.1f} dBFS; "
            f"the speech threshold is {threshold_dbfs:g} dBFS.",
        )
    first = int(np.argmax(loud))
    last = count - 1 - int(np.argmax(loud[::-1]))
    pad = keep_ms * TARGET_RATE // 1000
    end = min(len(samples), (last + 1) * _FRAME_SAMPLES + pad)
    return max(0, first * _FRAME_SAMPLES - pad), end
