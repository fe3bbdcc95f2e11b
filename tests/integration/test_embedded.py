"""The embedded run (`make run`): SQLite and the file-system broker under one var/ folder.

A worker started with ``--beat`` exactly as ``scripts/run.sh`` starts it must process what
the web process sends through the broker folders, and its beat scheduler must run the
stuck-attempt sweep, which sends an attempt whose enqueue never happened.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import FINISH_TIMEOUT, worker_env
from tests.support.worker import REPO, Worker

pytestmark = pytest.mark.integration

CREATE = """
from django.core.files.uploadedfile import SimpleUploadedFile
from assessments.models import Attempt
from assessments.services import attempt_create
from tutor.models import Lesson, User

learner = User.objects.create_user("embedded", password="x-embedded-pass")
lesson = Lesson.objects.create(title="Hi", reference_text="Good morning, how are you today?")
with open({path!r}, "rb") as handle:
    data = handle.read()
sent = attempt_create(learner=learner, lesson=lesson,
                      upload=SimpleUploadedFile("a.wav", data, content_type="audio/wav"))
# As if the broker had been unreachable at upload: saved, but never sent.
unsent = attempt_create(learner=learner, lesson=lesson,
                        upload=SimpleUploadedFile("b.wav", data, content_type="audio/wav"))
Attempt.objects.filter(pk=unsent.pk).update(queued_at=None)
print("ATTEMPTS", sent.pk, unsent.pk)
"""


def statuses(database) -> dict[int, tuple[str, str]]:
    with sqlite3.connect(database, timeout=20) as connection:
        rows = connection.execute(
            "SELECT id, status, failure_code FROM assessments_attempt"
        ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def test_embedded_worker_with_beat_processes_and_sweeps(tmp_path, azure, audio_factory):
    var = tmp_path / "var"
    settings_env = {"ATTEMPT_SWEEP_INTERVAL_SECONDS": "1", **worker_env(azure=azure)}
    env = {**os.environ, "TUTOR_VAR_DIR": str(var), **settings_env}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT"):
        env.pop(name, None)

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--noinput")
    speech = audio_factory.speech("Good morning, how are you today?")
    worker = Worker(
        broker_url="filesystem://", database_url=None, media_root=var / "media", var_dir=var,
        beat=True, extra_env=settings_env,
        name="embedded",
    )
    with worker:
        output = manage("shell", "-c", CREATE.format(path=str(speech)))
        line = next(row for row in output.splitlines() if row.startswith("ATTEMPTS "))
        sent, unsent = (int(pk) for pk in line.split()[1:])
        deadline = time.monotonic() + FINISH_TIMEOUT
        found = {}
        while time.monotonic() < deadline:
            found = statuses(var / "db.sqlite3")
            if all(found[pk][0] in ("succeeded", "failed") for pk in (sent, unsent)):
                break
            time.sleep(0.1)
        log = worker.log()

    assert found[sent] == ("succeeded", ""), log[-3000:]
    assert found[unsent] == ("succeeded", ""), log[-3000:]
    assert "requeue_stuck_attempts" in log  # beat ran the sweep inside the worker
    assert (var / "broker" / "queue").is_dir()  # created by the app, not by hand
