"""Fit the score maps on a corpus with expert scores and write ``data/calibration.json``.

Usage (the corpus is speechocean762's layout: ``wav/<utt>.wav`` and ``scores.json``)::

    python -m assessments.engines.local.calibrate /path/to/speechocean762 \
        [--cache /tmp/offline-engine-cache] [--out path/to/calibration.json]

Every level is a ridge regression on a handful of standardised measures. The correlations
printed (and stored in the file) are cross-validated by speaker: each speaker's
utterances are scored by maps fitted without that speaker.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from assessments.engines.local.analysis import Analysis
from assessments.engines.local.corpus import Utterance, analyses, load_corpus
from assessments.engines.local.features import phone_rows, word_rows
from assessments.engines.local.scoring import (
    CALIBRATION_PATH,
    FEATURES,
    LEVELS,
    LinearMap,
    OutlierCap,
)
from assessments.results import pronunciation_score

WORD_CAP_FEATURE, WORD_CAP_PERCENTILE, WORD_CAP_SLOPE = "z_min", 1.0, 15.0
MIN_PHONE_COUNT = 15  # rarer phones use the all-phone norm
RIDGE = 1.0  # on standardised features; the corpus is small
UTTERANCE_TARGETS = {"accuracy": "accuracy", "fluency": "fluency", "prosody": "prosodic"}


@dataclass
class Dataset:
    """Feature rows with expert targets (0–100) and the speaker of each row."""

    rows: list[dict[str, float]] = field(default_factory=list)
    targets: list[float] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    utts: list[str] = field(default_factory=list)

    def add(self, row: dict[str, float], target: float, speaker: str, utt: str) -> None:
        self.rows.append(row)
        self.targets.append(target)
        self.speakers.append(speaker)
        self.utts.append(utt)


def build_datasets(items: Sequence[tuple[Utterance, Analysis]]) -> dict[str, Dataset]:
    data = {level: Dataset() for level in (*LEVELS, "total")}
    for utterance, analysis in items:
        record, speaker, utt = utterance.record, utterance.speaker, utterance.utt
        expert_words = record["words"]
        if len(expert_words) != len(analysis.words):
            continue  # tokenisation differs; cannot pair words with expert scores
        measures = analysis.measures
        for index, j, row in phone_rows(measures):
            expert = expert_words[index]
            if len(expert["phones"]) == len(measures.words[index].phones):
                data["phone"].add(row, 50.0 * expert["phones-accuracy"][j], speaker, utt)
        for index, row in word_rows(measures):
            data["word"].add(row, 10.0 * expert_words[index]["accuracy"], speaker, utt)
        for level, key in UTTERANCE_TARGETS.items():
            data[level].add(measures.features, 10.0 * record[key], speaker, utt)
        data["total"].add(measures.features, 10.0 * record["total"], speaker, utt)
    return data


def fit(rows: list[dict[str, float]], targets: list[float], signs: dict[str, int]) -> LinearMap:
    """Ridge regression whose weights keep their expected signs, stretched to the targets.

    A feature whose weight comes out with the wrong sign (collinear features trading off)
    is dropped and the rest refitted. The fitted scores are then spread like the experts'
    (a linear stretch, so correlations are unchanged): a least-squares fit pulls every
    score towards the mean, and a clearly wrong word must still land below 60.
    """
    names = list(signs)
    x = np.array([[row[n] for n in names] for row in rows], dtype=float)
    y = np.array(targets, dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    keep = list(range(len(names)))
    while True:
        zk = z[:, keep]
        w = np.linalg.solve(zk.T @ zk + RIDGE * np.eye(len(keep)), zk.T @ (y - y.mean()))
        wrong = [(signs[names[k]] * wk, k) for k, wk in zip(keep, w, strict=True)]
        worst = min(wrong)
        if worst[0] >= 0 or len(keep) == 1:
            break
        keep.remove(worst[1])
    spread = float(np.std(zk @ w))
    w = w * (float(np.std(y)) / spread if spread > 0 else 1.0)
    kept = [names[k] for k in keep]
    return LinearMap(
        intercept=float(y.mean()),
        weights={n: float(v) for n, v in zip(kept, w, strict=True)},
        mean={n: float(mean[names.index(n)]) for n in kept},
        scale={n: float(scale[names.index(n)]) for n in kept},
    )


def cross_validated(dataset: Dataset, signs: dict[str, int]) -> np.ndarray:
    """Predictions for every row from a map fitted without that row's speaker."""
    predictions = np.zeros(len(dataset.rows))
    speakers = np.array(dataset.speakers)
    for speaker in sorted(set(dataset.speakers)):
        held = speakers == speaker
        train = [i for i in range(len(held)) if not held[i]]
        linear = fit([dataset.rows[i] for i in train], [dataset.targets[i] for i in train], signs)
        for i in np.flatnonzero(held):
            predictions[i] = linear(dataset.rows[i])
    return predictions


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def total_predictions(data: dict[str, Dataset], predicted: dict[str, np.ndarray]) -> np.ndarray:
    """The product's pronunciation score (Azure weighting) from the per-level predictions."""
    totals = []
    for i, row in enumerate(data["total"].rows):
        totals.append(
            pronunciation_score(
                accuracy=predicted["accuracy"][i],
                fluency=predicted["fluency"][i],
                completeness=100.0 * row["completeness"],
                prosody=predicted["prosody"][i],
            )
        )
    return np.array(totals, dtype=float)


def phone_norms(items: Sequence[tuple[Utterance, Analysis]]) -> dict[str, tuple[float, float]]:
    """Mean and spread of the per-frame alignment score of each phone over the corpus.

    Uses no expert scores, so fitting it on every speaker does not leak labels into the
    speaker-cross-validated numbers.
    """
    values: dict[str, list[float]] = {}
    for _utterance, analysis in items:
        for word in analysis.decoding.words:
            if word.index is None:
                continue
            for phone in word.phones:
                lpp = max(-200.0, phone.score / max(1, phone.frames))
                values.setdefault(phone.label, []).append(lpp)
                values.setdefault("*", []).append(lpp)
    return {
        label: (round(float(np.mean(v)), 3), round(float(np.std(v)) or 1.0, 3))
        for label, v in sorted(values.items())
        if len(v) >= MIN_PHONE_COUNT or label == "*"
    }


def outlier_caps(data: dict[str, Dataset]) -> dict[str, OutlierCap]:
    """The word cap sits at the 1st percentile of real words' worst phone (no labels used)."""
    worst = [row[WORD_CAP_FEATURE] for row in data["word"].rows]
    threshold = round(float(np.percentile(worst, WORD_CAP_PERCENTILE)), 3)
    return {"word": OutlierCap(WORD_CAP_FEATURE, threshold, WORD_CAP_SLOPE)}


def calibrate(items: Sequence[tuple[Utterance, Analysis]]) -> dict:
    norms = phone_norms(items)
    items = [(u, a.with_norms(norms)) for u, a in items]
    data = build_datasets(items)
    caps = outlier_caps(data)
    predicted = {level: cross_validated(data[level], FEATURES[level]) for level in LEVELS}
    for level, cap in caps.items():
        predicted[level] = np.array(
            [cap(p, row) for p, row in zip(predicted[level], data[level].rows, strict=True)]
        )
    report = {
        level: {"pearson": pearson(predicted[level], data[level].targets),
                "count": len(data[level].rows)}
        for level in LEVELS
    }  # fmt: skip
    report["total"] = {
        "pearson": pearson(total_predictions(data, predicted), data["total"].targets),
        "count": len(data["total"].rows),
    }
    maps = {level: fit(data[level].rows, data[level].targets, FEATURES[level]) for level in LEVELS}
    return {
        "levels": {level: linear.to_dict() for level, linear in maps.items()},
        "phone_norms": norms,
        "caps": {level: asdict(cap) for level, cap in caps.items()},
        "cross_validated": report,
        "utterances": len(data["total"].rows),
        "speakers": len(set(data["total"].speakers)),
        # So that ``evaluate --exclude-calibration-speakers`` can measure on the others.
        "speaker_ids": sorted(set(data["total"].speakers)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fit the offline engine's score maps.")
    parser.add_argument("corpus", type=Path, help="folder with wav/ and scores.json")
    parser.add_argument("--scores", type=Path, help="scores file (default: corpus/scores.json)")
    parser.add_argument("--cache", type=Path, default=None, help="folder to cache decodings in")
    parser.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    args = parser.parse_args(argv)
    utterances = load_corpus(args.corpus, args.scores)
    items = [(u, a) for u, a in analyses(utterances, cache=args.cache) if a is not None]
    result = calibrate(items)
    result["corpus"] = args.corpus.name
    result["failed_alignments"] = len(utterances) - len(items)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(items)} utterances, {result['speakers']} speakers -> {args.out}")
    for level, row in result["cross_validated"].items():
        print(f"  {level:9s} r={row['pearson']:.3f}  n={row['count']}")


if __name__ == "__main__":
    main()
