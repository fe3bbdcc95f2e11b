"""Every view × every persona: who gets the page, who gets a 404, who must log in.

The matrix covers the learner pages (home, practice, upload, status, result, audio,
progress) and the teacher pages (dashboard, class, charts, exports, learner history). The
attempt in it belongs to ``school.learner`` and is on a lesson assigned only to their
class, so the teacher of the other class and its learner have no way to it.
"""

from __future__ import annotations

import csv
import io
import json
import wave
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assessments.permissions import attempt_visible_to
from tests.factories import AssignmentFactory, AttemptFactory, LessonFactory, WordResultFactory

PERSONAS = ("anonymous", "learner", "other_learner", "teacher", "other_teacher", "admin")
LOGIN = "login"
HTMX = {"HX-Request": "true"}


@dataclass
class Scene:
    school: object
    lesson: object  # assigned to school.classroom only
    attempt: object
    word: str = "zephyr"


@pytest.fixture
def scene(school):
    lesson = LessonFactory(title="Morning only")
    AssignmentFactory(classroom=school.classroom, lesson=lesson)
    attempt = AttemptFactory(learner=school.learner, lesson=lesson, pronunciation=73.0)
    WordResultFactory(attempt=attempt, order=0, word="zephyr", accuracy=40.0,
                      error_type="Mispronunciation")
    return Scene(school=school, lesson=lesson, attempt=attempt)


def _wav() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x10" * 8000)
    return SimpleUploadedFile("take.wav", buffer.getvalue(), content_type="audio/wav")


@dataclass
class View:
    name: str
    url: object  # Scene -> str
    expected: dict[str, int | str]  # persona -> status, or the URL name a 302 goes to
    method: str = "get"
    headers: dict[str, str] = field(default_factory=dict)
    shows_attempt: bool = False  # a 200 must then contain the attempt (id or score)


def _codes(**overrides: int | str) -> dict[str, int | str]:
    """Anonymous users go to the login page; everyone else as given."""
    return {"anonymous": LOGIN, **overrides}


# The class pages: its teacher and the admin; every other signed-in user gets a 404.
CLASS_ONLY = _codes(learner=404, other_learner=404, teacher=200, other_teacher=404, admin=200)
# The attempt: its learner, their class's teacher and the admin.
ATTEMPT_ONLY = _codes(learner=200, other_learner=404, teacher=200, other_teacher=404,
                      admin=200)


def _class(name):
    return lambda s: reverse(name, args=[s.school.classroom.pk])


def _learner(name):
    return lambda s: reverse(name, args=[s.school.classroom.pk, s.school.learner.pk])


def _attempt(name):
    return lambda s: reverse(name, args=[s.attempt.public_id])


def _lesson(name):
    return lambda s: reverse(name, args=[s.lesson.pk])


VIEWS = [
    View("home", lambda s: reverse("home"),
         _codes(learner=200, other_learner=200, teacher="teacher-dashboard",
                other_teacher="teacher-dashboard", admin="teacher-dashboard")),
    # Teachers and admins may try any active lesson; a learner only their class's.
    View("lesson-practice", _lesson("lesson-practice"),
         _codes(learner=200, other_learner=404, teacher=200, other_teacher=200, admin=200)),
    View("attempt-upload", _lesson("attempt-upload"),
         _codes(learner="attempt-detail", other_learner=404, teacher="attempt-detail",
                other_teacher="attempt-detail", admin="attempt-detail"),
         method="post"),
    # The htmx poll: 286 ends polling with the result; signed out, a 401 notice replaces
    # the panel (a redirect would lose a take recorded but not sent).
    View("attempt-status", _attempt("attempt-status"),
         {**ATTEMPT_ONLY, "anonymous": 401,
          **{p: 286 for p, c in ATTEMPT_ONLY.items() if c == 200}},
         headers=HTMX),
    View("attempt-detail", _attempt("attempt-detail"), ATTEMPT_ONLY, shows_attempt=True),
    View("attempt-audio", _attempt("attempt-audio"), ATTEMPT_ONLY),
    # Progress pages show the signed-in user's own attempts only, whoever they are.
    View("progress", lambda s: reverse("progress"),
         _codes(learner=200, other_learner=200, teacher=200, other_teacher=200, admin=200)),
    View("progress-lesson-chart", _lesson("progress-lesson-chart"),
         _codes(learner=200, other_learner=404, teacher=200, other_teacher=200, admin=200)),
    # The dashboard lists the user's own classes: a learner is refused outright.
    View("teacher-dashboard", lambda s: reverse("teacher-dashboard"),
         _codes(learner=403, other_learner=403, teacher=200, other_teacher=200, admin=200)),
    View("teacher-class", _class("teacher-class"), CLASS_ONLY, shows_attempt=True),
    View("teacher-class-chart-scores", _class("teacher-class-chart-scores"), CLASS_ONLY,
         shows_attempt=True),
    View("teacher-class-scores-weekly", _class("teacher-class-scores-weekly"), CLASS_ONLY,
         shows_attempt=True),
    View("teacher-class-chart-errors", _class("teacher-class-chart-errors"), CLASS_ONLY),
    View("teacher-class-export-attempts", _class("teacher-class-export-attempts"),
         CLASS_ONLY, shows_attempt=True),
    View("teacher-class-export-words", _class("teacher-class-export-words"), CLASS_ONLY,
         shows_attempt=True),
    View("teacher-learner", _learner("teacher-learner"), CLASS_ONLY, shows_attempt=True),
    View("teacher-learner-chart-scores", _learner("teacher-learner-chart-scores"),
         CLASS_ONLY, shows_attempt=True),
]


def _body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _request(client, scene, view: View):
    url = view.url(scene)
    if view.method == "post":
        return client.post(url, {"audio": _wav()}, headers=view.headers)
    return client.get(url, headers=view.headers)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("view", VIEWS, ids=[v.name for v in VIEWS])
def test_permission_matrix(client, scene, persona, view):
    if persona != "anonymous":
        client.force_login(getattr(scene.school, persona))
    response = _request(client, scene, view)
    expected = view.expected[persona]
    body = _body(response)  # streamed answers (CSV, audio) are read to the end

    if isinstance(expected, str):  # a redirect: to the login page, or onwards
        assert response.status_code == 302, (view.name, persona, response.status_code)
        target = reverse(expected) if expected in (LOGIN, "teacher-dashboard") else "/attempts/"
        assert response["Location"].startswith(target), (view.name, persona)
        return
    assert response.status_code == expected, (view.name, persona, response.status_code)
    attempt_id = str(scene.attempt.public_id)
    if expected in (200, 286) and persona in ("other_learner", "other_teacher"):
        # Pages about the user's own things: the attempt appears on none of them.
        assert attempt_id not in body, (view.name, persona)
    if expected == 200 and view.shows_attempt:
        _assert_shows_attempt(view.name, body, scene)


def _assert_shows_attempt(name: str, body: str, scene: Scene) -> None:
    attempt_id = str(scene.attempt.public_id)
    if name.endswith("-attempts"):
        rows = list(csv.DictReader(io.StringIO(body)))
        assert [row["attempt_id"] for row in rows] == [attempt_id]
        assert rows[0]["pronunciation"] == "73.0"
    elif name.endswith("-words"):
        rows = list(csv.DictReader(io.StringIO(body)))
        assert [(row["attempt_id"], row["word"]) for row in rows] == [(attempt_id, "zephyr")]
    elif name.endswith("-chart-scores"):
        data = json.loads(body)
        assert data["datasets"][0]["label"] == "Pronunciation"
        assert 73.0 in data["datasets"][0]["data"]
    elif name == "teacher-class":
        assert scene.school.learner.display_name in body and "Morning only" in body
    elif name == "teacher-class-scores-weekly":
        assert "<td>73</td>" in body
    else:
        assert attempt_id in body or "Morning only" in body, name


def test_attempt_audio_content_for_its_viewers(client, scene):
    for persona in ("learner", "teacher", "admin"):
        client.force_login(getattr(scene.school, persona))
        response = client.get(reverse("attempt-audio", args=[scene.attempt.public_id]))
        assert b"".join(response.streaming_content) == b"RIFF....WAVE", persona


def test_progress_chart_is_always_the_viewers_own(client, scene):
    client.force_login(scene.school.learner)
    mine = client.get(reverse("progress-lesson-chart", args=[scene.lesson.pk])).json()
    assert mine["datasets"][0]["data"] == [73.0]
    client.force_login(scene.school.teacher)  # may open the lesson, but has no attempts
    theirs = client.get(reverse("progress-lesson-chart", args=[scene.lesson.pk])).json()
    assert theirs["datasets"] == []


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


TEACHER_VIEWS = [v for v in VIEWS if v.name.startswith("teacher-")]


@pytest.mark.parametrize("view", TEACHER_VIEWS, ids=[v.name for v in TEACHER_VIEWS])
def test_teacher_views_refuse_post(client, scene, view):
    client.force_login(scene.school.teacher)
    assert client.post(view.url(scene)).status_code == 405


def test_class_export_contains_only_class_attempts(client, school):
    mine = AttemptFactory(learner=school.learner, lesson=school.lesson)
    theirs = AttemptFactory(learner=school.other_learner, lesson=school.lesson)
    client.force_login(school.teacher)
    response = client.get(reverse("teacher-class-export-attempts", args=[school.classroom.pk]))
    body = b"".join(response.streaming_content).decode()
    assert str(mine.public_id) in body
    assert str(theirs.public_id) not in body


# --- Scope: a learner in two classes --------------------------------------------------------
#
# school.learner is in the morning class (school.teacher) and also in the evening class
# (school.other_teacher). What they practise for the evening class's own lesson belongs to
# the evening class: the morning teacher sees it nowhere.


@dataclass
class TwoClasses:
    school: object
    mine: object  # on a lesson of the morning class
    theirs: object  # on a lesson assigned only to the evening class
    their_lesson: object


@pytest.fixture
def two_classes(school):
    school.other_classroom.learners.add(school.learner)
    their_lesson = LessonFactory(title="Evening secret")
    AssignmentFactory(classroom=school.other_classroom, lesson=their_lesson)
    mine = AttemptFactory(learner=school.learner, lesson=school.lesson, pronunciation=70.0)
    WordResultFactory(attempt=mine, order=0, word="morning", accuracy=90.0)
    theirs = AttemptFactory(learner=school.learner, lesson=their_lesson, pronunciation=33.0)
    WordResultFactory(attempt=theirs, order=0, word="nocturne", accuracy=20.0,
                      error_type="Omission")
    return TwoClasses(school=school, mine=mine, theirs=theirs, their_lesson=their_lesson)


def _get_body(client, name, *args, **headers) -> tuple[int, str]:
    response = client.get(reverse(name, args=args), headers=headers)
    return response.status_code, _body(response)


def test_other_classes_attempt_is_not_found_by_my_teacher(client, two_classes):
    school, theirs = two_classes.school, two_classes.theirs
    client.force_login(school.teacher)
    for name in ("attempt-detail", "attempt-audio"):
        assert client.get(reverse(name, args=[theirs.public_id])).status_code == 404, name
    poll = client.get(reverse("attempt-status", args=[theirs.public_id]), headers=HTMX)
    assert poll.status_code == 404
    # …while my own class's attempt of the same learner opens.
    assert client.get(
        reverse("attempt-detail", args=[two_classes.mine.public_id])
    ).status_code == 200


def test_other_classes_attempt_is_not_in_my_history(client, two_classes):
    school = two_classes.school
    client.force_login(school.teacher)
    url = reverse("teacher-learner", args=[school.classroom.pk, school.learner.pk])
    response = client.get(url)
    assert [a.pk for a in response.context["page"].object_list] == [two_classes.mine.pk]
    assert response.context["scores_chart"]["datasets"][0]["data"] == [70.0]
    lesson_choices = list(response.context["form"].fields["lesson"].queryset)
    assert two_classes.their_lesson not in lesson_choices
    body = response.content.decode()
    assert "Evening secret" not in body and str(two_classes.theirs.public_id) not in body
    # Asking for it by its lesson is an invalid choice, not a way in.
    response = client.get(url, {"lesson": two_classes.their_lesson.pk})
    assert "lesson" in response.context["form"].errors
    assert [a.pk for a in response.context["page"].object_list] == [two_classes.mine.pk]
    chart = client.get(
        reverse("teacher-learner-chart-scores", args=[school.classroom.pk, school.learner.pk])
    ).json()
    assert chart["datasets"][0]["data"] == [70.0]


def test_other_classes_attempt_is_not_in_my_grid_charts_or_insight(client, two_classes):
    school = two_classes.school
    client.force_login(school.teacher)
    response = client.get(reverse("teacher-class", args=[school.classroom.pk]))
    [row] = [r for r in response.context["grid"].rows if r.learner == school.learner]
    assert row.attempt_count == 1 and row.average == 70.0
    assert [lesson.title for lesson in response.context["grid"].lessons] == ["Greetings"]
    assert [item.text for item in response.context["missed_words"]] == []
    assert dict(zip(response.context["errors_chart"]["labels"],
                    response.context["errors_chart"]["datasets"][0]["data"],
                    strict=True))["Omission"] == 0
    assert "Evening secret" not in response.content.decode()

    status, body = _get_body(client, "teacher-class-chart-scores", school.classroom.pk)
    assert json.loads(body)["datasets"][0]["data"] == [70.0]
    status, body = _get_body(client, "teacher-class-chart-errors", school.classroom.pk)
    assert sum(json.loads(body)["datasets"][0]["data"]) == 0
    status, body = _get_body(client, "teacher-class-scores-weekly", school.classroom.pk)
    assert "<td>70</td>" in body and "<td>33</td>" not in body


def test_other_classes_attempt_is_not_in_my_exports(client, two_classes):
    school = two_classes.school
    client.force_login(school.teacher)
    _, body = _get_body(client, "teacher-class-export-attempts", school.classroom.pk)
    assert [row["attempt_id"] for row in csv.DictReader(io.StringIO(body))] == [
        str(two_classes.mine.public_id)
    ]
    _, body = _get_body(client, "teacher-class-export-words", school.classroom.pk)
    assert [row["word"] for row in csv.DictReader(io.StringIO(body))] == ["morning"]


def test_other_classes_attempt_is_not_in_my_dashboard(client, two_classes):
    school = two_classes.school
    client.force_login(school.teacher)
    [summary] = client.get(reverse("teacher-dashboard")).context["summaries"]
    assert summary.attempts_this_week == 1
    assert summary.average_this_week == 70.0


def test_learner_practising_only_another_classes_lesson_counts_as_not_practised(
    client, two_classes
):
    school = two_classes.school
    two_classes.mine.delete()
    client.force_login(school.teacher)
    [summary] = client.get(reverse("teacher-dashboard")).context["summaries"]
    assert summary.inactive_learners == [school.learner]
    assert summary.attempts_this_week == 0


def test_the_other_classes_teacher_sees_it_everywhere(client, two_classes):
    school, theirs = two_classes.school, two_classes.theirs
    client.force_login(school.other_teacher)
    assert client.get(reverse("attempt-detail", args=[theirs.public_id])).status_code == 200
    response = client.get(reverse("attempt-audio", args=[theirs.public_id]))
    assert response.status_code == 200
    b"".join(response.streaming_content)
    _, body = _get_body(client, "teacher-class-export-attempts", school.other_classroom.pk)
    ids = {row["attempt_id"] for row in csv.DictReader(io.StringIO(body))}
    # A lesson assigned to both classes is each class's: the evening teacher sees that too.
    assert ids == {str(theirs.public_id), str(two_classes.mine.public_id)}


def test_admin_and_the_learner_still_see_both(client, two_classes):
    school = two_classes.school
    for persona in ("admin", "learner"):
        client.force_login(getattr(school, persona))
        for attempt in (two_classes.mine, two_classes.theirs):
            response = client.get(reverse("attempt-detail", args=[attempt.public_id]))
            assert response.status_code == 200, persona


def test_teacher_of_both_classes_sees_both(client, two_classes):
    school = two_classes.school
    school.other_classroom.teachers.add(school.teacher)
    client.force_login(school.teacher)
    response = client.get(reverse("attempt-detail", args=[two_classes.theirs.public_id]))
    assert response.status_code == 200
    # Still once each, though the learner and the shared lesson are in both classes.
    assert attempt_visible_to(user=school.teacher).count() == 2
