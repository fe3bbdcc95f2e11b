"""The tasks are thin: what they add to the services is retrying and the crash hook.

``Task.apply`` runs a task in this process (retries included, without their countdown); the
real worker, broker and delivery guarantees are covered in ``tests/integration``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from billiard.einfo import ExceptionInfo
from celery.exceptions import TimeLimitExceeded
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from assessments import engines, services
from assessments.engines.base import AssessmentError
from assessments.models import Attempt, AttemptStatus
from assessments.results import AssessmentResult, WordAssessment
from assessments.tasks import assess_attempt, requeue_stuck_attempts
from tests.factories import AttemptFactory
from tutor.celery import app

S = AttemptStatus


class FlakyEngine:
    """Answers with ``failures`` retryable errors first, then a one-word result."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def assess(self, *, wav, settings):
        self.calls += 1
        if self.calls <= self.failures:
            raise AssessmentError("unavailable", "The scoring service is busy.", retryable=True)
        return AssessmentResult(engine=self.name, accuracy=90.0,
                                words=[WordAssessment(word="Good", accuracy=90.0)])


@pytest.fixture
def use_engine(settings):
    settings.ASSESSMENT_ENGINE = "local"
    saved = engines._instances.pop("local", None)

    def use(engine):
        engines._instances["local"] = engine
        return engine

    yield use
    engines._instances.pop("local", None)
    if saved is not None:
        engines._instances["local"] = saved


@pytest.fixture
def attempt(school, audio_factory, memory_broker) -> Attempt:
    speech = audio_factory.speech("Good morning, how are you today?")
    return services.attempt_create(
        learner=school.learner, lesson=school.lesson,
        upload=SimpleUploadedFile("a.wav", speech.read_bytes(), content_type="audio/wav"),
    )


def test_task_retries_retryable_errors_until_success(attempt, use_engine):
    engine = use_engine(FlakyEngine(failures=1))
    assess_attempt.apply(args=[attempt.pk])
    attempt.refresh_from_db()
    assert (attempt.status, attempt.tries, engine.calls) == (S.SUCCEEDED, 2, 2)


def test_task_retries_are_bounded_by_the_attempts_tries(attempt, use_engine, settings):
    settings.ATTEMPT_MAX_TRIES = 3
    engine = use_engine(FlakyEngine(failures=99))
    assess_attempt.apply(args=[attempt.pk])
    attempt.refresh_from_db()
    assert (attempt.status, attempt.tries, engine.calls) == (S.FAILED, 3, 3)
    assert attempt.failure_message == services.GAVE_UP_MESSAGE


def test_crash_outside_the_service_marks_the_attempt_failed(db):
    """on_failure is the last resort when the task itself blows up (e.g. a database error)."""
    attempt = AttemptFactory(status=S.PROCESSING)
    assess_attempt.on_failure(RuntimeError("boom"), "task-id", (attempt.pk,), {}, None)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.failure_code) == (S.FAILED, "internal_error")
    assert attempt.failure_message == services.INTERNAL_ERROR_MESSAGE


def _hard_time_limit_hit(attempt: Attempt, *, limit: float) -> None:
    """What Celery's worker does when a run outlives ``time_limit``: kill it, then this."""
    try:
        raise TimeLimitExceeded(limit)
    except TimeLimitExceeded as exc:
        assess_attempt.on_failure(exc, "task-id", (attempt.pk,), {}, ExceptionInfo())


def test_hard_time_limit_fails_the_killed_run_with_the_timeout_reason(db):
    limit = 150.0
    attempt = AttemptFactory(status=S.PROCESSING, tries=1, engine="azure",
                             started_at=timezone.now() - timedelta(seconds=limit + 0.2))
    _hard_time_limit_hit(attempt, limit=limit)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.failure_code) == (S.FAILED, "timeout")
    assert attempt.failure_message == services.TOOK_TOO_LONG_MESSAGE
    assert "Hard time limit (150 s)" in attempt.failure_detail
    assert attempt.engine == "azure"


def test_hard_time_limit_spares_a_run_that_took_the_attempt_over(db):
    """A duplicate message started the attempt again 30 s after the killed run did."""
    limit = 150.0
    claim = timezone.now() - timedelta(seconds=limit - 30)
    attempt = AttemptFactory(status=S.PROCESSING, tries=2, started_at=claim)
    _hard_time_limit_hit(attempt, limit=limit)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.started_at, attempt.failure_code) == (
        S.PROCESSING, claim, ""
    )


@pytest.mark.parametrize("status", [S.QUEUED, S.SUCCEEDED, S.FAILED])
def test_hard_time_limit_leaves_a_requeued_or_finished_attempt_alone(db, status):
    attempt = AttemptFactory(status=status, tries=1, failure_code="",
                             started_at=timezone.now() - timedelta(hours=1))
    _hard_time_limit_hit(attempt, limit=150.0)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.failure_code) == (status, "")


def test_delivery_options_survive_a_dying_worker():
    assert assess_attempt.acks_late is True
    assert assess_attempt.reject_on_worker_lost is True
    assert assess_attempt.soft_time_limit == django_settings.ATTEMPT_TASK_SOFT_TIME_LIMIT
    assert assess_attempt.soft_time_limit < assess_attempt.time_limit
    # The sweep must never take over a run that may still be alive.
    assert assess_attempt.time_limit < django_settings.ATTEMPT_STUCK_AFTER_SECONDS
    assert app.conf.worker_prefetch_multiplier == 1


def test_beat_schedules_the_sweep_task_that_exists():
    entry = app.conf.beat_schedule["requeue-stuck-attempts"]
    assert entry["task"] == requeue_stuck_attempts.name
    assert entry["task"] in app.tasks


def test_sweep_task_reports_counts(db, memory_broker):
    AttemptFactory(status=S.QUEUED, queued_at=None)
    result = requeue_stuck_attempts.apply().get()
    assert result == {"requeued": 1, "failed": 0}
