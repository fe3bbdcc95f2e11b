"""Writes for people, lessons and classes, and the login failure counter."""

from __future__ import annotations

import contextlib
import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from tutor.counters import cache_optional, counter_increment
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
# Attempts are counted in one-minute buckets, so the window slides a minute at a time and
# every count is a single atomic cache.incr (atomic on Redis, as in production).
_BUCKET_SECONDS = 60
_BUCKETS = LOGIN_FAILURE_WINDOW_SECONDS // _BUCKET_SECONDS


def _window_keys(scope: str, subject: str, now: float) -> list[tuple[int, str]]:
    """(bucket number, cache key) for every bucket inside the window, oldest first."""
    # Hashed: usernames are free text and cache keys must be short and safe.
    digest = hashlib.sha256(subject.encode()).hexdigest()
    current = int(now // _BUCKET_SECONDS)
    return [(bucket, f"{scope}:{digest}:{bucket}")
            for bucket in range(current - _BUCKETS + 1, current + 1)]


def _window_take(buckets: list[tuple[int, str]], *, limit: int, now: float) -> int:
    """Count one attempt in the window; 0 if it fits, else seconds until one more would.

    An attempt over the limit is taken back out: it is refused without a password check,
    so it is not a guess and must not prolong the wait.
    """
    current_key = buckets[-1][1]
    counter_increment(current_key, timeout=LOGIN_FAILURE_WINDOW_SECONDS + _BUCKET_SECONDS)
    counts = cache.get_many([key for _, key in buckets])
    if sum(counts.values()) <= limit:
        return 0
    cache.decr(current_key)
    counts[current_key] = counts[current_key] - 1
    earlier = sum(counts.values())
    for bucket, key in buckets:  # oldest first: when enough have aged out, one more may try
        earlier -= counts.get(key, 0)
        if earlier < limit:
            return max(1, math.ceil((bucket + _BUCKETS) * _BUCKET_SECONDS - now))
    return LOGIN_FAILURE_WINDOW_SECONDS


def _login_windows(username: str, client_ip: str, now: float):
    return (_window_keys("login-failures", f"{username.casefold()}|{client_ip}", now),
            _window_keys("login-failures-address", client_ip, now))


@cache_optional(0)
def login_attempt_begin(*, username: str, client_ip: str) -> int:
    """Count a sign-in attempt before its password is checked.

    Returns 0 when it may go ahead, else the seconds until it may be tried again. Two
    limits: one per username + address (someone guessing one account), and a larger one per
    address across all usernames (someone trying many accounts). Counting first is what
    makes the limits hold under parallel guesses: a check made before any of them had been
    recorded would let them all through.
    """
    now = time.time()
    per_user, per_address = _login_windows(username, client_ip, now)
    wait = _window_take(per_user, limit=settings.LOGIN_FAILURES_PER_15_MINUTES, now=now)
    if wait:
        return wait
    wait = _window_take(per_address, limit=settings.LOGIN_FAILURES_PER_ADDRESS_PER_15_MINUTES,
                        now=now)
    if wait:
        cache.decr(per_user[-1][1])  # refused before any password check: not a guess
    return wait


@cache_optional(None)
def login_attempt_succeeded(*, username: str, client_ip: str) -> None:
    """A successful sign-in forgets this account's failures and is not one for the address.

    The address count only ever holds failures (and attempts still being checked), so a
    classroom signing in from one school address does not use up its limit.
    """
    per_user, per_address = _login_windows(username, client_ip, time.time())
    cache.delete_many([key for _, key in per_user])
    # ValueError: the minute turned since the attempt began, so its bucket is an older one.
    with contextlib.suppress(ValueError):
        cache.decr(per_address[-1][1])
