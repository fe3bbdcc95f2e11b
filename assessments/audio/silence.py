"""Level analysis: where speech starts and ends, so long silence at either end is trimmed.

numpy does the work: pydub's silence scan is a per-chunk Python loop, far slower than the
decode itself.
"""

from __future__ import annotations

import numpy as np
from django.conf import settings

from assessments.audio.decode import TARGET_RATE
from assessments.audio.upload_checks import AudioRejected

_FRAME_SAMPLES = TARGET_RATE // 100  # 10 ms level-analysis frames
# A single click above the threshold is not speech.
_MIN_VOICED_MS = 50


def speech_bounds(samples: np.ndarray) -> tuple[int, int]:
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
