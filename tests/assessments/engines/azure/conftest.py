"""Fixtures for the Azure engine tests: WAV bytes, a fake clock, engines built on the double."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from assessments.engines.azure import AzureEngine
from assessments.engines.base import AssessmentSettings


def make_wav(*, seconds: float = 1.0, rate: int = 16000, channels: int = 1) -> bytes:
    """A 440 Hz sine as 16-bit PCM WAV."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    if channels > 1:
        samples = np.repeat(samples, channels)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    return buffer.getvalue()


@pytest.fixture(scope="session")
def wav() -> bytes:
    return make_wav(seconds=1.5)


@dataclass
class FakeClock:
    """Real time plus whatever the engine "slept": backoff is observed, not waited for."""

    offset: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_engine(azure_double, clock) -> Callable[..., AzureEngine]:  # noqa: F811
    """Build an engine from the current settings, with the fake clock's sleep."""

    def build() -> AzureEngine:
        return AzureEngine.from_settings(sleep=clock.sleep, clock=clock.now)

    return build


@pytest.fixture
def reading() -> AssessmentSettings:
    return AssessmentSettings(reference_text="Good morning, how are you today?")
