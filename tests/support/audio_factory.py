"""Real audio files for tests, generated on the spot (no binary fixtures in the repository).

Two layers:

* plain functions that write one file and return its path — ``make_speech_wav`` (espeak-ng),
  ``make_tone`` / ``make_noise`` / ``make_silence`` (numpy + :mod:`wave`, any rate, channel
  count and 8/16/24/32-bit width), ``transcode`` (ffmpeg, to every format a browser records
  or a person uploads), ``pad_silence``, ``loop_to``, ``truncate``, ``make_png``,
  ``make_video_only``;
* the session-scoped ``audio_factory`` fixture, an :class:`AudioFactory` that calls them and
  caches each file by its parameters, so a suite generates every file once.

Use it from any test module with ``pytest_plugins = ["tests.support.audio_factory"]`` (or from
``tests/conftest.py``)::

    def test_upload(audio_factory):
        wav = audio_factory.speech("Good morning")          # 22.05 kHz mono 16-bit WAV
        webm = audio_factory.transcode(wav, "webm")          # Opus in WebM, like Chrome
        stereo = audio_factory.transcode(wav, "wav", rate=44100, channels=2, sample_width=3)
        silent = audio_factory.silence(seconds=2)
        broken = audio_factory.truncated(webm, keep_bytes=200)

Needs ffmpeg (with libopus, libmp3lame) and espeak-ng on PATH (``make install-test``).
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import wave
import zlib
from pathlib import Path

import numpy as np
import pytest

DEFAULT_TEXT = "The quick brown fox jumps over the lazy dog."

# ffmpeg output arguments per target format; "webm-stream" is written to a pipe so, like a
# browser's MediaRecorder output, it has no duration and no cues in its header.
FORMATS: dict[str, tuple[str, list[str]]] = {
    "webm": ("webm", ["-c:a", "libopus", "-b:a", "32k", "-f", "webm"]),
    "webm-stream": ("webm", ["-c:a", "libopus", "-b:a", "32k", "-f", "webm"]),
    "ogg": ("ogg", ["-c:a", "libopus", "-b:a", "32k", "-f", "ogg"]),
    "ogg-vorbis": ("ogg", ["-c:a", "libvorbis", "-f", "ogg"]),
    "mp4": ("m4a", ["-c:a", "aac", "-b:a", "64k", "-f", "mp4"]),
    "aac": ("aac", ["-c:a", "aac", "-b:a", "64k", "-f", "adts"]),
    "mp3": ("mp3", ["-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"]),
    "flac": ("flac", ["-c:a", "flac", "-f", "flac"]),
    "wav": ("wav", ["-f", "wav"]),
    "wav-float": ("wav", ["-c:a", "pcm_f32le", "-f", "wav"]),
}
_WAV_CODECS = {1: "pcm_u8", 2: "pcm_s16le", 3: "pcm_s24le", 4: "pcm_s32le"}


def require_tool(name: str) -> str:
    """The tool's path, or a clear failure telling how to install it."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed; run `make install-test`.")
    return path


def write_wav(path: Path, signal: np.ndarray, *, rate: int, sample_width: int = 2) -> Path:
    """Write float samples in [-1, 1] (shape ``(n,)`` or ``(n, channels)``) as PCM WAV."""
    signal = np.clip(np.asarray(signal, dtype=np.float64), -1.0, 1.0)
    if signal.ndim == 1:
        signal = signal[:, np.newaxis]
    channels = signal.shape[1]
    full_scale = 2 ** (8 * sample_width - 1)
    ints = np.round(signal * (full_scale - 1)).astype(np.int64)
    if sample_width == 1:  # 8-bit WAV is unsigned
        data = (ints + 128).astype(np.uint8).tobytes()
    elif sample_width == 3:  # no 24-bit numpy type: take 3 of each little-endian int32
        data = ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        data = ints.astype(f"<i{sample_width}").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(sample_width)
        handle.setframerate(rate)
        handle.writeframes(data)
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """16-bit mono/stereo WAV as float samples ``(n, channels)`` and its rate."""
    with wave.open(str(path), "rb") as handle:
        if handle.getsampwidth() != 2:
            raise ValueError(f"{path} is not 16-bit")
        rate, channels = handle.getframerate(), handle.getnchannels()
        data = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    return data.reshape(-1, channels) / 32768.0, rate


def _amplitude(dbfs: float) -> float:
    return float(10 ** (dbfs / 20))


def make_tone(
    path: Path,
    *,
    seconds: float = 1.0,
    frequency: float = 440.0,
    dbfs: float = -12.0,
    rate: int = 16_000,
    channels: int = 1,
    sample_width: int = 2,
) -> Path:
    """A sine tone whose peak is at ``dbfs`` (its RMS is 3 dB lower)."""
    t = np.arange(int(seconds * rate)) / rate
    tone = _amplitude(dbfs) * np.sin(2 * np.pi * frequency * t)
    return write_wav(
        path, np.repeat(tone[:, None], channels, axis=1), rate=rate, sample_width=sample_width
    )


def make_noise(
    path: Path,
    *,
    seconds: float = 1.0,
    dbfs: float = -20.0,
    rate: int = 16_000,
    channels: int = 1,
    sample_width: int = 2,
    seed: int = 7,
) -> Path:
    """Gaussian white noise with its RMS at ``dbfs`` (deterministic for a given seed)."""
    noise = np.random.default_rng(seed).normal(
        0.0, _amplitude(dbfs), (int(seconds * rate), channels)
    )
    return write_wav(path, noise, rate=rate, sample_width=sample_width)


def make_silence(
    path: Path,
    *,
    seconds: float = 1.0,
    rate: int = 16_000,
    channels: int = 1,
    sample_width: int = 2,
) -> Path:
    """Digital silence (all samples zero)."""
    return write_wav(
        path, np.zeros((int(seconds * rate), channels)), rate=rate, sample_width=sample_width
    )


def make_speech_wav(
    text: str, path: Path, *, voice: str = "en-us", words_per_minute: int = 160
) -> Path:
    """Synthetic speech from espeak-ng: 22.05 kHz mono 16-bit WAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            require_tool("espeak-ng"),
            "-v",
            voice,
            "-s",
            str(words_per_minute),
            "-w",
            str(path),
            "--",
            text,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


def transcode(
    src: Path,
    dest: Path,
    fmt: str,
    *,
    rate: int | None = None,
    channels: int | None = None,
    sample_width: int | None = None,
) -> Path:
    """Re-encode ``src`` with ffmpeg into ``fmt`` (a key of :data:`FORMATS`).

    ``rate`` / ``channels`` resample or up/down-mix on the way (``channels=2`` copies the first
    channel to both, at the same level); ``sample_width`` (1–4 bytes) picks the PCM depth for
    ``wav`` (ffmpeg writes 24/32-bit as WAVE_FORMAT_EXTENSIBLE, which :mod:`wave` cannot read).
    """
    _, output_args = FORMATS[fmt]
    command = [require_tool("ffmpeg"), "-nostdin", "-v", "error", "-y", "-i", str(src)]
    if rate:
        command += ["-ar", str(rate)]
    if channels == 2:
        # ffmpeg's own mono-to-stereo upmix lowers each channel by 3 dB; copy it instead so
        # a stereo file has the level of its mono source (the first channel of any source).
        command += ["-af", "pan=stereo|c0=c0|c1=c0"]
    elif channels:
        command += ["-ac", str(channels)]
    if fmt == "wav":
        command += ["-c:a", _WAV_CODECS[sample_width or 2]]
    command += output_args
    dest.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "webm-stream":
        done = subprocess.run([*command, "pipe:1"], check=True, capture_output=True, timeout=120)
        dest.write_bytes(done.stdout)
    else:
        subprocess.run([*command, str(dest)], check=True, capture_output=True, timeout=120)
    return dest


def make_video_only(path: Path, *, seconds: float = 1.0) -> Path:
    """A WebM with a VP8 test picture and no audio stream at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            require_tool("ffmpeg"),
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=d={seconds}:s=64x64:r=10",
            "-c:v",
            "libvpx",
            "-f",
            "webm",
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return path


def pad_silence(src: Path, dest: Path, *, before: float = 0.0, after: float = 0.0) -> Path:
    """``src`` (16-bit WAV) with digital silence added before and after it."""
    signal, rate = read_wav(src)
    channels = signal.shape[1]
    padded = np.concatenate(
        [np.zeros((int(before * rate), channels)), signal, np.zeros((int(after * rate), channels))]
    )
    return write_wav(dest, padded, rate=rate)


def loop_to(
    src: Path, dest: Path, *, seconds: float, rate: int | None = None, sample_width: int = 2
) -> Path:
    """``src`` (16-bit WAV) repeated until it lasts ``seconds`` (optionally resampled crudely)."""
    signal, src_rate = read_wav(src)
    if rate and rate != src_rate:  # nearest-sample resampling is enough for a long test file
        index = (np.arange(int(len(signal) * rate / src_rate)) * src_rate / rate).astype(int)
        signal, src_rate = signal[index], rate
    total = int(seconds * src_rate)
    looped = np.resize(signal, (total, signal.shape[1]))
    return write_wav(dest, looped, rate=src_rate, sample_width=sample_width)


def truncate(src: Path, dest: Path, *, keep_bytes: int) -> Path:
    """The first ``keep_bytes`` of ``src``: a header with little or no payload."""
    dest.write_bytes(src.read_bytes()[:keep_bytes])
    return dest


def make_png(path: Path, *, width: int = 2, height: int = 2) -> Path:
    """A valid, tiny RGB PNG (to rename as .wav/.webm and check content beats file name)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


class AudioFactory:
    """Generates test audio into one directory, each distinct file only once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, kind: str, *parts: object, suffix: str) -> Path:
        # A readable prefix plus a hash of every parameter: stable, unique, short.
        digest = hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()[:12]
        return self.directory / f"{kind}-{digest}.{suffix}"

    def speech(
        self, text: str = DEFAULT_TEXT, *, voice: str = "en-us", words_per_minute: int = 160
    ) -> Path:
        path = self._path("speech", text, voice, words_per_minute, suffix="wav")
        if not path.exists():
            make_speech_wav(text, path, voice=voice, words_per_minute=words_per_minute)
        return path

    def tone(self, **options: object) -> Path:
        """See :func:`make_tone` for the options."""
        path = self._path("tone", sorted(options.items()), suffix="wav")
        return path if path.exists() else make_tone(path, **options)  # type: ignore[arg-type]

    def noise(self, **options: object) -> Path:
        """See :func:`make_noise` for the options."""
        path = self._path("noise", sorted(options.items()), suffix="wav")
        return path if path.exists() else make_noise(path, **options)  # type: ignore[arg-type]

    def silence(self, **options: object) -> Path:
        """See :func:`make_silence` for the options."""
        path = self._path("silence", sorted(options.items()), suffix="wav")
        return path if path.exists() else make_silence(path, **options)  # type: ignore[arg-type]

    def transcode(self, src: Path, fmt: str, **options: int | None) -> Path:
        """See :func:`transcode`; the file gets the format's usual extension."""
        suffix = FORMATS[fmt][0]
        path = self._path(
            f"{src.stem}-{fmt}", src.name, fmt, sorted(options.items()), suffix=suffix
        )
        return path if path.exists() else transcode(src, path, fmt, **options)

    def padded(self, src: Path, *, before: float = 0.0, after: float = 0.0) -> Path:
        path = self._path(f"{src.stem}-padded", src.name, before, after, suffix="wav")
        return path if path.exists() else pad_silence(src, path, before=before, after=after)

    def looped(
        self, src: Path, *, seconds: float, rate: int | None = None, sample_width: int = 2
    ) -> Path:
        path = self._path(f"{src.stem}-looped", src.name, seconds, rate, sample_width, suffix="wav")
        if not path.exists():
            loop_to(src, path, seconds=seconds, rate=rate, sample_width=sample_width)
        return path

    def truncated(self, src: Path, *, keep_bytes: int) -> Path:
        path = self._path(f"{src.stem}-truncated", src.name, keep_bytes, suffix=src.suffix[1:])
        return path if path.exists() else truncate(src, path, keep_bytes=keep_bytes)

    def renamed(self, src: Path, *, name: str) -> Path:
        """A copy of ``src`` under a misleading name (e.g. a PNG called ``voice.wav``)."""
        path = self.directory / "renamed" / name
        path.parent.mkdir(exist_ok=True)
        shutil.copyfile(src, path)
        return path

    def video_only(self, *, seconds: float = 1.0) -> Path:
        path = self._path("video", seconds, suffix="webm")
        return path if path.exists() else make_video_only(path, seconds=seconds)

    def png(self) -> Path:
        path = self.directory / "image.png"
        return path if path.exists() else make_png(path)

    def file(self, name: str, content: bytes) -> Path:
        """Any bytes under a name: empty files, random junk, text pretending to be audio."""
        path = self.directory / "files" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        return path


@pytest.fixture(scope="session")
def audio_factory(tmp_path_factory: pytest.TempPathFactory) -> AudioFactory:
    """One :class:`AudioFactory` per test session (per xdist worker)."""
    return AudioFactory(tmp_path_factory.mktemp("audio"))
