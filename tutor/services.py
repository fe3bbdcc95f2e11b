"""Writes for people, lessons and classes, and the login failure counter."""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from tutor.models import Assignment, Classroom, Lesson, Role, User

DEMO_PASSWORDS = {
    "admin": "admin-demo-pass",
    "teacher": "teacher-demo-pass",
    "learner": "learner-demo-pass",
}

DEMO_LESSONS = [
    ("Hello", "Hello, my name is Sam."),
    ("Weather", "It is sunny and warm today."),
    ("Coffee order", "Could I have a small coffee with milk, please?"),
    ("Directions", "Go straight ahead, turn left at the bank, and the station is on your right."),
    (
        "The north wind",
        "The north wind and the sun were disputing which was the stronger, when a traveler "
        "came along wrapped in a warm cloak.",
    ),
]


def user_create(*, username: str, password: str, role: str, **extra: object) -> User:
    """Create a user; admins get staff and superuser rights so the admin site opens."""
    is_admin = role == Role.ADMIN
    return User.objects.create_user(
        username=username,
        password=password,
        role=role,
        is_staff=is_admin,
        is_superuser=is_admin,
        **extra,
    )


@transaction.atomic
def demo_school_load() -> dict[str, object]:
    """Create (or refresh) the demo users, lessons and class. Safe to run repeatedly."""
    users = {}
    for username, password in DEMO_PASSWORDS.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(username=username, password=password, role=Role(username))
        users[username] = user
    lessons = []
    for order, (title, text) in enumerate(DEMO_LESSONS):
        lesson, _ = Lesson.objects.get_or_create(
            title=title, defaults={"reference_text": text, "order": order}
        )
        lessons.append(lesson)
    classroom, _ = Classroom.objects.get_or_create(name="Demo class")
    classroom.teachers.add(users["teacher"])
    classroom.learners.add(users["learner"])
    for lesson in lessons:
        Assignment.objects.get_or_create(classroom=classroom, lesson=lesson)
    return {"users": len(users), "lessons": len(lessons), "classroom": classroom.name}


# --- Login throttling -----------------------------------------------------------------------

LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60


def _login_failure_key(*, username: str, client_ip: str) -> str:
    # Hashed: usernames are free text and cache keys must be short and safe.
    digest = hashlib.sha256(f"{username.casefold()}|{client_ip}".encode()).hexdigest()
    return f"login-failures:{digest}"


def _login_failures(key: str, now: float) -> list[float]:
    return [t for t in cache.get(key, []) if t > now - LOGIN_FAILURE_WINDOW_SECONDS]


def login_retry_after(*, username: str, client_ip: str) -> int:
    """Seconds until this username + address may try again (0 when not throttled).

    A sliding window: the oldest failure still inside the last 15 minutes has to age out.
    """
    now = time.time()
    failures = _login_failures(_login_failure_key(username=username, client_ip=client_ip), now)
    limit = settings.LOGIN_FAILURES_PER_15_MINUTES
    if len(failures) < limit:
        return 0
    oldest_that_counts = sorted(failures)[-limit]
    return max(1, math.ceil(oldest_that_counts + LOGIN_FAILURE_WINDOW_SECONDS - now))


def login_failure_record(*, username: str, client_ip: str) -> int:
    """Remember one failed login; returns the failures now inside the window."""
    now = time.time()
    key = _login_failure_key(username=username, client_ip=client_ip)
    # Only the newest `limit` timestamps matter, so the stored list stays small.
    failures = (_login_failures(key, now) + [now])[-settings.LOGIN_FAILURES_PER_15_MINUTES:]
    cache.set(key, failures, timeout=LOGIN_FAILURE_WINDOW_SECONDS)
    return len(failures)


def login_failures_clear(*, username: str, client_ip: str) -> None:
    cache.delete(_login_failure_key(username=username, client_ip=client_ip))
