"""Turn what browsers record and people upload into what the engines take.

Every engine takes 16 kHz, mono, 16-bit PCM WAV of at most ``AUDIO_MAX_SECONDS``. This package
decides the container by its first bytes (never by file name or declared MIME type), decodes
with ffmpeg straight to that format, trims long leading/trailing silence and cuts to the
maximum length. Anything it cannot use is refused with :class:`AudioRejected`, whose code and
learner message are shown as they are. See ``docs/audio.md``.

One module per step, each re-exported here so callers import from ``assessments.audio``:

- ``upload_checks``: :class:`AudioRejected` and the cheap size and magic-byte checks made
  before an upload is stored;
- ``decode``: the ffmpeg runs (decode to samples, measure a length the header omits);
- ``silence``: the level analysis that finds the speech and refuses silence;
- ``convert``: :func:`audio_convert`, which runs the steps in order and writes the WAV.
"""

from assessments.audio.convert import ConvertedAudio, audio_convert
from assessments.audio.decode import SAMPLE_WIDTH, TARGET_RATE
from assessments.audio.upload_checks import (
    HEAD_BYTES,
    AudioRejected,
    audio_check_upload,
    audio_sniff_format,
)

__all__ = [
    "HEAD_BYTES",
    "SAMPLE_WIDTH",
    "TARGET_RATE",
    "AudioRejected",
    "ConvertedAudio",
    "audio_check_upload",
    "audio_convert",
    "audio_sniff_format",
]
