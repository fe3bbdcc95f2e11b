"""An attempt's whole life against real PostgreSQL, Redis and Celery worker processes.

Nothing in the app is patched: uploads go through ``attempt_create``, tasks travel through
Redis to ``celery -A tutor worker`` processes, which convert with ffmpeg and assess with a
real engine — the offline one, or the Azure client talking HTTP to the loopback double.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from assessments import services
from assessments.models import AttemptStatus, PhonemeResult, WordResult
from tests.integration.conftest import upload, wait_until, worker_env
from tests.support.azure_double import slow, status
from tests.support.broker import celery_broker
from tests.support.services import free_port

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


def test_broker_down_at_upload_then_the_sweep_sends_it(
    web, make_worker, azure, learner_and_lesson, speech_upload, redis_server
):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    from tests.integration.conftest import REDIS_TRANSPORT_OPTIONS

    with celery_broker(closed, transport_options=REDIS_TRANSPORT_OPTIONS):
        started = time.monotonic()
        attempt = upload(learner_and_lesson, speech_upload)
        took = time.monotonic() - started
    # The upload answers promptly (a generous bound for a loaded CI machine).
    assert took < 8.0
    attempt.refresh_from_db()
    assert (attempt.status, attempt.queued_at) == (S.QUEUED, None)

    worker = make_worker(name="after-outage", env=worker_env(azure=azure))
    report = services.attempts_requeue_stuck()  # what the periodic sweep runs
    assert report.requeued == [attempt.pk]
    attempt = wait_until(attempt, FINISHED, worker=worker)
    assert attempt.status == S.SUCCEEDED, (attempt.failure_code, worker.log()[-3000:])
    assert attempt.tries == 1


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
