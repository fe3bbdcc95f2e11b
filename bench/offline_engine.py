"""Speed and memory of the offline engine, on one CPU core.

    python bench/offline_engine.py [CORPUS_DIR] [--repeat N] [--limit N]

CORPUS_DIR has ``wav/<utt>.wav`` and ``scores.json`` (speechocean762 layout); by default
the small excerpt in ``tests/data/speechocean762``. For each utterance it times

- the baseline: one plain PocketSphinx recognition pass (default US-English model and
  language model) over the same audio, in the same process, and
- the engine: ``LocalEngine.assess`` with the product defaults (Phoneme granularity,
  Comprehensive, miscue and prosody on),

and prints real-time factors (processing time / audio time), the engine/baseline ratio,
the model load time and the process's peak resident memory. Other load on the machine
inflates the times: compare the ratio, and rerun on an idle machine for absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pocketsphinx import Decoder  # noqa: E402

from assessments.engines.base import AssessmentSettings  # noqa: E402
from assessments.engines.local import LocalEngine  # noqa: E402
from assessments.engines.local.analysis import read_wav  # noqa: E402


def peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def pin_to_one_core() -> str:
    try:
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    except (AttributeError, OSError):
        return "not pinned (no affinity support)"


def load(corpus: Path, limit: int) -> list[tuple[str, bytes, str]]:
    records = json.loads((corpus / "scores.json").read_text(encoding="utf-8"))
    items = []
    for utt in sorted(records)[:limit]:
        path = corpus / "wav" / f"{utt}.wav"
        if path.exists():
            items.append((utt, path.read_bytes(), records[utt]["text"]))
    return items


def time_baseline(decoder: Decoder, pcm: bytes) -> float:
    start = time.process_time()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    return time.process_time() - start


def time_engine(engine: LocalEngine, wav: bytes, text: str) -> float:
    start = time.process_time()
    engine.assess(wav=wav, settings=AssessmentSettings(reference_text=text))
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=ROOT / "tests/data/speechocean762")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args()
    print(pin_to_one_core())
    items = load(args.corpus, args.limit)
    memory_before = peak_mb()

    start = time.perf_counter()
    engine = LocalEngine()
    engine.assess(wav=items[0][1], settings=AssessmentSettings(reference_text=items[0][2]))
    warm_up = time.perf_counter() - start
    audio = ours = 0.0
    pcms = [read_wav(wav) for _utt, wav, _text in items]
    for _ in range(args.repeat):
        for (_utt, wav, text), pcm in zip(items, pcms, strict=True):
            audio += len(pcm) / 32000.0
            ours += time_engine(engine, wav, text)
    # Measured before the baseline decoder (with its large language model) is loaded.
    engine_peak = peak_mb()

    baseline = Decoder(loglevel="FATAL")
    base = 0.0
    for _ in range(args.repeat):
        for pcm in pcms:
            base += time_baseline(baseline, pcm)
    print(f"utterances: {len(items)} x {args.repeat}, audio {audio:.1f} s")
    print(f"first assessment incl. model load: {warm_up:.2f} s")
    print(f"baseline (plain PocketSphinx recognition): RTF {base / audio:.3f}")
    print(f"offline engine (assess, product defaults): RTF {ours / audio:.3f}")
    print(f"engine / baseline: {ours / base:.2f}x")
    print(f"peak RSS with the engine: {engine_peak:.0f} MB")
    print(f"(Python and imports alone: {memory_before:.0f} MB)")


if __name__ == "__main__":
    main()
