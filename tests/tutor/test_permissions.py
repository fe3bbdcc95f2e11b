"""Every teacher view × every persona: who gets the page, who gets a 404, who must log in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import AttemptFactory

PERSONAS = ("learner", "other_learner", "teacher", "other_teacher", "admin", "anonymous")


def _class_url(name):
    return lambda s: reverse(name, args=[s.classroom.pk])


def _learner_url(name):
    return lambda s: reverse(name, args=[s.classroom.pk, s.learner.pk])


# (url name, url builder, is it about an object?)
VIEWS = [
    ("teacher-dashboard", lambda s: reverse("teacher-dashboard"), False),
    ("teacher-class", _class_url("teacher-class"), True),
    ("teacher-class-chart-scores", _class_url("teacher-class-chart-scores"), True),
    ("teacher-class-chart-errors", _class_url("teacher-class-chart-errors"), True),
    ("teacher-class-export-attempts", _class_url("teacher-class-export-attempts"), True),
    ("teacher-class-export-words", _class_url("teacher-class-export-words"), True),
    ("teacher-learner", _learner_url("teacher-learner"), True),
    ("teacher-learner-chart-scores", _learner_url("teacher-learner-chart-scores"), True),
]

# Who may see the school's classroom (and its learner): its teacher and the admin.
ALLOWED = {"teacher", "admin"}


def _expected(persona: str, is_object: bool) -> int:
    if persona == "anonymous":
        return 302
    if is_object:
        return 200 if persona in ALLOWED else 404
    # The dashboard lists the user's own classes: any teacher or admin, never a learner.
    return 200 if persona in ("teacher", "other_teacher", "admin") else 403


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("name", "url", "is_object"), VIEWS, ids=[v[0] for v in VIEWS])
def test_permission_matrix(client, school, persona, name, url, is_object):
    AttemptFactory(learner=school.learner, lesson=school.lesson)
    if persona != "anonymous":
        client.force_login(getattr(school, persona))
    response = client.get(url(school))
    expected = _expected(persona, is_object)
    assert response.status_code == expected, (name, persona)
    if expected == 302:
        assert response["Location"].startswith(reverse("login"))
    if expected == 200 and response.streaming:
        b"".join(response.streaming_content)  # consume, so the query runs inside the test


@pytest.mark.parametrize("name", ["teacher-learner", "teacher-learner-chart-scores"])
def test_learner_of_another_class_is_not_found_through_my_class(client, school, name):
    client.force_login(school.teacher)
    response = client.get(reverse(name, args=[school.classroom.pk, school.other_learner.pk]))
    assert response.status_code == 404


def test_my_learner_is_not_found_through_another_class(client, school):
    client.force_login(school.other_teacher)
    response = client.get(
        reverse("teacher-learner", args=[school.other_classroom.pk, school.learner.pk])
    )
    assert response.status_code == 404


def test_dashboard_lists_only_my_classes(client, school):
    client.force_login(school.other_teacher)
    body = client.get(reverse("teacher-dashboard")).content.decode()
    assert "Evening class" in body
    assert "Morning class" not in body


def test_admin_dashboard_lists_every_class(client, school):
    client.force_login(school.admin)
    body = client.get(reverse("teacher-dashboard")).content.decode()
    assert "Evening class" in body and "Morning class" in body


@pytest.mark.parametrize("name", [v[0] for v in VIEWS])
def test_views_refuse_post(client, school, name):
    client.force_login(school.teacher)
    url = dict((v[0], v[1]) for v in VIEWS)[name](school)
    assert client.post(url).status_code == 405


def test_class_export_contains_only_class_attempts(client, school):
    mine = AttemptFactory(learner=school.learner, lesson=school.lesson)
    theirs = AttemptFactory(learner=school.other_learner, lesson=school.lesson)
    client.force_login(school.teacher)
    response = client.get(reverse("teacher-class-export-attempts", args=[school.classroom.pk]))
    body = b"".join(response.streaming_content).decode()
    assert str(mine.public_id) in body
    assert str(theirs.public_id) not in body
