"""Suite-wide fixtures: isolated media/cache per test run, and the people of a small school."""

from __future__ import annotations

import pytest

# Support modules hold fixtures with asserts; rewrite them like test modules.
pytest.register_assert_rewrite("tests.support")

from tests.factories import (  # noqa: E402
    AdminFactory,
    AssignmentFactory,
    ClassroomFactory,
    LearnerFactory,
    LessonFactory,
    TeacherFactory,
)
from tests.support.broker import celery_broker  # noqa: E402

# Shared fixtures: generated audio files, the loopback Azure Speech double, broker swaps.
pytest_plugins = [
    "tests.support.audio_factory",
    "tests.support.azure_double",
    "tests.support.broker",
]


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    """Every test writes recordings and cache files under its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Real hashing costs ~0.3 s per login; tests do not test the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }


@pytest.fixture(autouse=True)
def _in_memory_celery(request):
    """Unit tests never reach a real broker (or the embedded one under var/)."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    with celery_broker("memory://", transport_options={}):
        yield


@pytest.fixture
def lesson(db):
    return LessonFactory(title="Greetings", reference_text="Good morning, how are you today?")


@pytest.fixture
def school(db, lesson):
    """Two classes, each with its own teacher and learner, plus an admin.

    ``school.learner`` and ``school.teacher`` share ``school.classroom`` (which has
    ``lesson`` assigned); ``school.other_learner`` and ``school.other_teacher`` share the
    other class.
    """
    learner = LearnerFactory(username="learner")
    other_learner = LearnerFactory(username="other_learner")
    teacher = TeacherFactory(username="teacher")
    other_teacher = TeacherFactory(username="other_teacher")
    admin = AdminFactory(username="admin")
    classroom = ClassroomFactory(name="Morning class", teachers=[teacher], learners=[learner])
    other_classroom = ClassroomFactory(
        name="Evening class", teachers=[other_teacher], learners=[other_learner]
    )
    AssignmentFactory(classroom=classroom, lesson=lesson)
    AssignmentFactory(classroom=other_classroom, lesson=lesson)

    class School:
        pass

    found = School()
    found.__dict__.update(
        learner=learner,
        other_learner=other_learner,
        teacher=teacher,
        other_teacher=other_teacher,
        admin=admin,
        classroom=classroom,
        other_classroom=other_classroom,
        lesson=lesson,
    )
    return found
