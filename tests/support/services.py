"""A real PostgreSQL and a real Redis for the integration tests, on 127.0.0.1 free ports.

Both run from the Debian packages (``make install-test`` installs them) in temporary
folders for one test session and are stopped at its end. PostgreSQL refuses to run as root,
so when the suite runs as root its server runs as the ``postgres`` OS user (``runuser``), in
a data folder that user owns. Durability is switched off (``fsync=off`` …): these servers
hold throw-away data and should cost the suite as little time as possible.

Fixtures (session scope): ``redis_server`` → :class:`Redis`, ``postgres_server`` →
:class:`Postgres` (with one migrated database, ``tutor_it``). ``pg_database`` (function
scope) points this process's default database connection at it, unblocks database access,
empties the tables afterwards, and yields the database URL. A fixture skips with the reason
only when the server's binaries are not installed.

Also usable by hand and by the benchmarks: ``with Redis.start(tmp) as redis: ...``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check, *, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s.\n{tail}")


# --- Redis --------------------------------------------------------------------------------------


def redis_binary() -> str | None:
    return shutil.which("redis-server")


@dataclass
class Redis:
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @classmethod
    @contextlib.contextmanager
    def start(cls, directory: Path) -> Iterator[Redis]:
        binary = redis_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed; run `make install-test`.")
        directory.mkdir(parents=True, exist_ok=True)
        port = free_port()
        log = directory / "redis.log"
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(directory), "--logfile", str(log),
             "--protected-mode", "yes"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        server = cls(port=port, process=process)
        try:
            _wait_for(server.ping, timeout=START_TIMEOUT, what="redis-server", log=log)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres_user() -> tuple[list[str], int | None, int | None]:
    """The command prefix (and uid/gid) to run server programs: root may not run them."""
    if os.geteuid() != 0:
        return [], None, None
    user = pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"], user.pw_uid, user.pw_gid


@dataclass
class Postgres:
    port: int
    data_dir: Path
    bin_dir: Path
    database: str = "tutor_it"

    def url(self, database: str | None = None) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database or self.database}"

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        prefix, _, _ = _as_postgres_user()
        psql = self.bin_dir / "psql"
        binary = str(psql) if psql.exists() else "psql"
        done = subprocess.run(
            [*prefix, binary, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", database, "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
            capture_output=True, text=True, timeout=60, check=True,
        )
        return done.stdout

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                pass
        except OSError:
            return False
        done = subprocess.run(
            [str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True, timeout=10, check=False,
        )
        return done.returncode == 0

    @classmethod
    @contextlib.contextmanager
    def start(cls) -> Iterator[Postgres]:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed; run `make install-test`.")
        prefix, uid, gid = _as_postgres_user()
        # Not under pytest's tmp folder: that one is private to root, and the server user
        # must own its data folder.
        root = Path(tempfile.mkdtemp(prefix="tutor-pg-"))
        data_dir, socket_dir, log = root / "data", root / "run", root / "postgres.log"
        socket_dir.mkdir()
        if uid is not None:
            for path in (root, socket_dir):
                os.chown(path, uid, gid)
        port = free_port()
        subprocess.run(
            [*prefix, str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
            capture_output=True, timeout=120, check=True,
        )
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {socket_dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", options,
             "-l", str(log), "-w", "-t", str(int(START_TIMEOUT)), "start"],
            capture_output=True, timeout=START_TIMEOUT + 10, check=True,
        )
        server = cls(port=port, data_dir=data_dir, bin_dir=bin_dir)
        try:
            _wait_for(server.ready, timeout=START_TIMEOUT, what="PostgreSQL", log=log)
            server.psql(f"CREATE DATABASE {server.database}")
            yield server
        finally:
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate",
                 "-w", "stop"],
                capture_output=True, timeout=60, check=False,
            )
            shutil.rmtree(root, ignore_errors=True)


def migrate(database_url: str, *, var_dir: Path) -> None:
    """Create the schema with the project's own migrations, as a deployment would."""
    env = {**os.environ, "DATABASE_URL": database_url, "TUTOR_VAR_DIR": str(var_dir)}
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{done.stdout}\n{done.stderr}")


# --- pytest fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[Redis]:
    if redis_binary() is None:
        pytest.skip("redis-server is not installed (`make install-test` installs it)")
    with Redis.start(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory) -> Iterator[Postgres]:
    if postgres_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed (`make install-test` installs it)")
    with Postgres.start() as server:
        migrate(server.url(), var_dir=tmp_path_factory.mktemp("migrate-var"))
        yield server


def _postgres_connection(url: str):
    import dj_database_url
    from django.db.utils import load_backend

    config = dj_database_url.parse(url)
    config.update(
        {"ATOMIC_REQUESTS": False, "AUTOCOMMIT": True, "CONN_MAX_AGE": 0,
         "CONN_HEALTH_CHECKS": False, "OPTIONS": {}, "TIME_ZONE": None, "TEST": {}}
    )
    backend = load_backend(config["ENGINE"])
    return backend.DatabaseWrapper(config, "default")


@pytest.fixture
def pg_database(postgres_server, django_db_blocker) -> Iterator[str]:
    """This process's ``default`` database is the session's PostgreSQL, for one test.

    Rows are committed for real (a worker process must see them), so every table is
    emptied at the end instead of rolled back.
    """
    from django.db import connections

    original = connections["default"]
    replacement = _postgres_connection(postgres_server.url())
    connections["default"] = replacement
    try:
        with django_db_blocker.unblock():
            yield postgres_server.url()
            with replacement.cursor() as cursor:
                cursor.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename NOT IN "
                    "('django_migrations', 'django_content_type', 'auth_permission')"
                )
                tables = ", ".join(f'"{row[0]}"' for row in cursor.fetchall())
                cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")  # noqa: S608
    finally:
        replacement.close()
        connections["default"] = original


@contextlib.contextmanager
def service_stack(root: Path) -> Iterator[tuple[Postgres, Redis]]:
    """PostgreSQL (migrated) and Redis for a benchmark or a manual run; stopped on exit."""
    with Redis.start(root / "redis") as redis, Postgres.start() as postgres:
        migrate(postgres.url(), var_dir=root / "var-migrate")
        yield postgres, redis
