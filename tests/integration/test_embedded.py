"""The embedded run (`make run`): SQLite and the file-system broker under one var/ folder.

A worker started with ``--beat`` exactly as ``scripts/run.sh`` starts it must process what
the web process sends through the broker folders, and its beat scheduler must run the
stuck-attempt sweep, which sends an attempt whose enqueue never happened, and one whose
worker was killed mid-task (the file-system broker deletes a message when a worker takes
it, so nothing is redelivered: the sweep is what brings the attempt back).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import FINISH_TIMEOUT, worker_env
from tests.support.azure_double import slow
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


CREATE_ONE = """
from django.core.files.uploadedfile import SimpleUploadedFile
from assessments.services import attempt_create
from tutor.models import Lesson, User

learner = User.objects.create_user("embedded", password="x-embedded-pass")
lesson = Lesson.objects.create(title="Hi", reference_text="Good morning, how are you today?")
with open({path!r}, "rb") as handle:
    data = handle.read()
attempt = attempt_create(learner=learner, lesson=lesson,
                         upload=SimpleUploadedFile("a.wav", data, content_type="audio/wav"))
print("ATTEMPT", attempt.pk)
"""


def embedded_env(var, settings_env: dict[str, str]) -> dict[str, str]:
    """This process as `make run`'s web server: the settings' defaults under ``var``."""
    env = {**os.environ, "TUTOR_VAR_DIR": str(var), **settings_env}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT"):
        env.pop(name, None)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def embedded_worker(var, settings_env: dict[str, str], *, name: str) -> Worker:
    return Worker(
        broker_url="filesystem://", database_url=None, media_root=var / "media", var_dir=var,
        beat=True, extra_env=settings_env, name=name,
    )


def query(database, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(database, timeout=20) as connection:
        return connection.execute(sql, params).fetchall()


def statuses(database) -> dict[int, tuple[str, str]]:
    with sqlite3.connect(database, timeout=20) as connection:
        rows = connection.execute(
            "SELECT id, status, failure_code FROM assessments_attempt"
        ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def test_embedded_worker_with_beat_processes_and_sweeps(tmp_path, azure, audio_factory):
    var = tmp_path / "var"
    settings_env = {"ATTEMPT_SWEEP_INTERVAL_SECONDS": "1", **worker_env(azure=azure)}
    env = embedded_env(var, settings_env)

    manage(env, "migrate", "--noinput")
    speech = audio_factory.speech("Good morning, how are you today?")
    with embedded_worker(var, settings_env, name="embedded") as worker:
        output = manage(env, "shell", "-c", CREATE.format(path=str(speech)))
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


# The sweep takes a processing attempt back once its run is older than
# max(ATTEMPT_STUCK_AFTER_SECONDS, ATTEMPT_TASK_TIME_LIMIT + 30 s): here 5 s and 10 + 30 s,
# so about 40 s after the killed run started (with the defaults, 600 s, plus up to one
# sweep interval). The soft limit leaves the rescuing run ample time on a busy machine.
KILLED_RUN_ENV = {
    "ATTEMPT_SWEEP_INTERVAL_SECONDS": "1",
    "ATTEMPT_STUCK_AFTER_SECONDS": "5",
    "ATTEMPT_TASK_SOFT_TIME_LIMIT": "8",
    "ATTEMPT_TASK_TIME_LIMIT": "10",
}
TAKEN_BACK_AFTER_SECONDS = 10 + 30


def test_embedded_worker_killed_mid_task_is_rescued_by_the_sweep(tmp_path, azure, audio_factory):
    var = tmp_path / "var"
    settings_env = {**KILLED_RUN_ENV, **worker_env(azure=azure)}
    env = embedded_env(var, settings_env)
    database = var / "db.sqlite3"
    manage(env, "migrate", "--noinput")
    speech = audio_factory.speech("Good morning, how are you today?")
    azure.enqueue(slow(60))  # the first engine call hangs: the worker is surely mid-task

    doomed = embedded_worker(var, settings_env, name="doomed").start()
    try:
        output = manage(env, "shell", "-c", CREATE_ONE.format(path=str(speech)))
        attempt_id = int(next(row for row in output.splitlines()
                              if row.startswith("ATTEMPT ")).split()[1])
        deadline = time.monotonic() + FINISH_TIMEOUT
        while not azure.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert azure.requests, doomed.log()[-3000:]
    finally:
        doomed.kill()
    killed_at = time.monotonic()
    assert statuses(database)[attempt_id] == ("processing", "")
    # The message went with the worker (what waits is beat's sweeps, for the busy pool).
    waiting = [path.read_text() for path in (var / "broker" / "queue").iterdir()]
    assert not [message for message in waiting if '"assessments.tasks.assess_attempt"' in message]

    with embedded_worker(var, settings_env, name="rescuer") as rescuer:
        deadline = killed_at + TAKEN_BACK_AFTER_SECONDS + FINISH_TIMEOUT
        while time.monotonic() < deadline:
            if statuses(database)[attempt_id][0] in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        waited = time.monotonic() - killed_at
        log = rescuer.log()

    assert statuses(database)[attempt_id] == ("succeeded", ""), log[-3000:]
    assert f"Sweep: re-queued [{attempt_id}]" in log
    assert waited > TAKEN_BACK_AFTER_SECONDS - 10  # the sweep, not a redelivery, rescued it
    [(tries,)] = query(database, "SELECT tries FROM assessments_attempt WHERE id = ?",
                       attempt_id)
    assert tries == 2  # the killed run's try and the rescuing run's
    [(words,)] = query(database, "SELECT COUNT(*) FROM assessments_wordresult "
                       "WHERE attempt_id = ?", attempt_id)
    assert words == 6  # stored once
    assert len(azure.requests) == 2
