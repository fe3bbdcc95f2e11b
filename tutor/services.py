"""Writes for people, lessons and classes."""

from __future__ import annotations

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
