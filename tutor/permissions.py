"""Who may see which class, learner and attempt.

Every teacher page narrows its queries through these functions, so an object outside the
user's reach is simply not found (404) rather than found and then refused: that way a
missing check can never leak whether a class or learner exists. Which attempt a user may
open is decided in one place, ``assessments.permissions.attempt_visible_to``; the class
pages show the same scope for one class: its learners' attempts on its assigned lessons.
"""

from __future__ import annotations

from django.db.models import QuerySet

from tutor.models import Assignment, Classroom, User


def user_is_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.is_admin_role)


def user_can_teach(user: User) -> bool:
    """Teachers and admins may open the teacher pages (their content is still narrowed)."""
    return bool(user.is_authenticated and (user.is_teacher or user.is_admin_role))


def classrooms_visible_to(*, user: User) -> QuerySet[Classroom]:
    """Admins see every class, teachers the classes they teach, everyone else none."""
    if user_is_admin(user):
        return Classroom.objects.all()
    if user_can_teach(user):
        return Classroom.objects.filter(teachers=user)
    return Classroom.objects.none()


def classroom_learner_ids(*, classroom: Classroom) -> QuerySet:
    """The class's learner ids as a subquery, so attempt filters stay one SQL statement."""
    return Classroom.learners.through.objects.filter(classroom=classroom).values("user_id")


def classroom_lesson_ids(*, classroom: Classroom) -> QuerySet:
    """The class's assigned lesson ids as a subquery.

    A learner in two classes practises lessons of both; each class's pages count only the
    lessons it assigned, so one teacher never sees the work set by another.
    """
    return Assignment.objects.filter(classroom=classroom).values("lesson_id")
