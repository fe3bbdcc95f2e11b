"""An attempt's whole life against real PostgreSQL, Redis and Celery worker processes.

Nothing in the app is patched: uploads go through ``attempt_create``, tasks travel through
Redis to ``celery -A tutor worker`` processes, which convert with ffmpeg and assess with a
real engine — the offline one, or the Azure client talking HTTP to the loopback double.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.utils import timezone

from assessments import services
from assessments.models import AttemptStatus, PhonemeResult, WordResult
from assessments.tasks import assess_attempt
from tests.assessments.test_intake import (
    redis_transport_options,
    unanswered_port,  # noqa: F401 - fixture
)
from tests.factories import AttemptFactory
from tests.integration.conftest import upload, wait_until, worker_env
from tests.support.azure_double import slow, status
from tests.support.broker import celery_broker, sent_tasks
from tests.support.services import free_port
from tutor.celery import app as celery_app

pytestmark = pytest.mark.integration

S = AttemptStatus
FINISHED = {S.SUCCEEDED, S.FAILED}


def test_offline_engine_end_to_end(web, make_worker, learner_and_lesson, speech_upload):
    worker = make_worker(name="local")
    attempt = upload(learner_and_lesson, speech_upload)
    attempt = wait_until(attempt, FINISHED, worker=worker)

    assert attempt.status == S.SUCCEEDED, (attempt.failure_code, worker.log()[-3000:])
    assert attempt.engine == "local"
    assert attempt.tries == 1
    assert attempt.pronunciation is not None
    assert attempt.converted_audio.name.endswith("converted.wav")
    words = WordResult.objects.filter(attempt=attempt)
    assert words.count() == 6
    assert PhonemeResult.objects.filter(attempt=attempt).count() > 6
    assert f"Attempt {attempt.pk} succeeded with local" in worker.log()


def test_azure_throttling_is_retried_by_the_task_then_succeeds(
    web, make_worker, azure, learner_and_lesson, speech_upload
):
    worker = make_worker(name="azure", env=worker_env(azure=azure))
    # Both of the client's own tries are throttled: the task must retry on its own later.
    azure.enqueue(status(429, retry_after=1), status(429, retry_after=1))
    attempt = upload(learner_and_lesson, speech_upload)
    attempt = wait_until(attempt, FINISHED, worker=worker)

    assert attempt.status == S.SUCCEEDED, (attempt.failure_code, worker.log()[-3000:])
    assert (attempt.engine, attempt.tries) == ("azure", 2)
    assert len(attempt.connection_id) == 32
    assert WordResult.objects.filter(attempt=attempt).count() == 6
    assert len(azure.requests) == 3


def test_worker_killed_mid_task_loses_nothing(
    web, make_worker, azure, learner_and_lesson, speech_upload
):
    env = worker_env(azure=azure, CELERY_VISIBILITY_TIMEOUT="3")
    first = make_worker(name="doomed", env=env)
    azure.enqueue(slow(30))  # the engine call hangs: the worker is surely mid-task
    attempt = upload(learner_and_lesson, speech_upload)
    wait_until(attempt, {S.PROCESSING}, worker=first)
    deadline = time.monotonic() + 30
    while not azure.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    first.kill()
    attempt.refresh_from_db()
    assert attempt.status == S.PROCESSING  # the dead worker left it mid-way

    time.sleep(3.5)  # past the visibility timeout: Redis hands the message out again
    second = make_worker(name="rescuer", env=env)
    attempt = wait_until(attempt, FINISHED, worker=second)

    assert attempt.status == S.SUCCEEDED, (attempt.failure_code, second.log()[-3000:])
    assert attempt.tries == 2
    assert WordResult.objects.filter(attempt=attempt).count() == 6
    assert PhonemeResult.objects.filter(attempt=attempt).count() == (
        PhonemeResult.objects.filter(word__attempt=attempt).count()
    )


# Measured on the 2-core dev machine: 0.07–0.09 s refused, 1.01–1.02 s unanswered (one 1 s
# connect try); the bound leaves room for a loaded CI machine.
UPLOAD_ANSWERS_WITHIN_SECONDS = 3.0


@pytest.mark.parametrize("broker_down", ["refused", "unanswered"])
def test_broker_down_at_upload_then_the_sweep_sends_it(
    web, make_worker, azure, learner_and_lesson, speech_upload, broker_down, request
):
    if broker_down == "refused":  # Redis stopped: the host answers, nothing listens
        closed = f"redis://127.0.0.1:{free_port()}/0"
    else:  # the host is down or firewalled: the connection never completes
        closed = f"redis://127.0.0.1:{request.getfixturevalue('unanswered_port')}/0"

    # What tutor/settings.py gives a Redis broker (conftest's copy predates the one short try).
    with celery_broker(closed, transport_options=redis_transport_options()):
        started = time.monotonic()
        attempt = upload(learner_and_lesson, speech_upload)
        took = time.monotonic() - started
    assert took < UPLOAD_ANSWERS_WITHIN_SECONDS, f"the upload waited {took:.2f} s"
    attempt.refresh_from_db()
    assert (attempt.status, attempt.queued_at) == (S.QUEUED, None)

    worker = make_worker(name="after-outage", env=worker_env(azure=azure))
    report = services.attempts_requeue_stuck()  # what the periodic sweep runs
    assert report.requeued == [attempt.pk]
    attempt = wait_until(attempt, FINISHED, worker=worker)
    assert attempt.status == S.SUCCEEDED, (attempt.failure_code, worker.log()[-3000:])
    assert attempt.tries == 1


def test_hard_time_limit_fails_the_attempt_with_the_timeout_reason(
    web, make_worker, azure, learner_and_lesson, speech_upload, monkeypatch
):
    # A 2 s hard limit and no soft limit: the run is killed without a chance to react, as
    # when it is stuck where a soft limit cannot reach it. The sender's limits travel in the
    # message and win over the worker's, so this process (the web server) has them too.
    env = worker_env(azure=azure, ATTEMPT_TASK_TIME_LIMIT="2", ATTEMPT_TASK_SOFT_TIME_LIMIT="0")
    monkeypatch.setattr(assess_attempt, "time_limit", 2)
    monkeypatch.setattr(assess_attempt, "soft_time_limit", None)
    monkeypatch.setattr(assess_attempt, "_exec_options", None)  # Celery's cache of the two
    worker = make_worker(name="limited", env=env)
    azure.enqueue(slow(30))
    attempt = upload(learner_and_lesson, speech_upload)
    attempt = wait_until(attempt, FINISHED, worker=worker)

    assert (attempt.status, attempt.failure_code) == (S.FAILED, "timeout"), worker.log()[-3000:]
    assert attempt.failure_message == services.TOOK_TOO_LONG_MESSAGE
    assert "Hard time limit (2 s)" in attempt.failure_detail
    assert "Hard time limit" in worker.log()  # Celery killed the run

    # The pool replaced the killed process: the next recording is scored as usual.
    second = wait_until(upload(learner_and_lesson, speech_upload), FINISHED, worker=worker)
    assert second.status == S.SUCCEEDED, (second.failure_code, worker.log()[-3000:])


def test_a_sweep_skips_an_attempt_another_sweep_holds(web, pg_database, settings):
    """On PostgreSQL: the other sweep has the row locked and has just re-sent it."""
    settings.ATTEMPT_MAX_TRIES = 3
    lost = AttemptFactory(status=S.QUEUED, tries=1,
                          queued_at=timezone.now() - timedelta(minutes=11))
    try:
        with psycopg.connect(pg_database) as other_sweep:
            other_sweep.execute(
                "SELECT id FROM assessments_attempt WHERE id = %s FOR UPDATE", [lost.pk]
            )
            other_sweep.execute(
                "UPDATE assessments_attempt SET tries = tries + 1, queued_at = now() "
                "WHERE id = %s", [lost.pk],
            )
            # Were this sweep to wait for the lock, it would get it once this commits.
            commit_later = threading.Timer(3.0, other_sweep.commit)
            commit_later.start()
            try:
                started = time.monotonic()
                report = services.attempts_requeue_stuck()
                took = time.monotonic() - started
            finally:
                commit_later.cancel()
                commit_later.join()
        assert (report.requeued, report.failed) == ([], [])
        assert took < 3.0  # it skipped the locked row instead of queueing behind it
        lost.refresh_from_db()
        assert (lost.status, lost.tries) == (S.QUEUED, 2)  # one try used, by the other sweep
        assert services.attempts_requeue_stuck().requeued == []  # and now it is fresh
    finally:
        sent_tasks(celery_app)  # should this fail, no stray message reaches later tests


def test_requeue_of_a_dead_run_does_not_duplicate_rows(
    web, make_worker, azure, learner_and_lesson, speech_upload
):
    """A sweep and a redelivery can both send the same attempt: it is stored once."""
    worker = make_worker(name="dupes", env=worker_env(azure=azure), concurrency=2)
    attempt = upload(learner_and_lesson, speech_upload)
    services.attempt_enqueue(attempt_id=attempt.pk)  # a second message for the same attempt
    attempt = wait_until(attempt, FINISHED, worker=worker)
    time.sleep(1.0)  # let the second message be handled too
    attempt.refresh_from_db()
    assert attempt.status == S.SUCCEEDED
    assert WordResult.objects.filter(attempt=attempt).count() == 6
    assert services.attempts_requeue_stuck(older_than=timedelta(0)).requeued == []
