"""A plain autocorrelation pitch tracker, one value per 10 ms frame like the decoder's.

Good enough to tell a flat reading from a lively one (pitch spread in semitones); it is
not a phonetics tool. Octave jumps are tamed by discarding values far from the median.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
HOP = 160  # 10 ms, the decoder's frame rate
WINDOW = 640  # 40 ms: two periods of a 50 Hz voice
F0_MIN, F0_MAX = 70.0, 450.0
VOICING_THRESHOLD = 0.5  # normalised autocorrelation peak
OUTLIER_SEMITONES = 9.0


@dataclass
class PitchTrack:
    semitone: np.ndarray  # per frame, relative to 100 Hz; NaN where unvoiced

    def semitones(self, start: int, end: int) -> np.ndarray:
        part = self.semitone[max(0, start) : max(0, end)]
        return part[~np.isnan(part)]


def track(samples: np.ndarray) -> PitchTrack:
    """Pitch of 16 kHz mono float samples."""
    if samples.size < WINDOW:
        return PitchTrack(np.full(0, np.nan))
    frames = _frames(samples)
    frames = frames - frames.mean(axis=1, keepdims=True)
    energy = (frames**2).sum(axis=1)
    spectrum = np.fft.rfft(frames * np.hanning(WINDOW), n=2 * WINDOW, axis=1)
    acf = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :WINDOW]
    lo, hi = int(SAMPLE_RATE / F0_MAX), int(SAMPLE_RATE / F0_MIN)
    zero_lag = np.maximum(acf[:, :1], 1e-9)
    # Divide out the window's own autocorrelation so long lags are not penalised.
    window_acf = np.correlate(np.hanning(WINDOW), np.hanning(WINDOW), "full")[WINDOW - 1 :]
    nacf = (acf[:, lo:hi] / zero_lag) / (window_acf[lo:hi] / window_acf[0])
    lag = nacf.argmax(axis=1) + lo
    peak = nacf.max(axis=1)
    loud = energy > 0.02 * np.percentile(energy, 95)
    voiced = (peak > VOICING_THRESHOLD) & loud
    semitone = np.where(voiced, 12.0 * np.log2(SAMPLE_RATE / lag / 100.0), np.nan)
    return PitchTrack(_drop_outliers(semitone))


def _frames(samples: np.ndarray) -> np.ndarray:
    # Centre each window on a decoder frame so frame i here is frame i in the alignment.
    padded = np.pad(samples, (WINDOW // 2, WINDOW // 2))
    count = 1 + (samples.size - 1) // HOP
    index = np.arange(WINDOW)[None, :] + HOP * np.arange(count)[:, None]
    return padded[np.minimum(index, padded.size - 1)]


def _drop_outliers(semitone: np.ndarray) -> np.ndarray:
    voiced = semitone[~np.isnan(semitone)]
    if voiced.size == 0:
        return semitone
    median = float(np.median(voiced))
    return np.where(np.abs(semitone - median) > OUTLIER_SEMITONES, np.nan, semitone)
