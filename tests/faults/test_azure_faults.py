"""Azure misbehaving, seen from a learner's attempt.

A real recording is uploaded through the upload view and processed by the real task with the
Azure engine, against the loopback double (``tests/support/azure_double.py``) scripted to
fail. Whatever Azure does, the attempt ends succeeded (after retries) or failed with a
message a learner can read, and the recording is kept. Client-level behaviour (headers,
backoff arithmetic, token refresh) is tested in ``tests/assessments/engines/azure/``.
"""

from __future__ import annotations

import pytest

from assessments.engines.azure.errors import NOT_RECOGNISED_MESSAGES
from assessments.models import Attempt, AttemptStatus
from tests.faults.helpers import assert_finished_cleanly, run_task, upload
from tests.support.azure_double import (
    broken_json,
    recognition_status,
    reset_connection,
    slow,
    status,
    success,
    truncated_body,
)

SPOKEN = "Good morning, how are you today?"
TECHNICAL_WORDS = ("HTTP", "Azure", "JSON", "401", "403", "429", "500", "503", "key", "token",
                   "Traceback", "Exception", "Error:")

pytestmark = pytest.mark.django_db


@pytest.fixture
def azure(azure_double, settings):
    settings.ASSESSMENT_ENGINE = "azure"
    settings.ATTEMPT_MAX_TRIES = 3
    return azure_double


@pytest.fixture
def recording(audio_factory) -> bytes:
    return audio_factory.transcode(audio_factory.speech(SPOKEN), "webm-stream").read_bytes()


@pytest.fixture
def uploaded(client, school, recording, azure) -> Attempt:
    """A queued attempt made through the real upload view (the engine is built later)."""
    client.force_login(school.learner)
    response = upload(client, school.lesson, recording)
    assert response.status_code == 202
    return Attempt.objects.get()


def _assert_learner_message(attempt: Attempt) -> None:
    message = attempt.failure_message
    for word in TECHNICAL_WORDS:
        assert word not in message, f"{word!r} in the learner message {message!r}"


def _assert_succeeded(attempt: Attempt, recording: bytes) -> None:
    assert attempt.status == AttemptStatus.SUCCEEDED, (attempt.failure_code,
                                                       attempt.failure_message)
    assert attempt.engine == "azure"
    assert attempt.pronunciation is not None
    assert attempt.words.count() == len(SPOKEN.split())
    assert attempt.connection_id  # the id of the request that succeeded, for support
    assert_finished_cleanly(attempt, original=recording)


def _assert_failed(attempt: Attempt, recording: bytes, *, code: str) -> None:
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.failure_code == code
    _assert_learner_message(attempt)
    assert_finished_cleanly(attempt, original=recording)


# --- Refusals that retrying cannot fix: one request, then a clear failure -----------------


@pytest.mark.parametrize(
    ("code", "failure_code", "says"),
    [
        (400, "azure_bad_request", "record it again"),
        (401, "azure_unauthorized", "tell your teacher"),
        (403, "azure_forbidden", "tell your teacher"),
    ],
)
def test_refusal_fails_at_once_with_a_clear_message(uploaded, azure, recording, code,
                                                    failure_code, says):
    azure.enqueue(status(code))
    attempt = run_task(uploaded)
    _assert_failed(attempt, recording, code=failure_code)
    assert says in attempt.failure_message
    assert len(azure.requests) == 1, "a refusal must not be retried"
    assert attempt.tries == 1


# --- Transient faults: retried, then the attempt succeeds ------------------------------------


@pytest.mark.parametrize(
    "behaviours",
    [
        pytest.param([status(429, retry_after="1")], id="429-retry-after"),
        pytest.param([status(429)], id="429-no-retry-after"),
        pytest.param([status(429), status(429), status(429)], id="429-three-times"),
        pytest.param([status(500)], id="500"),
        pytest.param([status(503, retry_after="0")], id="503"),
        pytest.param([slow(2.0)], id="read-timeout"),
        pytest.param([reset_connection(after_bytes=1024)], id="reset-mid-upload"),
        pytest.param([reset_connection(after_bytes=0)], id="reset-before-upload"),
        pytest.param([truncated_body()], id="truncated-body"),
        pytest.param([recognition_status("Error")], id="recognition-status-error"),
        pytest.param([status(503), reset_connection(), slow(2.0)], id="mixed"),
    ],
)
def test_transient_fault_then_success(uploaded, azure, recording, settings, behaviours):
    settings.AZURE_SPEECH_READ_TIMEOUT = 0.5
    azure.enqueue(*behaviours, success())
    attempt = run_task(uploaded)
    _assert_succeeded(attempt, recording)
    assert len(azure.requests) == len(behaviours) + 1


def test_retry_after_is_honoured(uploaded, azure, recording):
    import time

    azure.enqueue(status(429, retry_after="1"), success())
    started = time.monotonic()
    attempt = run_task(uploaded)
    _assert_succeeded(attempt, recording)
    assert time.monotonic() - started >= 1.0


def test_outage_longer_than_one_try_is_retried_by_the_task(uploaded, azure, recording,
                                                          settings):
    """More failures than the client's own retries: the task re-queues and tries again."""
    settings.AZURE_SPEECH_MAX_ATTEMPTS = 2
    azure.enqueue(status(503), status(503), success())
    attempt = run_task(uploaded)
    _assert_succeeded(attempt, recording)
    assert attempt.tries == 2


# --- Faults that outlast every retry: failed, with an honest message -------------------------


@pytest.mark.parametrize(
    ("behaviour", "failure_code"),
    [
        pytest.param(lambda: status(503), "azure_unavailable", id="503"),
        pytest.param(lambda: status(500), "azure_unavailable", id="500"),
        pytest.param(lambda: status(429, retry_after="0"), "azure_throttled", id="429"),
        pytest.param(lambda: slow(1.0), "azure_timeout", id="timeout"),
        pytest.param(lambda: reset_connection(after_bytes=512), "azure_connection", id="reset"),
        pytest.param(lambda: recognition_status("Error"), "azure_recognition_error",
                     id="recognition-status-error"),
    ],
)
def test_persistent_fault_fails_after_the_last_try(uploaded, azure, recording, settings,
                                                   behaviour, failure_code):
    settings.AZURE_SPEECH_MAX_ATTEMPTS = 2
    settings.AZURE_SPEECH_READ_TIMEOUT = 0.3
    azure.enqueue(*[behaviour() for _ in range(2 * settings.ATTEMPT_MAX_TRIES)])
    attempt = run_task(uploaded)
    _assert_failed(attempt, recording, code=failure_code)
    assert attempt.tries == settings.ATTEMPT_MAX_TRIES
    assert len(azure.requests) == 2 * settings.ATTEMPT_MAX_TRIES
    # Nothing will try again by itself now: the message must not promise that it will.
    assert "we'll try again" not in attempt.failure_message.lower()
    assert "saved" in attempt.failure_message


# --- Answers that cannot be read ---------------------------------------------------------------


def test_invalid_json_fails_with_a_clear_message(uploaded, azure, recording):
    azure.enqueue(broken_json())
    attempt = run_task(uploaded)
    _assert_failed(attempt, recording, code="azure_bad_response")


def test_json_of_the_wrong_shape_fails_with_a_clear_message(uploaded, azure, recording):
    from tests.support.azure_double import respond

    azure.enqueue(respond({"RecognitionStatus": "Success", "NBest": "not a list"}))
    attempt = run_task(uploaded)
    _assert_failed(attempt, recording, code="azure_bad_response")


@pytest.mark.parametrize(
    ("name", "failure_code"),
    [("NoMatch", "no_match"), ("InitialSilenceTimeout", "initial_silence"),
     ("BabbleTimeout", "babble")],
)
def test_nothing_recognised_fails_with_advice_and_is_not_retried(uploaded, azure, recording,
                                                                 name, failure_code):
    azure.enqueue(recognition_status(name))
    attempt = run_task(uploaded)
    _assert_failed(attempt, recording, code=failure_code)
    assert len(azure.requests) == 1
    assert attempt.failure_message == NOT_RECOGNISED_MESSAGES[name][1]


def test_unreachable_service_fails_cleanly(uploaded, azure, recording, settings):
    """Nothing listening at the endpoint (connection refused) is transient, then gives up."""
    from tests.e2e.app import free_port

    settings.AZURE_SPEECH_ENDPOINT = (
        f"http://127.0.0.1:{free_port()}/speech/recognition/conversation/cognitiveservices/v1"
    )
    settings.AZURE_SPEECH_MAX_ATTEMPTS = 2
    attempt = run_task(uploaded)
    _assert_failed(attempt, recording, code="azure_connection")
    assert attempt.tries == settings.ATTEMPT_MAX_TRIES


def test_a_failed_attempt_can_be_reassessed_once_azure_is_back(uploaded, azure, recording):
    from assessments.services import attempt_reassess

    azure.enqueue(status(401))
    attempt = run_task(uploaded)
    assert attempt.status == AttemptStatus.FAILED
    attempt = run_task(attempt_reassess(attempt=attempt))
    _assert_succeeded(attempt, recording)
