"""Raw measures of one decoded utterance: per phone, per word and for the whole utterance.

Nothing here is on the 0–100 scale; :mod:`scoring` maps these measures with the shipped
calibration. Units: scores per frame in PocketSphinx log units, durations in frames (10 ms).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from assessments.engines.local.decoder import AlignedWord, Decoding, Segment
from assessments.engines.local.pitch import PitchTrack
from assessments.engines.local.rhythm import pitch_features, timing_features

INSERTION_FRAMES = 20  # unmatched speech this long (200 ms) between words is an insertion
_HESITATION_PHONES = frozenset(
    ["AA", "AE", "AH", "AO", "EH", "ER", "IH", "IY", "UH", "UW", "M", "N", "HH"]
)
# Per-frame floor: beyond this a phone is simply wrong, and one outlier must not swamp a mean.
_FLOOR = -200.0
# Per phone: mean and spread of ``lpp`` in the calibration corpus ("*": all phones).
PhoneNorms = dict[str, tuple[float, float]]
DEFAULT_NORM = (-55.0, 25.0)


@dataclass
class PhoneMeasures:
    phone: str
    start: int
    end: int
    lpp: float  # alignment log-likelihood per frame, relative to the best senone per frame
    lpp_z: float  # lpp standardised for this phone (some phones always score lower)
    gop: float  # (alignment − phone loop) log-likelihood per frame, ≤ 0 is usual
    agreement: float  # fraction of frames where the phone loop heard this phone
    heard: str  # the phone the loop heard most over these frames
    heard_shares: list[tuple[str, float]] = field(default_factory=list)  # best first


@dataclass
class WordMeasures:
    index: int
    text: str
    start: int | None = None
    end: int | None = None
    omitted: bool = False
    phones: list[PhoneMeasures] = field(default_factory=list)
    pause_before: int = 0  # frames of silence/filler just before the word
    features: dict[str, float] = field(default_factory=dict)


@dataclass
class UtteranceMeasures:
    words: list[WordMeasures]
    insertions: list[Segment]  # stretches of speech that match no reference word
    features: dict[str, float]
    n_frames: int


def measure(
    decoding: Decoding,
    texts: list[str],
    pitch: PitchTrack | None,
    phone_norms: PhoneNorms | None = None,
    speech: np.ndarray | None = None,
) -> UtteranceMeasures:
    """Measure a decoding; ``speech`` marks speech-level frames (None: cannot tell)."""
    loop_score, loop_phone = _loop_frames(decoding.loop, decoding.n_frames)
    norms = phone_norms or {}
    words = [WordMeasures(index=i, text=t, omitted=True) for i, t in enumerate(texts)]
    pause = 0
    for aligned in decoding.words:
        if aligned.index is None or aligned.index >= len(words):
            pause += aligned.frames
            continue
        word = words[aligned.index]
        word.omitted = False
        word.start, word.end = aligned.start, aligned.end
        word.pause_before = pause
        word.phones = [_phone(p, loop_score, loop_phone, norms) for p in aligned.phones]
        word.features = _word_features(word)
        word.features["speech_share"] = _speech_share(speech, aligned.start, aligned.end)
        pause = 0
    insertions = [
        run
        for run in _unmatched_speech(decoding.words, speech)
        if not _hesitation(loop_phone[run.start : run.end])
    ]
    features = _utterance_features(words, decoding.words, pitch, decoding.n_frames)
    return UtteranceMeasures(words, insertions, features, decoding.n_frames)


def _speech_share(speech: np.ndarray | None, start: int, end: int) -> float:
    if speech is None:
        return 1.0
    part = speech[start:end]
    return float(part.mean()) if part.size else 0.0


def _unmatched_speech(aligned: list[AlignedWord], speech: np.ndarray | None) -> list[Segment]:
    """Runs of speech-level frames that the aligner put in silence or filler segments.

    Said words outside the reference have nowhere to go in a forced alignment but the
    silences between reference words, so a long enough loud run there is an insertion.
    """
    if speech is None:
        return []
    found = []
    for segment in aligned:
        if segment.index is not None:
            continue
        run_start = None
        for frame in range(segment.start, segment.end + 1):
            loud = frame < segment.end and frame < speech.size and bool(speech[frame])
            if loud and run_start is None:
                run_start = frame
            elif not loud and run_start is not None:
                if frame - run_start >= INSERTION_FRAMES:
                    found.append(Segment("[SPEECH]", run_start, frame, 0.0))
                run_start = None
    return found


def _hesitation(heard: list[str]) -> bool:
    """ "uh", "um", "er": one or two vowel-like sounds, the kind of filler Azure drops too."""
    phones = {p for p in heard if p.isalpha() and p != "SIL"}
    return len(phones) <= 2 and phones <= _HESITATION_PHONES


def _loop_frames(loop: list[Segment], n_frames: int) -> tuple[np.ndarray, list[str]]:
    """Spread each phone-loop segment's score evenly over its frames."""
    score = np.zeros(n_frames)
    phone = ["SIL"] * n_frames
    for seg in loop:
        end = min(seg.end, n_frames)
        if end <= seg.start:
            continue
        score[seg.start : end] = seg.score / max(1, seg.frames)
        phone[seg.start : end] = [seg.label] * (end - seg.start)
    return score, phone


def _phone(
    seg: Segment, loop_score: np.ndarray, loop_phone: list[str], norms: PhoneNorms
) -> PhoneMeasures:
    frames = max(1, seg.frames)
    free = float(loop_score[seg.start : seg.end].sum())
    heard_frames = loop_phone[seg.start : seg.end] or [seg.label]
    agreement = sum(1 for p in heard_frames if p == seg.label) / len(heard_frames)
    shares = _shares(heard_frames)
    lpp = max(_FLOOR, seg.score / frames)
    gop = max(_FLOOR, (seg.score - free) / frames)
    mean, sd = norms.get(seg.label, norms.get("*", DEFAULT_NORM))
    return PhoneMeasures(
        phone=seg.label,
        start=seg.start,
        end=seg.end,
        lpp=lpp,
        lpp_z=(lpp - mean) / sd,
        gop=gop,
        agreement=agreement,
        heard=shares[0][0],
        heard_shares=shares,
    )


def _shares(frames: list[str]) -> list[tuple[str, float]]:
    counts = Counter(frames)
    return [(name, count / len(frames)) for name, count in counts.most_common()]


def _word_features(word: WordMeasures) -> dict[str, float]:
    phones = word.phones
    lpps = np.array([p.lpp for p in phones]) if phones else np.array([_FLOOR])
    gops = np.array([p.gop for p in phones]) if phones else np.array([_FLOOR])
    agree = np.array([p.agreement for p in phones]) if phones else np.zeros(1)
    z = np.array([p.lpp_z for p in phones]) if phones else np.array([-5.0])
    return {
        "z_mean": float(z.mean()),
        "z_min": float(z.min()),
        "lpp_mean": float(lpps.mean()),
        "lpp_min": float(lpps.min()),
        "gop_mean": float(gops.mean()),
        "agree_mean": float(agree.mean()),
        "frames_per_phone": ((word.end or 0) - (word.start or 0)) / max(1, len(phones)),
    }


def _utterance_features(
    words: list[WordMeasures],
    aligned: list[AlignedWord],
    pitch: PitchTrack | None,
    n_frames: int,
) -> dict[str, float]:
    spoken = [w for w in words if not w.omitted]
    phones = [p for w in spoken for p in w.phones]
    lpps = np.array([p.lpp for p in phones]) if phones else np.array([_FLOOR])
    gops = np.array([p.gop for p in phones]) if phones else np.array([_FLOOR])
    agree = np.array([p.agreement for p in phones]) if phones else np.zeros(1)
    word_lpps = np.array([w.features["lpp_mean"] for w in spoken]) if spoken else lpps
    z = np.array([p.lpp_z for p in phones]) if phones else np.array([-5.0])
    features = {
        "z_mean": float(z.mean()),
        "z_p20": float(np.percentile(z, 20)),
        "lpp_mean": float(lpps.mean()),
        "lpp_p20": float(np.percentile(lpps, 20)),
        "gop_mean": float(gops.mean()),
        "word_lpp_min": float(word_lpps.min()),
        "agree_mean": float(agree.mean()),
        "completeness": len(spoken) / max(1, len(words)),
    }
    features.update(timing_features(spoken, aligned, len(phones), n_frames))
    features.update(pitch_features(pitch, spoken))
    return features


def phone_rows(measures: UtteranceMeasures) -> list[tuple[int, int, dict[str, float]]]:
    """(word index, phone index, features) for every aligned reference phone."""
    rows = []
    for word in measures.words:
        for j, phone in enumerate(word.phones):
            features = {
                "lpp": phone.lpp,
                "lpp_z": phone.lpp_z,
                "word_z_mean": word.features["z_mean"],
                "gop": phone.gop,
                "agreement": phone.agreement,
                "word_lpp_mean": word.features["lpp_mean"],
                "utt_lpp_mean": measures.features["lpp_mean"],
                "utt_z_mean": measures.features["z_mean"],
            }
            rows.append((word.index, j, features))
    return rows


def word_rows(measures: UtteranceMeasures) -> list[tuple[int, dict[str, float]]]:
    """(word index, features) for every reference word that was aligned."""
    utt = measures.features
    extra = {
        "utt_lpp_mean": utt["lpp_mean"],
        "utt_z_mean": utt["z_mean"],
        "utt_pause_share": utt["pause_share"],
    }
    spoken = [w for w in measures.words if not w.omitted]
    typical = float(np.median([w.features["z_mean"] for w in spoken])) if spoken else 0.0
    # How much worse than this speaker's typical word: a wrong word stands out even in a
    # recording that matches the models poorly overall (accent, microphone).
    return [
        (w.index, {**w.features, **extra, "z_rel": w.features["z_mean"] - typical}) for w in spoken
    ]
