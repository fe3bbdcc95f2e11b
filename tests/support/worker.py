"""A real ``celery -A tutor worker`` process for the integration tests and the benchmarks.

:class:`Worker` starts the worker exactly as a deployment does (same command, settings from
environment variables), pointed at the test's database, broker and media folder; waits
until it logs that it is ready; and stops it with a warm shutdown — or kills it outright
(:meth:`Worker.kill`, SIGKILL to the whole process group) to play a machine dying mid-task.
Its log is kept and shown when a test needs it (:meth:`Worker.log`).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 90.0  # a loaded 2-core CI machine can take a while to import everything


class Worker:
    def __init__(
        self,
        *,
        broker_url: str,
        database_url: str | None,
        media_root: Path,
        var_dir: Path,
        concurrency: int = 1,
        beat: bool = False,
        extra_env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        name: str = "worker",
    ) -> None:
        self.name = name
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tutor.settings",
            "MEDIA_ROOT": str(media_root),
            "TUTOR_VAR_DIR": str(var_dir),
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **dict(extra_env or {}),
        }
        if database_url:
            self.env["DATABASE_URL"] = database_url
        else:
            self.env.pop("DATABASE_URL", None)  # the settings' SQLite file under var/
        if broker_url == "filesystem://":
            self.env.pop("CELERY_BROKER_URL", None)  # the settings' embedded default
        else:
            self.env["CELERY_BROKER_URL"] = broker_url
        self.concurrency = concurrency
        self.beat = beat
        self.log_path = log_path or var_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        celery = Path(sys.executable).with_name("celery")
        command = [
            str(celery), "-A", "tutor", "worker", "--loglevel", "INFO",
            "--concurrency", str(self.concurrency), "--pool", "prefork",
            "--without-gossip", "--without-mingle", "--hostname", f"{self.name}@%h",
        ]
        if self.beat:
            command.append("--beat")
        return command

    def start(self) -> Worker:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        Path(self.env["TUTOR_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            # Its own process group, so kill() takes the pool children down with it.
            self.process = subprocess.Popen(
                self.command, cwd=REPO, env=self.env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.wait_for_log(" ready.", timeout=READY_TIMEOUT)
        return self

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[self._log_offset:].decode("utf-8", "replace")

    def wait_for_log(self, text: str, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()[-4000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: no {text!r} in its log after {timeout:.0f} s:\n"
                           f"{self.log()[-4000:]}")

    def child_pids(self) -> list[int]:
        """The pool's worker processes (where tasks run)."""
        if self.process is None:
            return []
        done = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in done.stdout.split()]

    def kill(self) -> None:
        """SIGKILL the main process and its pool children: no shutdown, no acknowledgements."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, *, timeout: float = 30.0) -> None:
        """Warm shutdown (finish the current task), then SIGKILL if it takes too long."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_worker(**options) -> Iterator[Worker]:
    worker = Worker(**options)
    try:
        yield worker.start()
    finally:
        worker.stop()


_TIMING = re.compile(
    r"Attempt (\d+) succeeded with (\w+): convert (\d+) ms, engine (\d+) ms, store (\d+) ms"
)


def attempt_timings(log: str) -> dict[int, dict[str, float]]:
    """Per attempt id, the worker's own convert / engine / store times in ms (from its log)."""
    found = {}
    for match in _TIMING.finditer(log):
        attempt_id, _engine, convert, engine, store = match.groups()
        found[int(attempt_id)] = {
            "convert": float(convert), "engine": float(engine), "store": float(store)
        }
    return found
