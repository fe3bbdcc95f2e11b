"""The offline engine end to end, on real learner speech and synthetic speech."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from assessments.engines.base import AssessmentError, InvalidSettings
from assessments.engines.local import loudness
from assessments.results import (
    AssessmentResult,
    ErrorType,
    Notice,
    NoticeCode,
    RecognitionStatus,
)
from tests.assessments.engines.local.helpers import (
    corpus_wav,
    pcm_of,
    settings_for,
    synthesize,
    wav_of,
)

GOOD = "061210142"  # "HE TOOK UP A BOOK", experts' total 10/10
LONGER = "029810216"  # "I WOULD LIKE TO KNOW YOU"
NUMBERS = "021790043"  # "SEVEN NINE ZERO"


@pytest.fixture(scope="module")
def good_result(engine, corpus) -> AssessmentResult:
    return engine.assess(wav=corpus_wav(GOOD), settings=settings_for(corpus[GOOD]["text"]))


def test_result_shape_is_filled(good_result, corpus):
    result = good_result
    assert result.engine == "local"
    assert result.recognition_status == RecognitionStatus.SUCCESS
    for name in ("accuracy", "fluency", "completeness", "prosody", "pronunciation"):
        value = getattr(result, name)
        assert value is not None and 0.0 <= value <= 100.0, name
        assert result.raw_scores[name] == value
    assert [w.word.upper() for w in result.words] == corpus[GOOD]["text"].split()
    for word in result.words:
        assert 0 <= word.offset_ms < word.offset_ms + word.duration_ms <= result.audio_duration_ms
        assert word.phonemes and word.syllables and word.prosody is not None
        for phoneme in word.phonemes:
            assert phoneme.phoneme.islower() and 0.0 <= phoneme.accuracy <= 100.0
            assert word.offset_ms <= phoneme.offset_ms < word.offset_ms + word.duration_ms
    # Round-trips through storage like every other engine's results.
    assert AssessmentResult.from_dict(result.to_dict()) == result


def test_pronunciation_uses_azure_weighting(good_result):
    parts = sorted(
        [good_result.accuracy, good_result.fluency, good_result.completeness, good_result.prosody]
    )
    expected = round(0.4 * parts[0] + 0.2 * parts[1] + 0.2 * parts[2] + 0.2 * parts[3], 1)
    assert good_result.pronunciation == pytest.approx(expected, abs=0.11)


def test_correct_text_scores_higher_than_wrong_text(engine, corpus, good_result):
    wrong = engine.assess(
        wav=corpus_wav(GOOD), settings=settings_for("she sells sea shells by the shore")
    )
    # Forced alignment places the wrong words on the speech, so it is scored (not NoMatch).
    assert wrong.recognition_status == RecognitionStatus.SUCCESS
    assert wrong.accuracy < good_result.accuracy - 10
    assert wrong.pronunciation < good_result.pronunciation


def test_replaced_word_is_flagged_and_ranked_last(engine, corpus):
    words = corpus[LONGER]["text"].lower().split()  # i would like to know you
    changed = 2
    words[changed] = "elephant"
    result = engine.assess(wav=corpus_wav(LONGER), settings=settings_for(" ".join(words)))
    target = result.words[changed]
    assert target.word == "elephant"
    assert target.error_type in (ErrorType.MISPRONUNCIATION, ErrorType.OMISSION)
    others = [w.accuracy for i, w in enumerate(result.words) if i != changed]
    assert (target.accuracy or 0.0) < min(others)


def test_word_cut_from_audio_is_an_omission(engine, corpus):
    full = engine.assess(wav=corpus_wav(LONGER), settings=settings_for(corpus[LONGER]["text"]))
    last = full.words[-1]
    samples = pcm_of(corpus_wav(LONGER))
    cut = samples[: last.offset_ms * 16]
    # Keep a natural end: a short stretch of room noise from the recording's start.
    tail = samples[: 16 * 300]
    result = engine.assess(
        wav=wav_of(np.concatenate([cut, tail])), settings=settings_for(corpus[LONGER]["text"])
    )
    assert result.words[-1].error_type == ErrorType.OMISSION
    assert result.words[-1].accuracy is None
    assert result.completeness < 100.0
    assert all(w.error_type != ErrorType.OMISSION for w in result.words[:-1])


def test_without_miscue_no_word_is_omitted(engine, corpus):
    full = engine.assess(wav=corpus_wav(LONGER), settings=settings_for(corpus[LONGER]["text"]))
    samples = pcm_of(corpus_wav(LONGER))
    cut = np.concatenate([samples[: full.words[-1].offset_ms * 16], samples[: 16 * 300]])
    result = engine.assess(
        wav=wav_of(cut), settings=settings_for(corpus[LONGER]["text"], enable_miscue=False)
    )
    assert all(w.error_type not in (ErrorType.OMISSION, ErrorType.INSERTION) for w in result.words)
    assert len(result.words) == len(corpus[LONGER]["text"].split())
    assert result.words[-1].accuracy is not None
    # Completeness still counts the word that was not said.
    assert result.completeness < 100.0


def test_numbers_in_the_text_are_read_as_words(engine, corpus):
    as_words = engine.assess(wav=corpus_wav(NUMBERS), settings=settings_for("seven nine zero"))
    as_digits = engine.assess(wav=corpus_wav(NUMBERS), settings=settings_for("7 9 0"))
    assert [w.word for w in as_digits.words] == ["7", "9", "0"]
    assert as_digits.accuracy == as_words.accuracy
    assert [p.phoneme for p in as_digits.words[0].phonemes] == ["s", "eh", "v", "ah", "n"]


def test_five_point_keeps_hundred_scale_fields(engine, corpus, good_result):
    result = engine.assess(
        wav=corpus_wav(GOOD),
        settings=settings_for(corpus[GOOD]["text"], grading_system="FivePoint"),
    )
    assert result.grading_system == "FivePoint"
    for name, raw in result.raw_scores.items():
        assert 0.0 <= raw <= 5.0
        assert getattr(result, name) == pytest.approx(raw * 20.0, abs=0.01)
        assert getattr(result, name) == pytest.approx(getattr(good_result, name), abs=0.2)


def test_basic_dimension_is_accuracy_only(engine, corpus):
    result = engine.assess(
        wav=corpus_wav(GOOD), settings=settings_for(corpus[GOOD]["text"], dimension="Basic")
    )
    assert result.accuracy is not None
    assert (result.fluency, result.completeness, result.prosody) == (None, None, None)
    assert result.pronunciation == result.accuracy
    assert all(w.error_type == ErrorType.NONE and w.prosody is None for w in result.words)


def test_granularity_word_and_full_text(engine, corpus):
    text = corpus[GOOD]["text"]
    word = engine.assess(wav=corpus_wav(GOOD), settings=settings_for(text, granularity="Word"))
    assert word.words and all(not w.phonemes and not w.syllables for w in word.words)
    full = engine.assess(wav=corpus_wav(GOOD), settings=settings_for(text, granularity="FullText"))
    assert full.words == [] and full.accuracy == word.accuracy


def test_ipa_alphabet_and_candidates(engine, corpus):
    result = engine.assess(
        wav=corpus_wav(GOOD),
        settings=settings_for(corpus[GOOD]["text"], phoneme_alphabet="IPA", nbest_phoneme_count=3),
    )
    book = result.words[-1]
    assert [p.phoneme for p in book.phonemes] == ["b", "ʊ", "k"]
    assert all(1 <= len(p.candidates) <= 3 for p in book.phonemes)


def test_other_locales_need_azure(engine, corpus):
    with pytest.raises(AssessmentError) as raised:
        engine.assess(
            wav=corpus_wav(GOOD),
            settings=settings_for("Guten Morgen", locale="de-DE", enable_prosody=False),
        )
    assert raised.value.code == "locale_unsupported"
    assert "Azure" in raised.value.learner_message
    assert not raised.value.retryable


def test_silence_is_initial_silence_timeout(engine):
    silence = wav_of(np.zeros(16000 * 2, dtype=np.int16))
    result = engine.assess(wav=silence, settings=settings_for("hello world"))
    assert result.recognition_status == RecognitionStatus.INITIAL_SILENCE_TIMEOUT
    assert result.words == [] and result.accuracy is None


def test_noise_does_not_crash_and_scores_low(engine, good_result):
    noise = np.random.default_rng(7).normal(0, 3000, 16000 * 2).astype(np.int16)
    result = engine.assess(wav=wav_of(noise), settings=settings_for("he took up a book"))
    # Loud enough not to be silence, and the wide beams align the text to it: scored, badly.
    assert result.recognition_status == RecognitionStatus.SUCCESS
    assert len(result.words) == 5
    assert result.accuracy < good_result.accuracy - 30
    assert any(w.error_type == ErrorType.MISPRONUNCIATION for w in result.words)
    # Noise has no speech-to-background contrast, so the learner is told miscues went unchecked.
    assert [n.code for n in result.notices] == [NoticeCode.MISCUE_UNCHECKED_NOISY]


def test_not_a_wav_is_refused(engine):
    with pytest.raises(AssessmentError) as raised:
        engine.assess(wav=b"definitely not audio", settings=settings_for("hello"))
    assert raised.value.code == "not_audio"


def test_two_threads_get_the_same_results_as_one(engine, corpus, good_result):
    results: dict[str, AssessmentResult] = {}

    def run(utt: str) -> None:
        wav, settings = corpus_wav(utt), settings_for(corpus[utt]["text"])
        results[utt] = engine.assess(wav=wav, settings=settings)

    threads = [threading.Thread(target=run, args=(utt,)) for utt in (GOOD, LONGER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[GOOD] == good_result
    alone = engine.assess(wav=corpus_wav(LONGER), settings=settings_for(corpus[LONGER]["text"]))
    assert results[LONGER] == alone


def test_synthetic_reading_with_an_extra_word_reports_an_insertion(engine):
    wav = synthesize("The cat sat on the mat. Banana. Then it went to sleep.")
    result = engine.assess(
        wav=wav, settings=settings_for("The cat sat on the mat. Then it went to sleep.")
    )
    assert ErrorType.INSERTION in [w.error_type for w in result.words]
    reference = [w for w in result.words if w.error_type != ErrorType.INSERTION]
    expected = ["The", "cat", "sat", "on", "the", "mat", "Then", "it", "went", "to", "sleep"]
    assert [w.word for w in reference] == expected
    assert all(w.error_type != ErrorType.OMISSION for w in reference)
    # The extra word sits where it was said: between "mat" and "Then".
    types = [w.error_type for w in result.words]
    assert types.index(ErrorType.INSERTION) == 6


def test_a_long_pause_is_an_unexpected_break_and_costs_fluency(engine, corpus, good_result):
    samples = pcm_of(corpus_wav(GOOD))
    split = good_result.words[2].offset_ms * 16  # before "up"
    quiet = np.random.default_rng(3).normal(0, 20, 16 * 900).astype(np.int16)
    paused = np.concatenate([samples[:split], quiet, samples[split:]])
    result = engine.assess(wav=wav_of(paused), settings=settings_for(corpus[GOOD]["text"]))
    up = result.words[2]
    assert up.prosody.break_length_ms >= 800
    assert ErrorType.UNEXPECTED_BREAK in up.prosody.break_error_types
    assert result.fluency < good_result.fluency
    assert all(w.error_type != ErrorType.OMISSION for w in result.words)


@pytest.mark.parametrize(
    ("text", "named"), [("He took up a book 日本", '"日本"'), ("Ελα εδώ", '"Ελα", "εδώ"')]
)
def test_a_word_without_pronunciation_refuses_the_text_before_any_audio_work(engine, text, named):
    # Not even a WAV: the text is refused first, so the audio is never read.
    with pytest.raises(InvalidSettings) as raised:
        engine.assess(wav=b"not audio", settings=settings_for(text))
    assert raised.value.code == "invalid_settings" and not raised.value.retryable
    assert named in raised.value.operator_message
    assert "teacher" in raised.value.learner_message


def test_a_text_with_no_words_is_refused(engine):
    with pytest.raises(InvalidSettings):
        engine.assess(wav=corpus_wav(GOOD), settings=settings_for("… — !"))


def test_spelled_out_symbols_are_aligned_not_skipped(engine, corpus):
    # "½" is read "one half"; the learner did not say it, so it is an omission of a word
    # that was aligned like every other (not a word left out of the alignment).
    result = engine.assess(wav=corpus_wav(GOOD), settings=settings_for(corpus[GOOD]["text"] + " ½"))
    assert [w.word for w in result.words][-1] == "½"
    assert all(w.error_type != ErrorType.OMISSION for w in result.words[:-1])


def test_monotone_is_a_confidence_not_an_error_type(good_result):
    for word in good_result.words:
        assert word.prosody.monotone_confidence is not None
        assert word.prosody.intonation_error_types == []
        assert word.error_type != ErrorType.MONOTONE


def _noisy(wav: bytes, *, rms: float, seed: int = 1) -> bytes:
    """``wav`` with loud white noise mixed in, as a learner in a noisy room would record it."""
    samples = pcm_of(wav).astype(np.float64)
    noise = np.random.default_rng(seed).normal(0, rms, samples.size)
    return wav_of(np.clip(samples + noise, -32768, 32767))


def _contrast_db(wav: bytes) -> float:
    return loudness.contrast_db(loudness.frame_levels(pcm_of(wav) / 32768.0))


def test_noisy_recording_tells_the_learner_miscues_were_not_checked(engine, corpus, caplog):
    noisy = _noisy(corpus_wav(GOOD), rms=2500)
    # The engine's own threshold decides the switch-off; make sure this recording is under it.
    assert _contrast_db(noisy) < loudness.MIN_CONTRAST_DB - 2
    # "again" is not in the recording: it would be an omission if miscues could be checked.
    settings = settings_for(corpus[GOOD]["text"] + " again")
    with caplog.at_level(logging.WARNING, logger="assessments.engines.local.engine"):
        result = engine.assess(wav=noisy, settings=settings)

    assert result.recognition_status == RecognitionStatus.SUCCESS
    assert result.notices == [
        Notice(
            code=NoticeCode.MISCUE_UNCHECKED_NOISY,
            message=(
                "There was a lot of background noise, so missing or extra words could not be "
                "checked. Try again somewhere quieter for a full check."
            ),
        )
    ]
    types = {w.error_type for w in result.words}
    assert ErrorType.OMISSION not in types and ErrorType.INSERTION not in types
    assert "omission/insertion detection skipped" in caplog.text
    # The notice is part of the stored shape.
    assert AssessmentResult.from_dict(result.to_dict()).notices == result.notices


def test_clean_recording_has_no_notice(engine, corpus, good_result, caplog):
    assert _contrast_db(corpus_wav(GOOD)) > loudness.MIN_CONTRAST_DB + 10
    assert good_result.notices == []
    # The same check, with a word left out, still finds the omission.
    with caplog.at_level(logging.WARNING, logger="assessments.engines.local.engine"):
        result = engine.assess(
            wav=corpus_wav(GOOD), settings=settings_for(corpus[GOOD]["text"] + " again")
        )
    assert result.notices == []
    assert result.words[-1].error_type == ErrorType.OMISSION
    assert "omission/insertion detection skipped" not in caplog.text


@pytest.mark.parametrize("overrides", [{"enable_miscue": False}, {"dimension": "Basic"}])
def test_no_notice_when_miscues_were_not_asked_for(engine, corpus, overrides):
    result = engine.assess(
        wav=_noisy(corpus_wav(GOOD), rms=2500),
        settings=settings_for(corpus[GOOD]["text"], **overrides),
    )
    assert result.recognition_status == RecognitionStatus.SUCCESS
    assert result.notices == []
