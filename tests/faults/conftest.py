"""Fixtures for the fault and abuse suite: real audio files and the loopback Azure double."""

from tests.support.audio_factory import audio_factory  # noqa: F401 - fixture

