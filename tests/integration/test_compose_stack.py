"""The production stack of ``docker-compose.yml``, run natively (no Docker engine here).

The environment is read from the Dockerfile's ``ENV`` and the compose file's shared
``environment``, plus only the three variables the README tells an operator to set; the
commands are the compose services' own. Only the host names change: ``postgres`` and
``redis`` become the test's loopback servers. So what an operator gets from
``docker compose up`` — production settings, migrations, gunicorn with whitenoise, a Celery
worker with beat, Redis as broker and cache, PostgreSQL — is what this test starts, signs in
to over a forwarded HTTPS connection, and records an attempt with.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.e2e.app import BIN, REPO, LiveApp, _wait_for, free_port
from tests.integration.conftest import FINISH_TIMEOUT
from tests.support.audio_factory import make_speech_wav

pytestmark = pytest.mark.integration

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
LESSON_TEXT = "Good morning, how are you today?"


def dockerfile_env() -> dict[str, str]:
    """The ``ENV`` instruction of the Dockerfile, as the container sees it."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    line = next(row for row in text.splitlines() if row.startswith("ENV "))
    return dict(item.split("=", 1) for item in shlex.split(line[4:]))


def compose_env(*, postgres_url: str, redis_port: int, var_dir: Path) -> dict[str, str]:
    """What a compose container gets, with the service hosts pointed at the loopback ones."""
    readme_settings = {  # the README's "set at least these three"
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "POSTGRES_PASSWORD": "not-used-here",
    }
    shared = {k: str(v) for k, v in COMPOSE["x-app"]["environment"].items()}
    # Nothing else from this machine's environment: a container starts from a clean one.
    machine = {"PATH": f"{BIN}:{os.environ['PATH']}", "HOME": str(var_dir), "LANG": "C.UTF-8"}
    env = {**machine, **dockerfile_env(), **readme_settings, **shared}
    env["DATABASE_URL"] = postgres_url  # the compose URL interpolates the password
    for name in ("CELERY_BROKER_URL", "CACHE_URL"):
        env[name] = env[name].replace("redis://redis:6379/", f"redis://127.0.0.1:{redis_port}/")
    env["MEDIA_ROOT"] = str(var_dir / "media")
    env["TUTOR_VAR_DIR"] = str(var_dir)
    return env


def service_command(name: str, *, port: int, var_dir: Path) -> list[str]:
    command = COMPOSE["services"][name]["command"]
    command = command.replace("0.0.0.0:8000", f"127.0.0.1:{port}")
    command = command.replace("/var/lib/tutor/", f"{var_dir}/")
    return ["bash", "-c", f"exec {command}"]


@pytest.fixture
def stack(tmp_path, postgres_server, redis_server):  # noqa: F811 - fixtures
    database = f"tutor_compose_{secrets.token_hex(4)}"
    postgres_server.psql(f"CREATE DATABASE {database}")
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    port = free_port()
    env = compose_env(postgres_url=postgres_server.url(database),
                      redis_port=redis_server.port, var_dir=var_dir)
    app = LiveApp(url=f"http://127.0.0.1:{port}", var_dir=var_dir, env=env)

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    # The image runs collectstatic at build time (its RUN line); the web command migrates.
    env["STATIC_ROOT"] = str(var_dir / "static")
    manage("collectstatic", "--noinput")
    try:
        app.spawn("web", service_command("web", port=port, var_dir=var_dir))
        _wait_for(lambda: _answers(f"{app.url}/accounts/login/"), timeout=180, app=app,
                  what="gunicorn after migrate")
        app.spawn("worker", service_command("worker", port=port, var_dir=var_dir))
        _wait_for(lambda: " ready." in app.log("worker"), timeout=120, app=app,
                  what="the Celery worker")
        yield app, manage
    finally:
        app.stop()


def _answers(url: str) -> bool:
    """gunicorn is up: any answer counts (over plain HTTP it is the redirect to HTTPS)."""
    try:
        requests.get(url, allow_redirects=False, timeout=2)
    except requests.RequestException:  # not listening yet, or still loading the app
        return False
    return True


SETUP = """
from tutor.models import Classroom, Lesson, Role
from tutor.services import user_create
learner = user_create(username="ana", password={password!r}, role=Role.LEARNER)
lesson = Lesson.objects.create(title="Greetings", reference_text={text!r})
classroom = Classroom.objects.create(name="Compose class")
classroom.learners.add(learner)
classroom.assignments.create(lesson=lesson)
print("LESSON", lesson.pk)
"""

STATUS = """
from assessments.models import Attempt
attempt = Attempt.objects.get()
print("STATUS", attempt.status, attempt.engine, attempt.pronunciation is not None)
"""


def test_the_compose_stack_serves_signs_in_and_assesses(stack, tmp_path):
    app, manage = stack
    password = secrets.token_urlsafe(16)
    output = manage("shell", "-c", SETUP.format(password=password, text=LESSON_TEXT))
    lesson_id = int(re.search(r"LESSON (\d+)", output).group(1))

    # Plain HTTP is sent to HTTPS: the proxy in front terminates TLS.
    plain = requests.get(f"{app.url}/accounts/login/", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")

    # Through the proxy: X-Forwarded-Proto says https. Cookies are Secure, so they are
    # carried by hand (requests would only send them over a real TLS connection).
    origin = app.url.replace("http://", "https://")
    https = {"X-Forwarded-Proto": "https", "Origin": origin}
    login_page = requests.get(f"{app.url}/accounts/login/", headers=https, timeout=10)
    assert login_page.status_code == 200
    assert "max-age=" in login_page.headers["Strict-Transport-Security"]
    csrf = login_page.cookies["csrftoken"]
    stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]+\.css)"', login_page.text)
    assert stylesheet, "static files are not served under their hashed names"
    assert requests.get(app.url + stylesheet.group(1), headers=https, timeout=10).ok

    signed_in = requests.post(
        f"{app.url}/accounts/login/",
        data={"username": "ana", "password": password, "csrfmiddlewaretoken": csrf},
        headers={**https, "Cookie": f"csrftoken={csrf}",
                 "Referer": f"{https['Origin']}/accounts/login/"},
        allow_redirects=False, timeout=10,
    )
    assert signed_in.status_code == 302, signed_in.text[:500]
    session = signed_in.cookies["sessionid"]
    cookies = f"csrftoken={csrf}; sessionid={session}"

    wav = make_speech_wav(LESSON_TEXT, tmp_path / "speech.wav").read_bytes()
    upload = requests.post(
        f"{app.url}/lessons/{lesson_id}/attempts/",
        files={"audio": ("recording.wav", wav, "audio/wav")},
        headers={**https, "Cookie": cookies, "X-CSRFToken": csrf, "HX-Request": "true",
                 "Referer": f"{https['Origin']}/lessons/{lesson_id}/"},
        timeout=60,
    )
    assert upload.status_code == 202, upload.text[:500]

    deadline = time.monotonic() + FINISH_TIMEOUT
    status = ""
    while time.monotonic() < deadline:
        app.assert_running()
        status = re.search(r"STATUS (.*)", manage("shell", "-c", STATUS)).group(1)
        if status.split()[0] in ("succeeded", "failed"):
            break
        time.sleep(1)
    assert status == "succeeded local True", app.log("worker")[-3000:]
