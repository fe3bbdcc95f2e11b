"""Taking a recording in: a storage that fails, and a broker that does not answer.

The storage failures are real: a ``FileSystemStorage`` that runs out of space half-way
through the write, and a media folder that cannot be created. The broker is a closed
loopback port (Redis stopped) or one that never completes a connection, as a firewalled or
powered-off host behaves.
"""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assessments.models import Attempt, AttemptStatus
from assessments.services import attempt_create, attempt_enqueue
from assessments.services.intake import STORAGE_UNAVAILABLE_MESSAGE, StorageUnavailable
from tests.factories import AttemptFactory
from tests.support.broker import celery_broker
from tests.support.storage import DISK_FILLS_UP, files_begun
from tests.support.worker import REPO

S = AttemptStatus
STORAGE = DISK_FILLS_UP


@pytest.fixture
def recording(audio_factory) -> bytes:
    return audio_factory.speech("Good morning, how are you today?").read_bytes()


def _files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def _create(school, recording: bytes) -> Attempt:
    return attempt_create(
        learner=school.learner, lesson=school.lesson,
        upload=SimpleUploadedFile("take.wav", recording, content_type="audio/wav"),
    )


def test_disk_full_half_way_raises_storage_unavailable_and_keeps_nothing(
    school, settings, recording, memory_broker
):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": STORAGE}}
    files_begun.clear()

    with pytest.raises(StorageUnavailable) as refused:
        _create(school, recording)

    assert refused.value.code == "storage_unavailable"
    assert refused.value.learner_message == STORAGE_UNAVAILABLE_MESSAGE
    assert "No space left on device" in refused.value.operator_message
    [partial] = files_begun  # the write really began…
    assert not partial.exists()  # …and what it wrote is gone
    assert _files_under(Path(settings.MEDIA_ROOT)) == []
    assert not Attempt.objects.exists()
    assert memory_broker.sent() == []


def test_media_folder_that_cannot_be_created_raises_storage_unavailable(
    school, settings, recording, tmp_path, memory_broker
):
    in_the_way = tmp_path / "not-a-folder"
    in_the_way.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = in_the_way / "media"

    with pytest.raises(StorageUnavailable):
        _create(school, recording)
    assert not Attempt.objects.exists()
    assert memory_broker.sent() == []


def test_a_row_that_cannot_be_saved_leaves_no_recording_behind(
    school, settings, recording, memory_broker
):
    from tutor.models import User

    not_saved = User(username="never-saved")  # saving an attempt for it is refused
    with pytest.raises(ValueError, match="unsaved related object"):
        attempt_create(
            learner=not_saved, lesson=school.lesson,
            upload=SimpleUploadedFile("take.wav", recording, content_type="audio/wav"),
        )
    assert _files_under(Path(settings.MEDIA_ROOT)) == []
    assert not Attempt.objects.exists()


# --- a broker that does not answer ----------------------------------------------------------


def redis_transport_options() -> dict:
    """The transport options the settings pick for a Redis broker (they read the URL once)."""
    done = subprocess.run(
        [sys.executable, "-c",
         "import django; django.setup(); from django.conf import settings; "
         "print(repr(settings.CELERY_BROKER_TRANSPORT_OPTIONS))"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tutor.settings",
             "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"},
    )
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A loopback port whose connections never complete: its accept queue is full.

    Linux drops the SYNs of further connections, so a client waits out its connect
    timeout, as with a broker host that is down or firewalled.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    yield port
    for sock in (*fillers, server):
        sock.close()


@pytest.mark.parametrize("broker_down", ["refused", "unanswered"])
def test_enqueue_to_a_broker_that_is_down_is_one_short_try(db, broker_down, request):
    options = redis_transport_options()
    assert options["socket_connect_timeout"] <= 1.0  # the upload's wait when Redis is away
    if broker_down == "refused":  # Redis stopped: kombu used to connect again 2 s later
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    else:
        port = request.getfixturevalue("unanswered_port")
    attempt = AttemptFactory(status=S.QUEUED, tries=0)
    with celery_broker(f"redis://127.0.0.1:{port}/0", transport_options=options):
        started = time.monotonic()
        sent = attempt_enqueue(attempt_id=attempt.pk)
        took = time.monotonic() - started

    assert sent is False
    # One try: at most the connect timeout, plus room for a busy machine.
    assert took < options["socket_connect_timeout"] + 0.75, f"took {took:.2f} s"
    attempt.refresh_from_db()
    assert (attempt.status, attempt.queued_at) == (S.QUEUED, None)  # the sweep sends it
