"""Raw measures → 0–100 scores, with the linear maps fitted by :mod:`calibrate`.

Each level (phone, word, utterance accuracy, fluency, prosody) is one small ridge
regression on standardised features, fitted to expert scores brought onto 0–100. The maps
live in ``data/calibration.json`` so the engine's scoring can be re-fitted without code
changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

CALIBRATION_PATH = Path(__file__).with_name("data") / "calibration.json"
LEVELS = ("phone", "word", "accuracy", "fluency", "prosody")
MISPRONUNCIATION_CAP = 60.0

# The measures each level is fitted on, with the sign its weight must have (+1: higher is
# better, -1: higher is worse, 0: either). Few on purpose, as the calibration corpus is
# small; the signs keep a map sensible for inputs far from the corpus (a wrong word).
FEATURES: dict[str, dict[str, int]] = {
    "phone": {"lpp_z": 1, "gop": 1, "agreement": 1, "word_z_mean": 1, "utt_z_mean": 1},
    # Only the word's own evidence: utterance-level measures raise the correlation with the
    # experts (who score words much like the speaker's overall level) but blur which word
    # was wrong; see docs/offline-engine.md for both numbers.
    "word": {
        "z_mean": 1, "z_min": 1, "lpp_mean": 1, "gop_mean": 1, "agree_mean": 1,
        "frames_per_phone": 0, "z_rel": 1,
    },
    "accuracy": {
        "z_mean": 1, "z_p20": 1, "lpp_mean": 1, "gop_mean": 1, "agree_mean": 1,
        "word_lpp_min": 1, "pause_share": -1, "completeness": 1, "rate": 1,
    },
    "fluency": {
        "rate": 1, "artic_rate": 1, "pauses": -1, "pause_share": -1, "long_pause": -1,
        "filler_share": -1, "z_mean": 1,
    },
    "prosody": {
        "pitch_sd": 1, "pitch_range": 1, "word_pitch_sd": 1, "rate": 1, "artic_rate": 1,
        "pause_share": -1, "pauses": -1, "z_mean": 1,
    },
}  # fmt: skip


@dataclass(frozen=True)
class LinearMap:
    """score = intercept + Σ weight · (feature − mean) / scale, clipped to 0–100."""

    intercept: float
    weights: dict[str, float]
    mean: dict[str, float]
    scale: dict[str, float]

    def __call__(self, features: dict[str, float]) -> float:
        value = self.intercept
        for name, weight in self.weights.items():
            value += (
                weight * (features.get(name, self.mean[name]) - self.mean[name]) / self.scale[name]
            )
        return round(min(100.0, max(0.0, value)), 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "intercept": self.intercept,
            "weights": self.weights,
            "mean": self.mean,
            "scale": self.scale,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearMap:
        return cls(
            intercept=float(data["intercept"]),
            weights={k: float(v) for k, v in data["weights"].items()},
            mean={k: float(v) for k, v in data["mean"].items()},
            scale={k: float(v) or 1.0 for k, v in data["scale"].items()},
        )


@dataclass(frozen=True)
class OutlierCap:
    """Caps a score when one measure is beyond what real readings show.

    The fitted maps follow the experts, whose word scores in the calibration corpus depend
    mostly on the speaker's overall level; a word that is simply not the reference word
    must still score low. Below ``threshold`` (a low percentile of the corpus) the score is
    capped at 60 and falls by ``slope`` points per unit further down.
    """

    feature: str
    threshold: float
    slope: float

    def __call__(self, score: float, features: dict[str, float]) -> float:
        value = features.get(self.feature)
        if value is None:
            return score
        cap = MISPRONUNCIATION_CAP + self.slope * (value - self.threshold)
        return round(max(0.0, min(score, cap)), 1)


@dataclass(frozen=True)
class Calibration:
    maps: dict[str, LinearMap]
    phone_norms: dict[str, tuple[float, float]] = field(default_factory=dict)
    caps: dict[str, OutlierCap] = field(default_factory=dict)

    def score(self, level: str, features: dict[str, float]) -> float:
        score = self.maps[level](features)
        cap = self.caps.get(level)
        return cap(score, features) if cap else score


def load_calibration(path: Path | None = None) -> Calibration:
    return _load(str(path or CALIBRATION_PATH))


@lru_cache(maxsize=4)
def _load(path: str) -> Calibration:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return Calibration(
        maps={level: LinearMap.from_dict(data["levels"][level]) for level in LEVELS},
        phone_norms={k: (float(m), float(sd)) for k, (m, sd) in data["phone_norms"].items()},
        caps={level: OutlierCap(**cap) for level, cap in data.get("caps", {}).items()},
    )
