"""Real services for the integration tests: PostgreSQL, Redis, Celery worker processes.

The test process plays the web server: it calls the same services the upload view calls,
against the same PostgreSQL database and Redis broker the worker uses, with a media folder
both share. Only the remote Azure service is replaced, by the loopback double.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assessments import services
from assessments.models import Attempt
from tests.factories import LearnerFactory, LessonFactory
from tests.support.azure_double import AzureDouble
from tests.support.broker import celery_broker
from tests.support.services import pg_database, postgres_server, redis_server  # noqa: F401
from tests.support.worker import Worker

# As tutor/settings.py sets them for a Redis broker.
REDIS_TRANSPORT_OPTIONS = {"visibility_timeout": 900, "socket_connect_timeout": 1.0,
                           "max_retries": 0, "socket_timeout": 10.0}
FINISH_TIMEOUT = 120.0  # generous: CI shares 2 cores with the whole suite


@pytest.fixture(scope="session")
def shared_media(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared-media")


@pytest.fixture
def web(settings, shared_media, pg_database, redis_server):  # noqa: F811 - fixtures
    """This process as the web server: PostgreSQL, Redis broker, the workers' media folder."""
    settings.MEDIA_ROOT = shared_media
    with celery_broker(redis_server.url, transport_options=REDIS_TRANSPORT_OPTIONS):
        yield


@pytest.fixture(scope="session")
def azure_service() -> Iterator[AzureDouble]:
    """One loopback Azure double for the session, shared with worker processes by URL."""
    double = AzureDouble().start()
    yield double
    double.stop()
    double.assert_no_violations()


@pytest.fixture
def azure(azure_service) -> AzureDouble:
    azure_service.reset()
    return azure_service


def worker_env(*, azure: AzureDouble | None = None, **extra: str) -> dict[str, str]:
    env = {"ASSESSMENT_ENGINE": "local", "AZURE_SPEECH_KEY": ""}
    if azure is not None:
        env = {**azure.environ(), "ASSESSMENT_ENGINE": "azure",
               "AZURE_SPEECH_MAX_ATTEMPTS": "2", "AZURE_SPEECH_RETRY_BUDGET_SECONDS": "3"}
    return {**env, **extra}


@pytest.fixture
def make_worker(tmp_path, redis_server, pg_database, shared_media):  # noqa: F811 - fixtures
    """Start workers on the test's PostgreSQL and Redis; all are stopped after the test."""
    started: list[Worker] = []

    def make(*, name: str = "worker", env: dict[str, str] | None = None, **options) -> Worker:
        worker = Worker(
            broker_url=redis_server.url, database_url=pg_database, media_root=shared_media,
            var_dir=tmp_path / f"var-{name}", extra_env=env or worker_env(), name=name,
            **options,
        )
        started.append(worker)
        return worker.start()

    yield make
    for worker in started:
        worker.stop()


@pytest.fixture
def learner_and_lesson():
    return LearnerFactory(), LessonFactory(reference_text="Good morning, how are you today?")


@pytest.fixture
def speech_upload(audio_factory) -> Callable[[], SimpleUploadedFile]:  # noqa: F811
    path = audio_factory.speech("Good morning, how are you today?")

    def make() -> SimpleUploadedFile:
        return SimpleUploadedFile("take.wav", path.read_bytes(), content_type="audio/wav")

    return make


def upload(learner_and_lesson, speech_upload) -> Attempt:
    learner, lesson = learner_and_lesson
    # Autocommit, as in a view: the enqueue runs as soon as the row is committed.
    return services.attempt_create(learner=learner, lesson=lesson, upload=speech_upload())


def wait_until(attempt: Attempt, statuses: set[str], *, timeout: float = FINISH_TIMEOUT,
               worker: Worker | None = None) -> Attempt:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attempt.refresh_from_db()
        if attempt.status in statuses:
            return attempt
        time.sleep(0.02)
    log = worker.log()[-4000:] if worker else ""
    raise AssertionError(f"attempt {attempt.pk} still {attempt.status} after {timeout} s\n{log}")
