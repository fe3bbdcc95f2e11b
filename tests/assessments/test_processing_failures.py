"""What an attempt keeps when assessing it fails: the learner's reason, and for staff the
operator detail and the X-ConnectionId support asks for.

The Azure runs go through the real engine and HTTP to the loopback double; the offline side
is a scripted engine registered as ``local``. Conversion runs for real.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assessments import engines, services
from assessments.engines.azure.errors import LEARNER_SETUP, LEARNER_TRY_LATER
from assessments.engines.base import RECOGNITION_FAILURES, AssessmentError
from assessments.models import Attempt, AttemptStatus
from assessments.results import AssessmentResult, RecognitionStatus, WordAssessment
from tests.support.azure_double import broken_json, recognition_status, status

S = AttemptStatus
TEXT = "Good morning, how are you today?"


@pytest.fixture
def queued(school, audio_factory, memory_broker) -> Attempt:
    speech = audio_factory.speech(TEXT)
    return services.attempt_create(
        learner=school.learner, lesson=school.lesson,
        upload=SimpleUploadedFile("a.wav", speech.read_bytes(), content_type="audio/wav"),
    )


@pytest.fixture
def azure(settings, azure_double):
    settings.ASSESSMENT_ENGINE = "azure"
    return azure_double


class StatusOnlyEngine:
    """An offline-style engine that answers every recording with one recognition status."""

    name = "local"

    def __init__(self, recognition: str) -> None:
        self.recognition = recognition

    def assess(self, *, wav, settings) -> AssessmentResult:
        return AssessmentResult(engine=self.name, recognition_status=self.recognition)


@pytest.fixture
def use_local(settings):
    """``use_local(engine)`` makes ``engine`` the configured one, as the offline engine."""
    saved = engines._instances.pop("local", None)

    def use(engine):
        settings.ASSESSMENT_ENGINE = "local"
        engines._instances["local"] = engine
        return engine

    yield use
    engines._instances.pop("local", None)
    if saved is not None:
        engines._instances["local"] = saved


def process(attempt: Attempt) -> Attempt:
    services.attempt_process(attempt_id=attempt.pk)
    return Attempt.objects.get(pk=attempt.pk)


def test_a_rejected_key_is_stored_with_the_fix_and_the_connection_id(settings, azure, queued):
    settings.AZURE_SPEECH_KEY = "not-the-key-at-all"

    attempt = process(queued)

    assert (attempt.status, attempt.failure_code) == (S.FAILED, "azure_unauthorized")
    assert attempt.failure_message == LEARNER_SETUP
    assert attempt.connection_id == azure.last_request.connection_id
    assert "AZURE_SPEECH_KEY" in attempt.failure_detail
    assert "AZURE_SPEECH_REGION" in attempt.failure_detail
    assert attempt.connection_id in attempt.failure_detail
    assert "not-the-key-at-all" not in attempt.failure_detail


def test_unreadable_answer_keeps_the_detail_and_the_connection_id(azure, queued):
    azure.enqueue(broken_json())

    attempt = process(queued)

    assert (attempt.status, attempt.failure_code) == (S.FAILED, "azure_bad_response")
    assert "invalid JSON" in attempt.failure_detail
    assert attempt.connection_id == azure.last_request.connection_id


def test_a_requeued_attempt_keeps_the_last_reason_and_connection_id(settings, azure, queued):
    settings.AZURE_SPEECH_MAX_ATTEMPTS = 2
    azure.enqueue(status(503), status(503))

    attempt = process(queued)

    assert (attempt.status, attempt.failure_code) == (S.QUEUED, "azure_unavailable")
    assert attempt.failure_message == ""  # the learner still sees "queued"
    assert attempt.connection_id == azure.last_request.connection_id
    assert "HTTP 503" in attempt.failure_detail and "after 2 attempts" in attempt.failure_detail
    assert all(r.connection_id in attempt.failure_detail for r in azure.requests)


def test_out_of_tries_keeps_the_last_reason_for_the_operator(settings, azure, queued):
    settings.ATTEMPT_MAX_TRIES = 1
    settings.AZURE_SPEECH_MAX_ATTEMPTS = 1
    azure.enqueue(status(429))

    attempt = process(queued)

    assert (attempt.status, attempt.failure_code) == (S.FAILED, "azure_throttled")
    assert attempt.failure_message == services.GAVE_UP_MESSAGE
    assert "throttled (429)" in attempt.failure_detail
    assert attempt.connection_id == azure.last_request.connection_id


def test_giving_up_names_the_last_failure(db, queued):
    Attempt.objects.filter(pk=queued.pk).update(
        tries=3, failure_code="azure_timeout", failure_detail="Azure request timed out."
    )

    assert services.attempt_process(attempt_id=queued.pk).status == services.SKIPPED

    attempt = Attempt.objects.get(pk=queued.pk)
    assert (attempt.status, attempt.failure_code) == (S.FAILED, "gave_up")
    assert attempt.failure_detail == (
        "Out of tries (3). Last failure: [azure_timeout] Azure request timed out."
    )


@pytest.mark.parametrize(
    "recognition",
    [
        RecognitionStatus.NO_MATCH,
        RecognitionStatus.INITIAL_SILENCE_TIMEOUT,
        RecognitionStatus.BABBLE_TIMEOUT,
    ],
)
def test_nothing_recognised_fails_the_same_way_for_both_engines(
    recognition, azure, queued, school, audio_factory, memory_broker, use_local
):
    azure.enqueue(recognition_status(recognition))
    by_azure = process(queued)
    use_local(StatusOnlyEngine(recognition))
    by_local = process(
        services.attempt_create(
            learner=school.learner, lesson=school.lesson,
            upload=SimpleUploadedFile(
                "b.wav", audio_factory.speech(TEXT).read_bytes(), content_type="audio/wav"
            ),
        )
    )

    code, message = RECOGNITION_FAILURES[recognition]
    for attempt in (by_azure, by_local):
        assert (attempt.status, attempt.failure_code) == (S.FAILED, code)
        assert attempt.failure_message == message
        assert attempt.recognition_status == recognition
        assert recognition in attempt.failure_detail
        assert not attempt.words.exists()
    assert len(azure.requests) == 1  # an answer, not retried
    assert by_azure.connection_id == azure.last_request.connection_id
    assert by_azure.connection_id in by_azure.failure_detail
    assert (by_azure.engine, by_local.engine) == ("azure", "local")


def test_a_crash_names_the_exception_class_but_not_its_text(queued, use_local):
    class Crashing:
        name = "local"

        def assess(self, *, wav, settings):
            raise RuntimeError("secret-looking text from somewhere")

    use_local(Crashing())

    attempt = process(queued)

    assert (attempt.failure_code, attempt.failure_message) == (
        "internal_error", services.INTERNAL_ERROR_MESSAGE,
    )
    assert "RuntimeError" in attempt.failure_detail
    assert "secret-looking" not in attempt.failure_detail


def test_success_after_a_retry_clears_the_failure(queued, use_local):
    class FlakyOnce:
        name = "local"
        calls = 0

        def assess(self, *, wav, settings):
            self.calls += 1
            if self.calls == 1:
                raise AssessmentError("busy", LEARNER_TRY_LATER, operator_message="x",
                                      retryable=True)
            return AssessmentResult(engine="local", accuracy=90.0,
                                    words=[WordAssessment(word="Good", accuracy=90.0)])

    use_local(FlakyOnce())

    assert process(queued).failure_detail == "x"
    attempt = process(queued)

    assert attempt.status == S.SUCCEEDED
    assert (attempt.failure_code, attempt.failure_message, attempt.failure_detail) == ("", "", "")


def test_staff_see_the_detail_read_only_and_learners_never_do(client, school, settings, azure,
                                                              queued):
    settings.AZURE_SPEECH_KEY = "not-the-key-at-all"
    attempt = process(queued)
    school.admin.is_staff = school.admin.is_superuser = True
    school.admin.save()

    client.force_login(school.admin)
    page = client.get(reverse("admin:assessments_attempt_change", args=[attempt.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="failure_detail"' not in html  # read-only: shown, never an input
    assert "AZURE_SPEECH_KEY" in html and attempt.connection_id in html
    found = client.get(reverse("admin:assessments_attempt_changelist"),
                       {"q": attempt.connection_id})
    assert str(attempt.public_id) in found.content.decode()

    client.force_login(school.learner)
    for name in ("attempt-detail", "attempt-status"):
        learner_html = client.get(
            reverse(name, args=[attempt.public_id]), headers={"HX-Request": "true"}
        ).content.decode()
        assert attempt.failure_message in learner_html.replace("&#x27;", "'")
        assert "AZURE_SPEECH_KEY" not in learner_html
        assert attempt.connection_id not in learner_html
