"""The demo school that `make run` loads."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from tutor.models import Classroom, Lesson, Role, User
from tutor.services import DEMO_PASSWORDS


@pytest.mark.django_db
def test_seed_demo_refuses_outside_demo_mode(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="DEMO_MODE"):
        call_command("seed_demo")


@pytest.mark.django_db
def test_seed_demo_creates_users_class_and_lessons_idempotently(settings, client):
    settings.DEMO_MODE = True
    call_command("seed_demo")
    call_command("seed_demo")  # a second run changes nothing

    assert User.objects.count() == 3
    assert {u.username: u.role for u in User.objects.all()} == {
        "admin": Role.ADMIN,
        "teacher": Role.TEACHER,
        "learner": Role.LEARNER,
    }
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    classroom = Classroom.objects.get()
    assert list(classroom.teachers.values_list("username", flat=True)) == ["teacher"]
    assert list(classroom.learners.values_list("username", flat=True)) == ["learner"]
    lengths = sorted(len(lesson.reference_text.split()) for lesson in Lesson.objects.all())
    assert len(lengths) >= 4 and lengths[0] < 8 < lengths[-1]  # short to long prompts
    assert classroom.lessons.count() == Lesson.objects.count()
    for username, password in DEMO_PASSWORDS.items():
        assert client.login(username=username, password=password), username
