"""Measure the shipped calibration on a corpus with expert scores, and the gross-error test.

Usage (same corpus layout as :mod:`calibrate`; nothing is re-fitted here, so run it on
speakers the calibration never saw)::

    python -m assessments.engines.local.evaluate /path/to/corpus [--scores scores.json] \
        [--calibration calibration.json] [--cache DIR] [--gross N] [--json out.json] \
        [--exclude-calibration-speakers] [--speakers ID,ID,...]

Correlations are Pearson's r between the engine's 0–100 scores and the experts', per level,
with the number of items. The gross-error test changes one reference word per utterance
(and, separately, cuts the audio before the last word) and reports how often the changed
word is flagged, how often it is ranked below every unchanged word, and the ROC AUC of
word accuracy for "changed" vs "unchanged" words. The ``monotone`` section checks whether
the pitch spread behind the monotone confidence tells the readings the experts found less
prosodic from the others.

``--exclude-calibration-speakers`` keeps only speakers that the calibration file does not
list as fitted on (its ``speaker_ids``), so the numbers are on unseen speakers.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assessments.engines.base import AssessmentError, AssessmentSettings
from assessments.engines.local.analysis import read_wav
from assessments.engines.local.calibrate import build_datasets, pearson
from assessments.engines.local.corpus import Utterance, analyses, load_corpus
from assessments.engines.local.engine import LocalEngine
from assessments.engines.local.prosody import BREAK_THRESHOLD, monotone_confidence
from assessments.engines.local.scoring import (
    CALIBRATION_PATH,
    LEVELS,
    Calibration,
    load_calibration,
)
from assessments.results import ErrorType, pronunciation_score

FLAGGED = (ErrorType.MISPRONUNCIATION, ErrorType.OMISSION)
LOW_PROSODY = 7.0  # experts' prosody (0–10) below this counts as "less prosodic"


def correlations(items: Sequence, calibration: Calibration) -> dict[str, dict]:
    data = build_datasets(items)
    predicted = {
        level: [calibration.score(level, row) for row in data[level].rows] for level in LEVELS
    }
    report = {
        level: {"pearson": pearson(predicted[level], data[level].targets),
                "count": len(data[level].rows)}
        for level in LEVELS
    }  # fmt: skip
    totals = [
        pronunciation_score(
            accuracy=predicted["accuracy"][i],
            fluency=predicted["fluency"][i],
            completeness=100.0 * row["completeness"],
            prosody=predicted["prosody"][i],
        )
        for i, row in enumerate(data["total"].rows)
    ]
    report["total"] = {
        "pearson": pearson(totals, data["total"].targets),
        "count": len(totals),
    }
    return report


def monotone_check(items: Sequence) -> dict:
    """Does the monotone confidence's pitch spread follow the experts' prosody scores?"""
    rows = [
        (monotone_confidence(a.measures), a.measures.features["pitch_sd"], u.record["prosodic"])
        for u, a in items
    ]
    if not rows:
        return {"utterances": 0}
    confidence, spread, prosody = np.array(rows, dtype=float).T
    flagged, low = confidence >= BREAK_THRESHOLD, prosody < LOW_PROSODY
    return {
        "utterances": len(rows),
        "flagged": int(flagged.sum()),
        "expert_prosody_flagged": float(prosody[flagged].mean()) if flagged.any() else None,
        "expert_prosody_rest": float(prosody[~flagged].mean()) if (~flagged).any() else None,
        "pearson_pitch_sd_prosody": pearson(spread, prosody),
        "low_prosody": int(low.sum()),
        # P(a reading the experts rated >= 7 has more pitch spread than one rated < 7).
        "auc_pitch_sd_low_prosody": roc_auc(list(spread[~low]), list(spread[low])),
    }


def unseen_speakers(utterances: Sequence[Utterance], calibration_path: Path) -> list[Utterance]:
    """The utterances of speakers the calibration file was not fitted on."""
    data = json.loads(calibration_path.read_text(encoding="utf-8"))
    if "speaker_ids" not in data:
        raise SystemExit(f"{calibration_path} does not list its speakers (re-run calibrate)")
    seen = set(data["speaker_ids"])
    return [u for u in utterances if u.speaker not in seen]


def roc_auc(negatives: Sequence[float], positives: Sequence[float]) -> float:
    """P(a changed word scores below an unchanged one); ties count half."""
    if not negatives or not positives:
        return float("nan")
    neg = np.asarray(negatives, dtype=float)[:, None]
    pos = np.asarray(positives, dtype=float)[None, :]
    return float(((neg > pos).sum() + 0.5 * (neg == pos).sum()) / (neg.size * pos.size))


def gross_errors(
    utterances: Sequence[Utterance], engine: LocalEngine, *, limit: int, seed: int
) -> dict[str, dict]:
    rng = random.Random(seed)
    vocabulary = sorted({w.lower() for u in utterances for w in u.text.split() if w.isalpha()})
    chosen = [u for u in utterances if len(u.text.split()) >= 3][:limit]
    return {
        "replaced_word": _replaced(chosen, engine, vocabulary, rng),
        "cut_last_word": _cut(chosen, engine),
    }


def _replaced(
    utterances: Sequence[Utterance], engine: LocalEngine, vocabulary: list[str], rng: random.Random
) -> dict:
    changed, unchanged, flagged, lowest, refused = [], [], 0, 0, 0
    for utterance in utterances:
        words = [w.strip('.,!?"') for w in utterance.text.split()]
        index = rng.randrange(len(words))
        replacement = rng.choice([v for v in vocabulary if v != words[index].lower()])
        words[index] = replacement
        try:
            result = engine.assess(
                wav=utterance.wav_path.read_bytes(),
                settings=AssessmentSettings(reference_text=" ".join(words)),
            )
        except AssessmentError:
            refused += 1  # the learner is told to read the text again: no scores at all
            continue
        scores = _word_scores(result)
        if len(scores) != len(words):
            continue
        target, others = scores[index], [s for i, s in enumerate(scores) if i != index]
        changed.append(target[0])
        unchanged.extend(s for s, _ in others)
        flagged += target[1] in FLAGGED
        lowest += all(target[0] < s for s, _ in others)
    return _summary(changed, unchanged, flagged, lowest, refused)


def _cut(utterances: Sequence[Utterance], engine: LocalEngine) -> dict:
    changed, unchanged, flagged, lowest, refused = [], [], 0, 0, 0
    for utterance in utterances:
        data = utterance.wav_path.read_bytes()
        settings = AssessmentSettings(reference_text=utterance.text)
        full = engine.assess(wav=data, settings=settings)
        said = _word_scores(full)
        if not said:
            continue
        last = [w for w in full.words if w.error_type != ErrorType.INSERTION][-1]
        if last.offset_ms is None:
            continue  # the last word was not said in the original either
        pcm = read_wav(data)
        cut = pcm[: last.offset_ms * 32] + pcm[: 32 * 300]  # keep a noisy tail
        try:
            result = engine.assess(wav=_wav(cut), settings=settings)
        except AssessmentError:
            refused += 1
            continue
        scores = _word_scores(result)
        if len(scores) != len(said):
            continue
        target, others = scores[-1], scores[:-1]
        changed.append(target[0])
        unchanged.extend(s for s, _ in others)
        flagged += target[1] in FLAGGED
        lowest += all(target[0] < s for s, _ in others)
    return _summary(changed, unchanged, flagged, lowest, refused)


def _word_scores(result) -> list[tuple[float, str]]:
    """(accuracy, error type) per reference word; an omitted word counts as 0."""
    return [
        (0.0 if w.error_type == ErrorType.OMISSION else (w.accuracy or 0.0), w.error_type)
        for w in result.words
        if w.error_type != ErrorType.INSERTION
    ]


def _summary(changed: list, unchanged: list, flagged: int, lowest: int, refused: int) -> dict:
    n = len(changed)
    return {
        "utterances": n,
        "refused": refused,
        "flagged": flagged / n if n else float("nan"),
        "ranked_lowest": lowest / n if n else float("nan"),
        "auc": roc_auc(unchanged, changed),
    }


def _wav(pcm: bytes) -> bytes:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(pcm)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Evaluate the offline engine on a corpus.")
    parser.add_argument("corpus", type=Path, help="folder with wav/ and scores.json")
    parser.add_argument("--scores", type=Path, help="scores file (default: corpus/scores.json)")
    parser.add_argument("--calibration", type=Path, help="default: the shipped calibration")
    parser.add_argument("--cache", type=Path, help="folder to cache decodings in")
    parser.add_argument("--gross", type=int, default=0, help="utterances for gross-error test")
    parser.add_argument("--seed", type=int, default=762)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument(
        "--exclude-calibration-speakers",
        action="store_true",
        help="only speakers the calibration was not fitted on",
    )
    parser.add_argument("--speakers", help="only these speakers (comma-separated ids)")
    args = parser.parse_args(argv)
    calibration = load_calibration(args.calibration)
    utterances = load_corpus(args.corpus, args.scores)
    if args.speakers:
        wanted = set(args.speakers.split(","))
        utterances = [u for u in utterances if u.speaker in wanted]
    if args.exclude_calibration_speakers:
        utterances = unseen_speakers(utterances, args.calibration or CALIBRATION_PATH)
    if not utterances:
        raise SystemExit("no utterances left to evaluate (every speaker was filtered out)")
    items = [
        (u, a.with_norms(calibration.phone_norms))
        for u, a in analyses(utterances, cache=args.cache)
        if a is not None
    ]
    report: dict = {
        "utterances": len(utterances),
        "failed_alignments": len(utterances) - len(items),
        "speakers": len({u.speaker for u in utterances}),
        "correlations": correlations(items, calibration),
        "monotone": monotone_check(items),
    }
    if args.gross:
        engine = LocalEngine(calibration=calibration)
        report["gross_errors"] = gross_errors(utterances, engine, limit=args.gross, seed=args.seed)
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
