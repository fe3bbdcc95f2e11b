"""The calibration and evaluation scripts, run on the small fixture corpus."""

from __future__ import annotations

import json

import pytest

from assessments.engines.local import calibrate, evaluate
from assessments.engines.local.corpus import analyses, load_corpus, speaker_of
from assessments.engines.local.scoring import (
    CALIBRATION_PATH,
    FEATURES,
    LEVELS,
    LinearMap,
    load_calibration,
)
from tests.assessments.engines.local.helpers import CORPUS


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    cache = tmp_path_factory.mktemp("decodings")
    utterances = load_corpus(CORPUS)
    found = [(u, a) for u, a in analyses(utterances, cache=cache) if a is not None]
    # A second pass is served from the cache and gives the same decodings.
    again = [(u, a) for u, a in analyses(utterances, cache=cache) if a is not None]
    assert [a.decoding for _, a in again] == [a.decoding for _, a in found]
    return found


def test_speaker_ids_come_from_utterance_ids():
    assert speaker_of("000010011") == "00001"
    assert speaker_of("alice_003") == "alice"


def test_calibration_writes_every_level_with_cross_validated_numbers(items, tmp_path):
    result = calibrate.calibrate(items)
    assert set(result["levels"]) == set(LEVELS)
    assert result["speakers"] == 4 and result["utterances"] == 4
    assert result["speaker_ids"] == sorted({u.speaker for u, _ in items})
    for level in LEVELS:
        weights = result["levels"][level]["weights"]
        assert weights and set(weights) <= set(FEATURES[level])
        for name, weight in weights.items():
            assert FEATURES[level][name] * weight >= 0, (level, name)
        assert result["cross_validated"][level]["count"] > 0
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(result), encoding="utf-8")
    loaded = load_calibration(path)
    assert set(loaded.maps) == set(LEVELS) and "*" in loaded.phone_norms


def test_fit_keeps_signs_and_spreads_scores_like_the_targets():
    rows = [{"good": float(i), "noise": float((i * 7) % 5)} for i in range(40)]
    targets = [50.0 + i for i in range(40)]
    linear = calibrate.fit(rows, targets, {"good": 1, "noise": -1})
    assert linear.weights["good"] > 0
    predicted = [linear(r) for r in rows]
    assert calibrate.pearson(predicted, targets) > 0.95
    # Spread like the targets (sd ≈ 11.5), not shrunk towards their mean.
    assert max(predicted) - min(predicted) > 30
    assert LinearMap.from_dict(linear.to_dict()) == linear


def test_shipped_calibration_loads_and_matches_the_features():
    shipped = load_calibration()
    for level in LEVELS:
        assert set(shipped.maps[level].weights) <= set(FEATURES[level])


def test_evaluation_reports_correlations_with_counts(items):
    report = evaluate.correlations(items, load_calibration())
    assert set(report) == {*LEVELS, "total"}
    assert report["total"]["count"] == 4
    assert report["phone"]["count"] > 20


def test_roc_auc():
    assert evaluate.roc_auc([90, 80, 70], [10, 20]) == 1.0
    assert evaluate.roc_auc([10, 20], [90, 80]) == 0.0
    assert evaluate.roc_auc([50], [50]) == 0.5


def test_evaluation_checks_the_monotone_measure_against_the_experts(items):
    report = evaluate.monotone_check(items)
    assert report["utterances"] == 4
    assert 0 <= report["flagged"] <= 4 and 0 <= report["low_prosody"] <= 4
    assert set(report) >= {"pearson_pitch_sd_prosody", "auc_pitch_sd_low_prosody"}


def test_evaluation_can_keep_only_speakers_the_calibration_never_saw(items, tmp_path):
    utterances = [u for u, _ in items]
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"speaker_ids": [utterances[0].speaker]}), encoding="utf-8")
    unseen = evaluate.unseen_speakers(utterances, path)
    assert [u.utt for u in unseen] == [u.utt for u in utterances[1:]]
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit):
        evaluate.unseen_speakers(utterances, path)


def test_shipped_calibration_lists_its_speakers():
    shipped = json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))
    assert len(shipped["speaker_ids"]) == shipped["speakers"]
    # The test fixtures are an excerpt of the calibration corpus: not unseen speakers.
    assert {u.speaker for u in load_corpus(CORPUS)} <= set(shipped["speaker_ids"])
