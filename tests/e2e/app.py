"""The whole product, started for real on loopback: migrate, demo data, a worker, the web server.

:func:`start_app` runs exactly what ``make run`` runs (``scripts/run.sh``), each process in its
own process group so :meth:`LiveApp.stop` can end it and its children, against a fresh
``TUTOR_VAR_DIR`` (new SQLite file, embedded file broker, file cache) and the offline engine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Variables from the outer environment that would point the app at something else.
_DROP_PREFIXES = ("AZURE_", "DJANGO_", "CELERY_", "DATABASE_", "CACHE_", "MEDIA_", "STATIC_")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_environment(var_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP_PREFIXES)}
    env.update(
        DJANGO_SETTINGS_MODULE="tutor.settings",
        TUTOR_VAR_DIR=str(var_dir),
        DEMO_MODE="1",
        DEBUG="true",  # runserver then serves the static files itself
        ASSESSMENT_ENGINE="local",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


@dataclass
class LiveApp:
    url: str
    var_dir: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.var_dir / "db.sqlite3"

    def log(self, name: str) -> str:
        path = self.var_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the app's database directly (read-only), e.g. to check an attempt's row."""
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = (self.var_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, ended as one in stop()
        )
        log.close()
        self.processes[name] = process
        return process

    def assert_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = self.log(name)[-4000:]
                raise RuntimeError(f"The {name} process exited with {process.returncode}:\n{tail}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        # A worker's pool children live in the same group; make sure none survived.
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)


def _wait_for(predicate, *, timeout: float, app: LiveApp, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.assert_running()
        if predicate():
            return
        time.sleep(0.2)
    logs = "\n".join(f"--- {name} ---\n{app.log(name)[-3000:]}" for name in app.processes)
    raise RuntimeError(f"Timed out after {timeout:.0f} s waiting for {what}.\n{logs}")


def _http_answers(url: str) -> bool:
    """The server answers at all (whether the page works is for the tests to say)."""
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def start_app(var_dir: Path, **overrides: str) -> LiveApp:
    """Start the product with ``scripts/run.sh`` (what ``make run`` runs) and wait for it.

    The script migrates, loads the demo school, and starts a worker (with beat) and the web
    server; running the script itself means these tests also prove the ``make run`` path.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    app = LiveApp(url=f"http://127.0.0.1:{port}", var_dir=var_dir,
                  env=app_environment(var_dir, PORT=str(port), **overrides))
    try:
        app.spawn("app", ["bash", str(REPO / "scripts" / "run.sh")])
        _wait_for(lambda: _http_answers(f"{app.url}/accounts/login/"), timeout=120, app=app,
                  what="the web server")
        _wait_for(lambda: " ready." in app.log("app"), timeout=90, app=app,
                  what="the Celery worker")
    except BaseException:
        app.stop()
        raise
    return app


@contextlib.contextmanager
def running_app(var_dir: Path, **overrides: str) -> Iterator[LiveApp]:
    """:func:`start_app` for a fixture: the app is stopped however the block ends."""
    app = start_app(var_dir, **overrides)
    try:
        yield app
    finally:
        app.stop()
