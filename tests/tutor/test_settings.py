"""Settings refuse unsafe or half-finished configurations at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.env import env_bool

REPO = Path(__file__).resolve().parents[2]
SAFE_KEY = "k" * 60


def _load_settings(module: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "DJANGO_"))}
    clean.update(env, DJANGO_SETTINGS_MODULE=module)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('loaded')"],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "true", "SECRET_KEY": SAFE_KEY}, "DEBUG"),
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DEBUG": "false", "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DEBUG": "false", "SECRET_KEY": SAFE_KEY, "DEMO_MODE": "true"}, "DEMO_MODE"),
        (
            {"DEBUG": "false", "SECRET_KEY": SAFE_KEY, "AZURE_SPEECH_KEY": "abc"},
            "AZURE_SPEECH_REGION",
        ),
        (
            {"DEBUG": "false", "SECRET_KEY": SAFE_KEY, "ASSESSMENT_ENGINE": "azure"},
            "AZURE_SPEECH_KEY",
        ),
    ],
)
def test_production_settings_refuse_unsafe_configuration(env, message):
    completed = _load_settings("tutor.settings_production", **env)
    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert message in completed.stderr


def test_production_settings_load_with_safe_configuration():
    completed = _load_settings(
        "tutor.settings_production",
        DEBUG="false",
        SECRET_KEY=SAFE_KEY,
        AZURE_SPEECH_KEY="abc",
        AZURE_SPEECH_REGION="westeurope",
    )
    assert completed.returncode == 0, completed.stderr
    assert "loaded" in completed.stdout


def test_half_configured_azure_fails_in_development_too():
    completed = _load_settings("tutor.settings", AZURE_SPEECH_KEY="abc")
    assert completed.returncode != 0
    assert "AZURE_SPEECH_REGION" in completed.stderr


def test_unknown_engine_name_is_refused():
    completed = _load_settings("tutor.settings", ASSESSMENT_ENGINE="cloud")
    assert completed.returncode != 0
    assert "ASSESSMENT_ENGINE" in completed.stderr


def test_check_deploy_is_clean_with_production_settings():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "DJANGO_"))}
    clean.update(
        DJANGO_SETTINGS_MODULE="tutor.settings_production",
        DEBUG="false",
        SECRET_KEY=SAFE_KEY + "-Zx9#qW2!",
        ALLOWED_HOSTS="tutor.example.org",
    )
    completed = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("off", False)])
def test_env_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", not expected) is expected


def test_env_bool_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ValueError, match="SOME_FLAG"):
        env_bool("SOME_FLAG", False)


def test_embedded_database_opens_in_a_var_folder_that_does_not_exist_yet(tmp_path):
    """A fresh clone has no var/: the first command to touch the database must still work,
    whatever else (the file cache, Celery) has or has not created folders by then."""
    var = tmp_path / "not-yet" / "var"
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DATABASE_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE")}
    clean.update(TUTOR_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="tutor.settings")
    completed = subprocess.run(
        [sys.executable, "-c",
         "import django; django.setup(); from django.db import connection; "
         "connection.ensure_connection(); print(connection.settings_dict['NAME'])"],
        cwd=REPO, env=clean, capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == str(var / "db.sqlite3")
    assert (var / "db.sqlite3").exists()
