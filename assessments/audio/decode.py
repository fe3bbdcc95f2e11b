"""Decoding with ffmpeg: the first audio stream of a file to 16 kHz mono 16-bit samples.

ffmpeg runs once, as an argv list (no shell), reading the file by absolute path with the
demuxer its sniffed container calls for, and writing raw samples into the caller's temporary
folder. pydub's ``AudioSegment.from_file`` would run ffprobe first (a second process), would
place extra ``parameters`` after the output name where ffmpeg ignores them, and would read
WAV in Python without resampling, so it is not used for decoding.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

from assessments.audio.upload_checks import AudioRejected
from assessments.ffmpeg import ffmpeg_binary

TARGET_RATE = 16_000
SAMPLE_WIDTH = 2

# The ffmpeg demuxer to force for each sniffed container, so a file is read as what its
# bytes say it is. WebM is Matroska; MP4/M4A/3GP/MOV share the "mov" demuxer.
DEMUXERS = {
    "wav": "wav",
    "webm": "matroska",
    "ogg": "ogg",
    "mp4": "mov",
    "mp3": "mp3",
    "aac": "aac",
    "flac": "flac",
}

_DECODE_TIMEOUT_SECONDS = 60
_DURATION_RE = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_TIME_RE = re.compile(rb"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)")


def _ffmpeg_input_args(*, path: Path, demuxer: str | None) -> list[str]:
    # "file:" keeps ffmpeg from reading a name like "concat:…" or "-x" as a protocol or an
    # option, and the whitelist stops a container from pulling in other URLs.
    args = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-nostats"]
    args += ["-protocol_whitelist", "file"]
    if demuxer:
        args += ["-f", demuxer]
    return [*args, "-i", f"file:{path}"]


def decode_to_samples(
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


def measure_duration_ms(*, path: Path, demuxer: str | None, workdir: str) -> int | None:
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
