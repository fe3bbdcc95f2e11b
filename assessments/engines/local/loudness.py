"""Which 10 ms frames hold speech-level sound, judged against the recording's own levels.

The free phone loop is a poor judge of "was anything said here" for unusual voices, so
omissions and insertions are decided by loudness: a frame counts as speech when it is
closer to the recording's speech level than to its noise floor.
"""

from __future__ import annotations

import numpy as np

HOP = 160  # 10 ms at 16 kHz, the decoder's frame rate
# Below this speech-to-noise distance the recording is too noisy (or too flat) to judge.
MIN_CONTRAST_DB = 10.0


def frame_levels(samples: np.ndarray) -> np.ndarray:
    """Level of each 10 ms frame in dB (full scale = 0 dB)."""
    count = samples.size // HOP
    if count == 0:
        return np.zeros(0)
    frames = samples[: count * HOP].reshape(count, HOP)
    power = (frames**2).mean(axis=1)
    return 10.0 * np.log10(power + 1e-10)


def contrast_db(levels: np.ndarray) -> float | None:
    """How far the recording's speech level is above its noise floor (None: too short)."""
    if levels.size < 10:
        return None
    return float(np.percentile(levels, 95) - np.percentile(levels, 10))


def speech_frames(levels: np.ndarray) -> np.ndarray | None:
    """Boolean mask of speech-level frames, or None when the contrast is too low to tell.

    Without the mask no word counts as unsaid and no insertion is looked for: the engine
    adds a ``miscue_unchecked_noisy`` notice to the result (and logs a warning) when the
    learner asked for miscue detection (see ``engine.py``).
    """
    contrast = contrast_db(levels)
    if contrast is None or contrast < MIN_CONTRAST_DB:
        return None
    return levels > np.percentile(levels, 10) + 0.5 * contrast
