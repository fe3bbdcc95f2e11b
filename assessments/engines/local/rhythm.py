"""Timing and pitch measures of an aligned utterance, for fluency and prosody.

Durations in 10 ms frames; rates per second; pitch in semitones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from assessments.engines.local.decoder import AlignedWord
from assessments.engines.local.pitch import PitchTrack

if TYPE_CHECKING:
    from assessments.engines.local.features import WordMeasures

# A silence between two words at least this long is a pause (fluency) and a break (prosody).
PAUSE_FRAMES = 20


def timing_features(
    spoken: list[WordMeasures], aligned: list[AlignedWord], n_phones: int, n_frames: int
) -> dict[str, float]:
    if not spoken:
        return {"rate": 0.0, "artic_rate": 0.0, "pauses": 0.0, "pause_share": 1.0,
                "long_pause": 0.0, "filler_share": 0.0, "lead": float(n_frames)}  # fmt: skip
    start = min(w.start or 0 for w in spoken)
    end = max(w.end or 0 for w in spoken)
    span = max(1, end - start)
    inner = [w.pause_before for w in spoken[1:] if w.pause_before >= PAUSE_FRAMES]
    paused = sum(w.pause_before for w in spoken[1:])
    speaking = max(1, span - paused)
    fillers = sum(
        w.frames
        for w in aligned
        if w.index is None and w.label not in ("<sil>", "<s>", "</s>") and start <= w.start < end
    )
    return {
        "rate": len(spoken) / (span / 100.0),
        "artic_rate": n_phones / (speaking / 100.0),
        "pauses": float(len(inner)),
        "pause_share": paused / span,
        "long_pause": max(inner, default=0) / 100.0,
        "filler_share": fillers / span,
        "lead": start / 100.0,
    }


def pitch_features(pitch: PitchTrack | None, spoken: list[WordMeasures]) -> dict[str, float]:
    if pitch is None or not spoken:
        return {"pitch_sd": 0.0, "pitch_range": 0.0, "voiced": 0.0, "word_pitch_sd": 0.0}
    start = min(w.start or 0 for w in spoken)
    end = max(w.end or 0 for w in spoken)
    semitones = pitch.semitones(start, end)
    if semitones.size < 5:
        return {"pitch_sd": 0.0, "pitch_range": 0.0, "voiced": 0.0, "word_pitch_sd": 0.0}
    word_means = [
        float(np.mean(s)) for w in spoken if (s := pitch.semitones(w.start or 0, w.end or 0)).size
    ]
    return {
        "pitch_sd": float(np.std(semitones)),
        "pitch_range": float(np.percentile(semitones, 90) - np.percentile(semitones, 10)),
        "voiced": semitones.size / max(1, end - start),
        "word_pitch_sd": float(np.std(word_means)) if len(word_means) > 1 else 0.0,
    }
