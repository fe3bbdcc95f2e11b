"""PocketSphinx passes over one utterance: word alignment, phone alignment, free phone loop.

Everything acoustic the offline engine knows comes from here. Scores are PocketSphinx's
integer log-likelihoods; with ``compallsen`` every senone is scored in every frame and each
frame is normalised by its best senone, so a phone's alignment score per frame is already a
goodness-of-pronunciation measure, and the alignment and phone-loop passes are comparable.
Frames are 10 ms.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from pocketsphinx import Decoder, get_model_path

# Segment.ascore is exp(score · ln 1.0001); undo it to get back to alignment units.
_LOG_BASE = math.log(1.0001)

# Default beams lose some alignments (most often when the learner said another word than
# the reference); on a retry, beams this wide recover them. Only failures pay for them.
WIDE_BEAMS = {"beam": 1e-200, "pbeam": 1e-200, "wbeam": 1e-200}


class AlignmentFailed(Exception):
    """No path through the reference grammar survived the beams."""


@dataclass
class Segment:
    """A span of frames ``[start, end)`` with its acoustic log-likelihood."""

    label: str
    start: int
    end: int
    score: float

    @property
    def frames(self) -> int:
        return self.end - self.start


@dataclass
class AlignedWord(Segment):
    """One word of the alignment (a reference word, silence or a filler) with its phones."""

    index: int | None = None  # position in the reference word list; None for fillers
    phones: list[Segment] = field(default_factory=list)


@dataclass
class Decoding:
    words: list[AlignedWord]  # in time order, fillers included
    loop: list[Segment]  # free phone-loop segmentation
    n_frames: int


@dataclass(frozen=True)
class Pronunciation:
    """A reference word's phones, at position ``index`` of the reference text."""

    index: int
    phones: tuple[str, ...]

    @property
    def key(self) -> str:
        return word_key(self.index, self.phones)


def word_key(index: int, phones: Sequence[str]) -> str:
    """A dictionary key unique to a position and pronunciation.

    PocketSphinx cannot redefine a word, and each aligned word must map back to its own
    position even when the text repeats it, so the key carries both. The decoder's
    dictionary grows by one entry per new (position, pronunciation): bounded by the lessons.
    """
    return f"w{index}_" + "-".join(phones)


def _new_decoder(wide: bool) -> Decoder:
    options = {"compallsen": True, "bestpath": False, "lm": None, "loglevel": "FATAL"}
    if wide:
        options.update(WIDE_BEAMS)
    decoder = Decoder(**options)
    decoder.add_allphone_file("loop", get_model_path("en-us/en-us-phone.lm.bin"))
    return decoder


class DecoderPool:
    """Decoders shared by the threads of one process; each decoder is used by one at a time.

    Decoders are created lazily up to ``size``: a worker that never assesses pays nothing,
    and a threaded worker does not serialise every request behind one lock.
    """

    def __init__(self, size: int = 1, *, wide: bool = False) -> None:
        self._size = max(1, size)
        self._wide = wide
        self._idle: queue.LifoQueue[Decoder] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()

    @contextmanager
    def acquire(self) -> Iterator[Decoder]:
        decoder = self._take()
        try:
            yield decoder
        finally:
            self._idle.put(decoder)

    def _take(self) -> Decoder:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._created < self._size:
                self._created += 1
                create = True
            else:
                create = False
        if create:
            try:
                return _new_decoder(self._wide)
            except Exception:
                with self._lock:
                    self._created -= 1
                raise
        return self._idle.get()


def decode(decoder: Decoder, pcm: bytes, words: Sequence[Pronunciation]) -> Decoding:
    """Align ``words`` to the audio and run the phone loop over the same audio."""
    _ensure_words(decoder, words)
    _run_word_pass(decoder, pcm, words)
    aligned = _run_phone_pass(decoder, pcm)
    loop = _run_phone_loop(decoder, pcm)
    n_frames = max([s.end for s in loop] + [w.end for w in aligned] + [0])
    return Decoding(words=aligned, loop=loop, n_frames=n_frames)


def _ensure_words(decoder: Decoder, words: Sequence[Pronunciation]) -> None:
    # Start every utterance from the same front-end state, so a result does not depend on
    # which decoder of the pool ran it or what it decoded before.
    decoder.reinit_feat()
    for word in words:
        if decoder.lookup_word(word.key) is None:
            decoder.add_word(word.key, " ".join(word.phones), True)


def _run_word_pass(decoder: Decoder, pcm: bytes, words: Sequence[Pronunciation]) -> None:
    """Word-level forced alignment; silence and fillers may sit between any two words.

    Every reference word is aligned. Whether a word was really said is decided later from
    the loudness of its frames: a skip arc in the grammar is too cheap against the acoustic
    scores and drops short, badly said words that were spoken.
    """
    _align_text(decoder, pcm, [w.key for w in words])


def _align_text(decoder: Decoder, pcm: bytes, keys: Sequence[str]) -> None:
    try:
        decoder.set_align_text(" ".join(keys))
    except RuntimeError as exc:
        raise AlignmentFailed(str(exc)) from exc
    _process(decoder, pcm)
    if decoder.hyp() is None:
        raise AlignmentFailed("no hypothesis for the reference words")


def _run_phone_pass(decoder: Decoder, pcm: bytes) -> list[AlignedWord]:
    """Second pass over the word hypothesis to get phone boundaries and phone scores."""
    try:
        decoder.set_alignment()
    except RuntimeError as exc:
        raise AlignmentFailed(str(exc)) from exc
    _process(decoder, pcm)
    alignment = decoder.get_alignment()
    if alignment is None:
        raise AlignmentFailed("phone alignment is empty")
    aligned = []
    for entry in alignment:
        aligned.append(
            AlignedWord(
                label=entry.name,
                start=entry.start,
                end=entry.start + entry.duration,
                score=float(entry.score),
                index=_position(entry.name),
                phones=[
                    Segment(p.name, p.start, p.start + p.duration, float(p.score)) for p in entry
                ],
            )
        )
    if not any(w.index is not None for w in aligned):
        raise AlignmentFailed("no reference word in the alignment")
    return aligned


def _position(key: str) -> int | None:
    """Reference index of a dictionary key made by :func:`word_key`; None for fillers."""
    if not key.startswith("w") or "_" not in key:
        return None
    head = key[1:].split("_", 1)[0]
    return int(head) if head.isdigit() else None


def _run_phone_loop(decoder: Decoder, pcm: bytes) -> list[Segment]:
    decoder.activate_search("loop")
    _process(decoder, pcm)
    return [
        Segment(s.word, s.start_frame, s.end_frame + 1, _to_units(s.ascore)) for s in decoder.seg()
    ]


def _to_units(density: float) -> float:
    if density <= 0.0:
        return -1e6
    return math.log(density) / _LOG_BASE


def _process(decoder: Decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
