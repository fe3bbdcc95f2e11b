"""The engine end to end against the loopback double: requests, results, every failure."""

from __future__ import annotations

import base64
import json
import random

import pytest

from assessments.engines.azure import (
    AzureBadResponse,
    AzureConfigurationError,
    AzureUnavailable,
)
from assessments.engines.azure.errors import LEARNER_AUDIO, LEARNER_SETUP
from assessments.engines.base import AssessmentError, AssessmentSettings, InvalidSettings
from assessments.results import ErrorType, RecognitionStatus, to_hundred
from tests.support.azure_double import (
    broken_json,
    recognition_status,
    reset_connection,
    respond,
    slow,
    status,
    success,
    truncated_body,
)

from .conftest import make_wav
from .test_request import TRICKY


def test_streamed_request_follows_the_contract(make_engine, wav, reading, azure_double):
    result = make_engine().assess(wav=wav, settings=reading)

    sent = azure_double.last_request
    assert sent.chunked and len(sent.chunk_sizes) > 1
    assert sent.header("Expect") == "100-continue"
    assert sent.body == wav
    assert sent.query == {"language": ["en-US"], "format": ["detailed"]}
    assert sent.assessment["ReferenceText"] == reading.reference_text
    assert sent.assessment["Dimension"] == "Comprehensive"
    assert sent.header("Ocp-Apim-Subscription-Key") == azure_double.key
    assert result.connection_id == sent.connection_id
    assert result.engine == "azure" and result.succeeded
    assert result.audio_duration_ms == 1500


def test_result_reflects_the_service_answer(make_engine, wav, azure_double):
    settings = AssessmentSettings(
        reference_text="Think three things through",
        grading_system="FivePoint",
        phoneme_alphabet="IPA",
        nbest_phoneme_count=3,
    )

    result = make_engine().assess(wav=wav, settings=settings)

    answer = azure_double.last_request.response_json["NBest"][0]
    assert result.raw_scores["accuracy"] == answer["AccuracyScore"]
    assert result.accuracy == to_hundred(answer["AccuracyScore"], "FivePoint")
    assert result.prosody == to_hundred(answer["ProsodyScore"], "FivePoint")
    assert [w.word for w in result.words] == [w["Word"] for w in answer["Words"]]
    first = result.words[0]
    assert [p.phoneme for p in first.phonemes] == [
        p["Phoneme"] for p in answer["Words"][0]["Phonemes"]
    ]
    assert all(len(p.candidates) == 3 for p in first.phonemes)
    assert first.syllables and first.prosody is not None


def test_whole_body_when_streaming_is_off(settings, make_engine, wav, reading, azure_double):
    settings.AZURE_SPEECH_STREAM = False

    make_engine().assess(wav=wav, settings=reading)

    sent = azure_double.last_request
    assert not sent.chunked
    assert sent.header("Content-Length") == str(len(wav))
    assert sent.header("Expect") is None
    assert sent.body == wav


def test_unicode_and_quotes_reach_the_service_intact(make_engine, wav, azure_double):
    result = make_engine().assess(
        wav=wav, settings=AssessmentSettings(reference_text=TRICKY, enable_prosody=True)
    )

    raw = base64.b64decode(azure_double.last_request.header("Pronunciation-Assessment"))
    assert json.loads(raw.decode("utf-8"))["ReferenceText"] == TRICKY
    assert result.recognized_text == TRICKY
    assert "naïve" in [w.word for w in result.words]


def test_profanity_cid_and_locale_go_in_the_query(settings, make_engine, wav, azure_double):
    settings.AZURE_SPEECH_PROFANITY = "raw"
    settings.AZURE_SPEECH_CID = "c0ffee"

    make_engine().assess(
        wav=wav,
        settings=AssessmentSettings(reference_text="Bonjour", locale="fr-FR", enable_prosody=False),
    )

    assert azure_double.last_request.query == {
        "language": ["fr-FR"],
        "format": ["detailed"],
        "profanity": ["raw"],
        "cid": ["c0ffee"],
    }


def test_invalid_settings_never_reach_the_service(make_engine, wav, azure_double):
    with pytest.raises(InvalidSettings):
        make_engine().assess(
            wav=wav,
            settings=AssessmentSettings(
                reference_text="Hallo", locale="de-DE", enable_prosody=True
            ),
        )
    assert azure_double.requests == []


def test_long_audio_is_trimmed_and_flagged(make_engine, reading, azure_double):
    result = make_engine().assess(wav=make_wav(seconds=31), settings=reading)

    assert result.trimmed
    assert azure_double.last_request.audio_seconds == 30.0


@pytest.mark.parametrize("status_name", ["NoMatch", "InitialSilenceTimeout", "BabbleTimeout"])
def test_no_usable_speech_is_returned_as_a_result_without_scores(
    status_name, make_engine, wav, reading, azure_double, clock
):
    azure_double.enqueue(recognition_status(status_name))

    result = make_engine().assess(wav=wav, settings=reading)

    assert result.recognition_status == status_name and not result.succeeded
    assert result.engine == "azure"
    assert result.scores() == dict.fromkeys(result.scores())
    assert result.words == [] and result.raw_scores == {}
    assert result.connection_id == azure_double.last_request.connection_id
    assert result.audio_duration_ms == 1500
    assert len(azure_double.requests) == 1 and clock.sleeps == []  # an answer: not retried


def test_success_with_nothing_recognised_is_a_no_match(make_engine, wav, reading, azure_double):
    # profanity=removed on all-profanity audio: Success, but no NBest to assess.
    azure_double.enqueue(respond({"RecognitionStatus": "Success", "Offset": 0, "Duration": 0}))

    result = make_engine().assess(wav=wav, settings=reading)

    assert result.recognition_status == RecognitionStatus.NO_MATCH
    assert result.connection_id == azure_double.last_request.connection_id


def test_recognition_status_error_is_retried(make_engine, wav, reading, azure_double, clock):
    azure_double.enqueue(recognition_status("Error"))

    result = make_engine().assess(wav=wav, settings=reading)

    assert result.succeeded
    assert len(azure_double.requests) == 2 and len(clock.sleeps) == 1


def test_recognition_status_error_everywhere_ends_retryable(
    make_engine, wav, reading, azure_double, clock
):
    azure_double.enqueue(*[recognition_status(RecognitionStatus.ERROR)] * 4)

    with pytest.raises(AzureUnavailable) as caught:
        make_engine().assess(wav=wav, settings=reading)

    assert caught.value.retryable and caught.value.code == "azure_recognition_error"
    assert len(azure_double.requests) == 4
    ids = [r.connection_id for r in azure_double.requests]
    assert caught.value.connection_ids == ids and len(set(ids)) == 4
    assert all(i in caught.value.operator_message for i in ids)


@pytest.mark.parametrize(
    ("code", "error_code", "hint"),
    [
        (400, "azure_bad_request", "audio"),
        (401, "azure_unauthorized", "AZURE_SPEECH_KEY"),
        (403, "azure_forbidden", "missing"),
    ],
)
def test_client_errors_are_not_retried(
    code, error_code, hint, make_engine, wav, reading, azure_double, clock
):
    azure_double.enqueue(status(code))

    with pytest.raises(AzureConfigurationError) as caught:
        make_engine().assess(wav=wav, settings=reading)

    error = caught.value
    assert (error.code, error.retryable, error.http_status) == (error_code, False, code)
    assert hint in error.operator_message
    assert len(azure_double.requests) == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    ("service_message", "learner_message", "hint", "not_hinted"),
    [
        ("Unsupported audio format", LEARNER_AUDIO, "16 kHz mono", "language"),
        ("The language parameter is missing or invalid.", LEARNER_SETUP, "locale", "16 kHz"),
        ("Bad request.", LEARNER_AUDIO, "unsupported audio", None),
    ],
)
def test_a_400_names_the_fault_the_service_reported(
    service_message, learner_message, hint, not_hinted, make_engine, wav, reading, azure_double
):
    azure_double.enqueue(status(400, message=service_message))

    with pytest.raises(AzureConfigurationError) as caught:
        make_engine().assess(wav=wav, settings=reading)

    error = caught.value
    assert (error.code, error.http_status) == ("azure_bad_request", 400)
    assert error.learner_message == learner_message
    hint_part = error.operator_message.split(" Service said:")[0]
    assert hint in hint_part
    if not_hinted:
        assert not_hinted not in hint_part
    assert f"Service said: {service_message}" in error.operator_message


def test_a_wrong_key_is_an_operator_error(settings, make_engine, wav, reading, azure_double):
    settings.AZURE_SPEECH_KEY = "not-the-key"

    with pytest.raises(AzureConfigurationError) as caught:
        make_engine().assess(wav=wav, settings=reading)

    assert caught.value.code == "azure_unauthorized"
    assert azure_double.last_request.response_status == 401


def test_429_honours_retry_after_then_succeeds(make_engine, wav, reading, azure_double, clock):
    azure_double.enqueue(status(429, retry_after=2))

    result = make_engine().assess(wav=wav, settings=reading)

    assert result.succeeded
    assert clock.sleeps == [2.0]
    assert [r.response_status for r in azure_double.requests] == [429, 200]
    assert result.connection_id == azure_double.requests[1].connection_id


def test_429_without_retry_after_backs_off_exponentially(
    settings, make_engine, wav, reading, azure_double, clock
):
    settings.AZURE_SPEECH_BACKOFF_BASE_SECONDS = 0.4
    azure_double.enqueue(status(429), status(429), status(429))

    result = make_engine().assess(wav=wav, settings=reading)

    assert result.succeeded and len(clock.sleeps) == 3
    # Equal jitter: attempt n waits between half and all of base·2^(n-1).
    for n, slept in enumerate(clock.sleeps, start=1):
        assert 0.4 * 2 ** (n - 1) / 2 <= slept <= 0.4 * 2 ** (n - 1)


def test_retry_after_beyond_the_budget_gives_up_with_the_hint(
    settings, make_engine, wav, reading, azure_double, clock
):
    settings.AZURE_SPEECH_RETRY_BUDGET_SECONDS = 3.0
    azure_double.enqueue(status(429, retry_after=30))

    with pytest.raises(AzureUnavailable) as caught:
        make_engine().assess(wav=wav, settings=reading)

    assert caught.value.retryable and caught.value.retry_after == 30.0
    assert caught.value.code == "azure_throttled"
    assert len(azure_double.requests) == 1 and clock.sleeps == []


@pytest.mark.parametrize("code", [500, 503])
def test_server_errors_are_retried(code, make_engine, wav, reading, azure_double, clock):
    azure_double.enqueue(status(code), status(code))

    result = make_engine().assess(wav=wav, settings=reading)

    assert result.succeeded
    assert [r.response_status for r in azure_double.requests] == [code, code, 200]


def test_persistent_503_exhausts_attempts(settings, make_engine, wav, reading, azure_double):
    settings.AZURE_SPEECH_MAX_ATTEMPTS = 3
    azure_double.enqueue(*[status(503)] * 5)

    with pytest.raises(AzureUnavailable) as caught:
        make_engine().assess(wav=wav, settings=reading)

    assert caught.value.retryable and caught.value.http_status == 503
    assert caught.value.attempts == 3 and len(azure_double.requests) == 3
    assert isinstance(caught.value, AssessmentError)


def test_slow_answer_times_out_then_retries(settings, make_engine, wav, reading, azure_double):
    settings.AZURE_SPEECH_READ_TIMEOUT = 0.2
    azure_double.enqueue(slow(1.0))

    result = make_engine().assess(wav=wav, settings=reading)

    assert result.succeeded
    assert len(azure_double.requests) == 2
    assert result.connection_id == azure_double.requests[1].connection_id


def test_always_slow_ends_in_a_retryable_timeout(settings, make_engine, wav, reading, azure_double):
    settings.AZURE_SPEECH_READ_TIMEOUT = 0.1
    settings.AZURE_SPEECH_MAX_ATTEMPTS = 2
    azure_double.enqueue(slow(1.0), slow(1.0))

    with pytest.raises(AzureUnavailable) as caught:
        make_engine().assess(wav=wav, settings=reading)

    assert caught.value.code == "azure_timeout" and caught.value.retryable


def test_connection_reset_mid_upload_is_retried(make_engine, reading, azure_double):
    wav = make_wav(seconds=4)  # 128 KB: the reset lands while the body is still uploading

    # The first assessment leaves a pooled connection, which the reset then breaks.
    first = make_engine().assess(wav=wav, settings=reading)
    azure_double.enqueue(reset_connection(after_bytes=2048))
    second = make_engine().assess(wav=wav, settings=reading)

    requests = azure_double.requests
    assert [r.behaviour for r in requests] == ["success", "reset_connection", "success"]
    assert first.succeeded and first.connection_id == requests[0].connection_id
    assert first.words and first.pronunciation is not None
    assert second.succeeded and second.connection_id == requests[2].connection_id
    assert second.scores() == first.scores()


def test_connection_refused_is_retryable(settings, make_engine, wav, reading, azure_double):
    azure_double.stop()
    settings.AZURE_SPEECH_MAX_ATTEMPTS = 2

    with pytest.raises(AzureUnavailable) as caught:
        make_engine().assess(wav=wav, settings=reading)

    assert caught.value.code == "azure_connection" and caught.value.retryable


def test_broken_json_is_an_error_not_a_crash(make_engine, wav, reading, azure_double):
    azure_double.enqueue(broken_json())

    with pytest.raises(AzureBadResponse) as caught:
        make_engine().assess(wav=wav, settings=reading)

    assert not caught.value.retryable and "invalid JSON" in caught.value.operator_message
    assert len(azure_double.requests) == 1


def test_truncated_body_is_retried(make_engine, wav, reading, azure_double):
    azure_double.enqueue(truncated_body())

    result = make_engine().assess(wav=wav, settings=reading)

    assert result.succeeded and len(azure_double.requests) == 2


@pytest.mark.parametrize("form", ["flat", "nested", "strings"])
def test_every_response_form_parses_the_same(form, make_engine, wav, reading, azure_double):
    azure_double.enqueue(success(form="flat"), success(form=form))
    engine = make_engine()

    flat = engine.assess(wav=wav, settings=reading)
    other = engine.assess(wav=wav, settings=reading)

    assert other.scores() == flat.scores()
    assert other.words == flat.words


def test_miscue_omissions_and_insertions(make_engine, wav, azure_double):
    azure_double.enqueue(success(omit=["morning"], insert=["um"]))

    result = make_engine().assess(
        wav=wav, settings=AssessmentSettings(reference_text="Good morning everyone")
    )

    kinds = {w.word: w.error_type for w in result.words}
    assert kinds["morning"] == ErrorType.OMISSION and kinds["um"] == ErrorType.INSERTION
    assert result.completeness < 100


def test_break_threshold_setting(settings, make_engine, wav, azure_double):
    settings.AZURE_BREAK_CONFIDENCE_THRESHOLD = 0.5
    azure_double.enqueue(success(breaks={"nice": (0.6, 0.1)}), success(breaks={"nice": (0.6, 0.1)}))
    reading = AssessmentSettings(reference_text="Have a nice day")

    lenient = make_engine().assess(wav=wav, settings=reading)
    settings.AZURE_BREAK_CONFIDENCE_THRESHOLD = 0.75
    strict = make_engine().assess(wav=wav, settings=reading)

    assert {w.word: w.prosody.unexpected_break for w in lenient.words}["nice"] is True
    assert {w.word: w.prosody.unexpected_break for w in strict.words}["nice"] is False


@pytest.mark.parametrize("stream", [True, False])
def test_one_connection_id_per_request_and_keep_alive(
    stream, settings, make_engine, wav, reading, azure_double
):
    settings.AZURE_SPEECH_STREAM = stream
    engine = make_engine()
    results = [engine.assess(wav=wav, settings=reading) for _ in range(3)]

    ids = [r.connection_id for r in results]
    assert ids == [r.connection_id for r in azure_double.requests]
    assert len(set(ids)) == 3
    # One TCP connection for all three: the pooled session kept it alive.
    ports = [r.client_port for r in azure_double.requests]
    assert ports[0] is not None and ports == [ports[0]] * 3


def test_backoff_uses_injected_randomness(settings, azure_double, wav, reading, clock):
    from assessments.engines.azure import AzureEngine

    azure_double.enqueue(status(500))
    engine = AzureEngine.from_settings(sleep=clock.sleep, clock=clock.now, rng=random.Random(7))

    engine.assess(wav=wav, settings=reading)

    expected = random.Random(7).uniform(0, 0.01 / 2) + 0.01 / 2
    assert clock.sleeps == [pytest.approx(expected)]


def test_a_bad_key_on_a_long_streamed_upload_is_still_a_401(
    settings, make_engine, reading, azure_double, clock
):
    # The double refuses the credential instead of sending 100 Continue, while the client is
    # already uploading 20 s of audio: the client must read that 401, not report a broken
    # connection (which would be retried and blamed on the network).
    settings.AZURE_SPEECH_KEY = "not-the-key"

    with pytest.raises(AzureConfigurationError) as caught:
        make_engine().assess(wav=make_wav(seconds=20), settings=reading)

    assert caught.value.code == "azure_unauthorized"
    assert [r.behaviour for r in azure_double.requests] == ["refused_before_continue"]
    assert clock.sleeps == []


def _wav_with_sizes(wav: bytes, *, riff: int, data: int) -> bytes:
    return wav[:4] + riff.to_bytes(4, "little") + wav[8:40] + data.to_bytes(4, "little") + wav[44:]


def _wav_with_list_chunk(wav: bytes) -> bytes:
    info = b"LIST" + (12).to_bytes(4, "little") + b"INFOISFT" + (0).to_bytes(4, "little")
    body = wav[12:36] + info + wav[36:]
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WAVE" + body


@pytest.mark.parametrize(
    ("name", "damage", "seconds"),
    [
        ("cut short", lambda w: w[:-101], 1.5 - 101 / 32000),
        ("streamed header", lambda w: _wav_with_sizes(w, riff=0xFFFFFFFF, data=0xFFFFFFFF), 1.5),
        ("zero sizes", lambda w: _wav_with_sizes(w, riff=0, data=0), 1.5),
        ("LIST chunk", _wav_with_list_chunk, 1.5),
    ],
)
def test_wav_headers_that_disagree_with_the_data_are_repaired(
    name, damage, seconds, make_engine, wav, reading, azure_double
):
    result = make_engine().assess(wav=damage(wav), settings=reading)

    sent = azure_double.last_request
    assert sent.response_status == 200 and sent.violations == [], name
    assert sent.audio_seconds == pytest.approx(seconds, abs=1e-3)
    assert sent.chunk_sizes[0] >= len(sent.body) - int(seconds * 32000)  # header in chunk 1
    assert result.audio_duration_ms == int(seconds * 1000)


def test_every_request_carries_timeouts(azure_double, wav, reading, clock, settings):
    from assessments.engines.azure import AzureEngine
    from assessments.engines.azure.transport import process_session

    settings.AZURE_SPEECH_AUTH = "token"
    seen: list[object] = []

    class Recording:
        def post(self, url, **kwargs):
            seen.append(kwargs.get("timeout"))
            return process_session().post(url, **kwargs)

    engine = AzureEngine.from_settings(
        sleep=clock.sleep, clock=clock.now, session_factory=Recording
    )
    engine.assess(wav=wav, settings=reading)

    assert len(seen) == 2  # issueToken, then the assessment
    assert all(t == (2.0, 5.0) for t in seen)


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_is_honoured_for_throttling_and_outages(
    code, make_engine, wav, reading, azure_double, clock
):
    azure_double.enqueue(status(code, retry_after="1.5"))

    assert make_engine().assess(wav=wav, settings=reading).succeeded
    assert clock.sleeps == [1.5]


def test_prosody_with_full_text_granularity_reaches_the_service(make_engine, wav, azure_double):
    result = make_engine().assess(
        wav=wav, settings=AssessmentSettings(reference_text="Hello there", granularity="FullText")
    )

    sent = azure_double.last_request.assessment
    assert (sent["Granularity"], sent["EnableProsodyAssessment"]) == ("FullText", "True")
    assert result.succeeded and result.prosody is not None


def test_the_request_never_relies_on_azure_defaults(make_engine, wav, azure_double):
    # Left out, Dimension falls back to Basic (no fluency/completeness/ErrorType) and
    # GradingSystem to FivePoint: the client states every one.
    make_engine().assess(wav=wav, settings=AssessmentSettings(reference_text="Hello there"))

    sent = azure_double.last_request.assessment
    assert {"Dimension", "GradingSystem", "Granularity", "EnableMiscue"} <= set(sent)
    assert sent["Dimension"] == "Comprehensive"
    assert azure_double.last_request.tolerated == []
