"""Audio helpers for the offline engine tests: fixture files, raw PCM, synthetic speech."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from assessments.engines.base import AssessmentSettings

CORPUS = Path(__file__).resolve().parents[3] / "data" / "speechocean762"


def corpus_wav(utt: str) -> bytes:
    return (CORPUS / "wav" / f"{utt}.wav").read_bytes()


def settings_for(text: str, **overrides) -> AssessmentSettings:
    return AssessmentSettings(reference_text=text, **overrides)


def pcm_of(wav: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(wav)) as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").copy()


def wav_of(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def synthesize(text: str) -> bytes:
    """Synthetic US-English speech as 16 kHz mono WAV (skips the test without espeak-ng)."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if not espeak or not sox:
        pytest.skip("espeak-ng and sox are needed to synthesise speech")
    spoken = subprocess.run(
        [espeak, "-v", "en-us", "-s", "140", "--stdout", text], capture_output=True, check=True
    ).stdout
    converted = subprocess.run(
        [sox, "-t", "wav", "-", "-r", "16000", "-c", "1", "-b", "16", "-t", "wav", "-"],
        input=spoken,
        capture_output=True,
        check=True,
    ).stdout
    # Re-wrap so the header carries real sizes (a piped WAV may not).
    return wav_of(pcm_of_stream(converted))


def pcm_of_stream(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as handle:
        return np.frombuffer(handle.readframes(10**9), dtype="<i2").copy()
