"""A speechocean762-style corpus: ``wav/<utt>.wav`` plus ``scores.json`` with expert scores.

Decoding the corpus is the slow part of calibration and evaluation, so analyses are cached
on disk (one pickle per utterance, keyed by the audio, text and engine code version).
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assessments.engines.local.analysis import Analysis, analyse, read_wav
from assessments.engines.local.decoder import AlignmentFailed, DecoderPool

# Bump when decoding or measuring changes, so stale cached analyses are not reused.
CACHE_VERSION = "7"


@dataclass
class Utterance:
    utt: str
    speaker: str
    record: dict[str, Any]
    wav_path: Path

    @property
    def text(self) -> str:
        return self.record["text"]


def speaker_of(utt: str) -> str:
    # speechocean762 ids are a 5-digit speaker id followed by a 4-digit utterance number.
    return utt[:5] if len(utt) == 9 and utt.isdigit() else utt.rsplit("_", 1)[0]


def load_corpus(root: Path, scores: Path | None = None) -> list[Utterance]:
    records = json.loads((scores or root / "scores.json").read_text(encoding="utf-8"))
    found = []
    for utt in sorted(records):
        path = root / "wav" / f"{utt}.wav"
        if path.exists():
            found.append(Utterance(utt, speaker_of(utt), records[utt], path))
    return found


def analyses(
    utterances: list[Utterance], *, cache: Path | None
) -> Iterator[tuple[Utterance, Analysis | None]]:
    """Analyse each utterance (None when alignment failed), reusing cached results."""
    pools = (DecoderPool(1), DecoderPool(1, wide=True))
    for utterance in utterances:
        data = utterance.wav_path.read_bytes()
        key = _cache_key(data, utterance.text)
        cached = cache / f"{utterance.utt}-{key}.pkl" if cache else None
        if cached and cached.exists():
            with cached.open("rb") as handle:
                yield utterance, pickle.load(handle)  # noqa: S301 - our own cache files
            continue
        try:
            result = analyse(read_wav(data), utterance.text, pools=pools)
        except AlignmentFailed:
            result = None
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with cached.open("wb") as handle:
                pickle.dump(result, handle)
        yield utterance, result


def _cache_key(data: bytes, text: str) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for part in (CACHE_VERSION, text):
        digest.update(part.encode())
    digest.update(data)
    return digest.hexdigest()[:16]
