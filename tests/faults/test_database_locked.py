"""SQLite locked for a few seconds by another writer, with the real web server and worker.

The embedded setup has the web process and the worker writing one SQLite file; the settings
make each connection wait for a lock (``timeout``) instead of failing at once. Here a third
connection holds the write lock while a learner uploads and while the worker scores: the
upload still answers 202 and the attempt still ends succeeded. Scoring goes to the loopback
Azure double so this test is about the database alone.

Broker down at upload and a worker killed mid-task are tested with real services in
``tests/integration/`` (see ``docs/reliability.md``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.app import LiveApp, running_app
from tests.support.audio_factory import make_speech_wav
from tests.support.azure_double import AzureDouble, slow

LOCK_SECONDS = 3.0


@pytest.fixture(scope="module")
def double() -> Iterator[AzureDouble]:
    with AzureDouble() as running:
        yield running
    running.assert_no_violations()


@pytest.fixture(scope="module")
def app(tmp_path_factory, double) -> Iterator[LiveApp]:
    with running_app(
        tmp_path_factory.mktemp("locked") / "var",
        ASSESSMENT_ENGINE="azure",
        AZURE_SPEECH_CONNECT_TIMEOUT="2",
        AZURE_SPEECH_READ_TIMEOUT="5",
        **double.environ(),
    ) as running:
        yield running


@pytest.fixture(scope="module")
def impatient_app(tmp_path_factory, double) -> Iterator[LiveApp]:
    """The same product with SQLite told to wait only 1 s for a lock."""
    with running_app(
        tmp_path_factory.mktemp("impatient") / "var",
        ASSESSMENT_ENGINE="azure",
        SQLITE_BUSY_TIMEOUT_SECONDS="1",
        **double.environ(),
    ) as running:
        yield running


@pytest.fixture
def learner(app) -> requests.Session:
    return _sign_in(app)


def _sign_in(app: LiveApp) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.get(f"{app.url}/accounts/login/", timeout=10).raise_for_status()
    response = session.post(
        f"{app.url}/accounts/login/",
        data={"username": "learner", "password": "learner-demo-pass",
              "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    return session


def _hold_write_lock(app: LiveApp, seconds: float, taken: threading.Event) -> None:
    connection = sqlite3.connect(app.db_path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")  # the write lock: every other writer waits
        taken.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
    finally:
        connection.close()


def _locked(app: LiveApp, seconds: float = LOCK_SECONDS) -> threading.Thread:
    taken = threading.Event()
    thread = threading.Thread(target=_hold_write_lock, args=(app, seconds, taken), daemon=True)
    thread.start()
    assert taken.wait(10), "could not take the database lock"
    return thread


def _status(app: LiveApp, public_id: str) -> tuple[str, str]:
    rows = app.query(
        "SELECT status, failure_message FROM assessments_attempt WHERE public_id = ?",
        (public_id.replace("-", ""),),
    )
    return rows[0] if rows else ("missing", "")


def _wait_finished(app: LiveApp, public_id: str, timeout: float = 60) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.assert_running()
        found = _status(app, public_id)
        if found[0] in ("succeeded", "failed"):
            return found
        time.sleep(0.2)
    raise AssertionError(f"attempt {public_id} still {found[0]} after {timeout} s")


def _upload(app: LiveApp, session: requests.Session, wav: bytes) -> requests.Response:
    (lesson_id,) = app.query("SELECT id FROM tutor_lesson WHERE title = 'Hello'")[0]
    return session.post(
        f"{app.url}/lessons/{lesson_id}/attempts/",
        files={"audio": ("recording.wav", wav, "audio/wav")},
        headers={"HX-Request": "true", "X-CSRFToken": session.cookies["csrftoken"]},
        timeout=60,
    )


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("speech") / "hello.wav"
    return make_speech_wav("Hello, my name is Sam.", path).read_bytes()


def _public_id(response: requests.Response) -> str:
    import re

    match = re.search(r"/attempts/([0-9a-f-]{36})/", response.text)
    assert match, response.text
    return match.group(1)


def test_upload_waits_for_a_briefly_locked_database(app, learner, wav):
    holder = _locked(app)
    started = time.monotonic()
    response = _upload(app, learner, wav)
    waited = time.monotonic() - started
    holder.join()
    assert response.status_code == 202, response.text[:500]
    assert waited >= LOCK_SECONDS * 0.8, "the upload did not meet the lock at all"
    assert _wait_finished(app, _public_id(response)) == ("succeeded", "")


def test_worker_waits_for_a_briefly_locked_database(app, double, learner, wav):
    # Azure takes a second, so the worker is mid-task when the lock is taken and must store
    # its result while the lock is held.
    double.enqueue(slow(1.0))
    response = _upload(app, learner, wav)
    assert response.status_code == 202
    public_id = _public_id(response)
    holder = _locked(app)
    assert _status(app, public_id)[0] in ("queued", "processing")
    holder.join()
    assert _wait_finished(app, public_id) == ("succeeded", "")
    assert "database is locked" not in app.log("app")


def test_pages_still_answer_while_the_database_is_locked(app, learner):
    """WAL lets readers read while a writer holds the lock: pages do not stall."""
    holder = _locked(app)
    started = time.monotonic()
    response = learner.get(f"{app.url}/", timeout=30)
    elapsed = time.monotonic() - started
    holder.join()
    assert response.status_code == 200
    assert elapsed < LOCK_SECONDS


def test_a_lock_outlasting_the_wait_refuses_the_upload_clearly_and_loses_nothing(
    impatient_app, wav
):
    """Past SQLite's wait the upload is refused whole with a 503 the recorder shows; the
    recording is still in the learner's page, and sending it again works."""
    session = _sign_in(impatient_app)
    before = impatient_app.query("SELECT count(*) FROM assessments_attempt")[0][0]
    holder = _locked(impatient_app, seconds=4.0)
    response = _upload(impatient_app, session, wav)
    page = session.get(f"{impatient_app.url}/progress/", timeout=30)
    holder.join()

    assert response.status_code == 503, response.text[:500]
    assert response.headers["Retry-After"] == "5"
    assert 'id="upload-error"' in response.text
    assert "Your recording is still here" in response.text
    assert impatient_app.query("SELECT count(*) FROM assessments_attempt")[0][0] == before
    # Reading pages never waited for the lock (WAL), so they were not refused.
    assert page.status_code == 200

    again = _upload(impatient_app, session, wav)
    assert again.status_code == 202, again.text[:500]
    assert _wait_finished(impatient_app, _public_id(again)) == ("succeeded", "")
    assert "Internal Server Error" not in impatient_app.log("app")
