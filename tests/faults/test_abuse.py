"""Abuse: forged posts, other people's data by id, wrong roles, guessing, flooding, headers.

Production settings (``check --deploy`` clean, refusal of DEBUG and weak keys) are tested in
``tests/tutor/test_settings.py``.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from assessments.models import Attempt
from tests.factories import PASSWORD, AttemptFactory, LessonFactory
from tests.faults.helpers import HTMX, refusal_text, upload

pytestmark = pytest.mark.django_db

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_SAMPLE = {"int": "1", "uuid": str(uuid.uuid4()), "str": "x", "slug": "x", "path": "x/y"}


def _routes(patterns=None, prefix: str = "") -> list[str]:
    """Every URL of the project as a concrete path (converters filled with sample values)."""
    found: list[str] = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if hasattr(pattern.pattern, "_route"):
            route = str(pattern.pattern._route)
        else:  # a regex pattern: usable only when it captures nothing
            regex = pattern.pattern.regex
            if regex.groups:
                continue
            route = regex.pattern.lstrip("^").rstrip("$").replace("\\", "")
        route = _CONVERTER.sub(lambda m: _SAMPLE.get(m.group(1) or "str", "x"), route)
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            found.append("/" + prefix + route)
    return sorted(set(found))


# --- CSRF -------------------------------------------------------------------------------------


def test_every_url_refuses_a_post_without_a_csrf_token(school):
    """No view is csrf_exempt: a forged cross-site POST never reaches any of them."""
    routes = _routes()
    for name, args in [("attempt-upload", [school.lesson.pk]), ("login", []), ("logout", [])]:
        assert reverse(name, args=args).replace(str(school.lesson.pk), "1") in routes
    assert any(r.startswith("/admin/") for r in routes)
    for user in (None, school.learner, school.teacher, school.admin):
        client = Client(enforce_csrf_checks=True)
        if user is not None:
            client.force_login(user)
        for path in routes:
            for headers in ({}, HTMX):
                response = client.post(path, {"x": "1"}, **headers)
                assert response.status_code == 403, (user, path, response.status_code)
                # The project's CSRF_FAILURE_VIEW answers, and nothing else says this.
                assert "This page has expired" in refusal_text(response), (user, path)


def test_upload_with_a_stolen_looking_token_but_no_cookie_is_refused(school, audio_factory):
    client = Client(enforce_csrf_checks=True)
    client.force_login(school.learner)
    response = upload(client, school.lesson, b"RIFF", HTTP_X_CSRFTOKEN="a" * 64)
    assert response.status_code == 403
    assert Attempt.objects.count() == 0


def test_post_with_the_page_token_passes_csrf(school):
    """The control for the test above: the same client with a real token gets through."""
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("login"))
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("login"),
        {"username": school.learner.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_logout_needs_a_post(school, client):
    client.force_login(school.learner)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("home")).status_code == 200  # still signed in


# --- Other people's things by id ---------------------------------------------------------------


@pytest.fixture
def learners_attempt(school) -> Attempt:
    return AttemptFactory(learner=school.learner, lesson=school.lesson)


ATTEMPT_URLS = ["attempt-detail", "attempt-status", "attempt-audio"]


@pytest.mark.parametrize("name", ATTEMPT_URLS)
@pytest.mark.parametrize("intruder", ["other_learner", "other_teacher"])
def test_someone_elses_attempt_is_not_found(school, learners_attempt, client, name, intruder):
    client.force_login(getattr(school, intruder))
    response = client.get(reverse(name, args=[learners_attempt.public_id]), **HTMX)
    assert response.status_code == 404


@pytest.mark.parametrize("name", ATTEMPT_URLS)
@pytest.mark.parametrize("viewer", ["learner", "teacher", "admin"])
def test_owner_teacher_and_admin_can_open_the_attempt(school, learners_attempt, client, name,
                                                      viewer):
    """The control for the test above: the same URLs work for the people allowed."""
    client.force_login(getattr(school, viewer))
    response = client.get(reverse(name, args=[learners_attempt.public_id]), **HTMX)
    assert response.status_code in (200, 286)


@pytest.mark.parametrize("name", ATTEMPT_URLS)
def test_anonymous_users_get_nothing(learners_attempt, client, name):
    response = client.get(reverse(name, args=[learners_attempt.public_id]))
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))


def test_guessed_attempt_ids_are_not_found(school, client):
    client.force_login(school.admin)
    for name in ATTEMPT_URLS:
        assert client.get(reverse(name, args=[uuid.uuid4()]), **HTMX).status_code == 404
    assert client.get(f"/attempts/{1}/").status_code == 404  # numeric ids are not routes


def test_upload_to_a_lesson_not_assigned_to_the_learner_is_not_found(school, client):
    stranger = LessonFactory(title="Not yours")
    client.force_login(school.learner)
    response = upload(client, stranger, b"RIFF")
    assert response.status_code == 404
    assert client.get(reverse("lesson-practice", args=[stranger.pk])).status_code == 404


@pytest.mark.parametrize("name", ["teacher-class-export-attempts", "teacher-class-export-words"])
def test_other_class_csv_is_not_found_for_a_teacher(school, learners_attempt, client, name):
    client.force_login(school.other_teacher)
    assert client.get(reverse(name, args=[school.classroom.pk])).status_code == 404
    own = client.get(reverse(name, args=[school.other_classroom.pk]))
    assert own.status_code == 200
    body = b"".join(own.streaming_content) if own.streaming else own.content
    assert str(learners_attempt.public_id).encode() not in body
    rows = body.decode().splitlines()[1:]
    assert rows == [], "the other class has no attempts; nothing of this class may leak"


def test_other_class_learner_history_is_not_found_for_a_teacher(school, client):
    client.force_login(school.other_teacher)
    for name in ("teacher-learner", "teacher-learner-chart-scores"):
        url = reverse(name, args=[school.classroom.pk, school.learner.pk])
        assert client.get(url).status_code == 404
        # Nor through the teacher's own class with someone else's learner id.
        url = reverse(name, args=[school.other_classroom.pk, school.learner.pk])
        assert client.get(url).status_code == 404


# --- A learner on teacher and admin URLs ------------------------------------------------------


def _teacher_urls(school) -> list[str]:
    c, learner = school.classroom.pk, school.learner.pk
    return [
        reverse("teacher-dashboard"),
        reverse("teacher-class", args=[c]),
        reverse("teacher-class-chart-scores", args=[c]),
        reverse("teacher-class-scores-weekly", args=[c]),
        reverse("teacher-class-chart-errors", args=[c]),
        reverse("teacher-class-export-attempts", args=[c]),
        reverse("teacher-class-export-words", args=[c]),
        reverse("teacher-learner", args=[c, learner]),
        reverse("teacher-learner-chart-scores", args=[c, learner]),
    ]


def test_every_teacher_url_is_listed_here(school):
    listed = {u for u in _teacher_urls(school)}
    teach = {r for r in _routes() if r.startswith("/teach/")}
    assert len(teach) == len(listed), "a new teacher URL: add it to _teacher_urls()"


def test_learner_on_teacher_urls_is_refused(school, learners_attempt, client):
    client.force_login(school.learner)
    for url in _teacher_urls(school):
        response = client.get(url)
        assert response.status_code in (403, 404), (url, response.status_code)


def test_teacher_urls_work_for_the_teacher(school, learners_attempt, client):
    """The control for the test above."""
    client.force_login(school.teacher)
    for url in _teacher_urls(school):
        assert client.get(url).status_code == 200, url


def test_anonymous_on_teacher_urls_is_sent_to_login(school, client):
    for url in _teacher_urls(school):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["learner", "teacher"])
def test_admin_site_is_closed_to_learners_and_teachers(school, client, who):
    client.force_login(getattr(school, who))
    for path in ("/admin/", "/admin/tutor/lesson/", "/admin/tutor/lesson/add/",
                 "/admin/assessments/attempt/"):
        response = client.get(path)
        assert response.status_code in (302, 403, 404), (path, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith("/admin/login/")


# --- Guessing passwords -------------------------------------------------------------------------


def _login(client: Client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=address)


def test_login_is_throttled_after_repeated_failures(school, client, settings):
    settings.LOGIN_FAILURES_PER_15_MINUTES = 3
    for _ in range(3):
        response = _login(client, school.learner.username, "wrong-password")
        assert response.status_code == 200  # the form again, with the usual error
    response = _login(client, school.learner.username, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in refusal_text(response)
    assert "_auth_user_id" not in client.session  # the right password did not get in either
    # Another address is not locked out by someone else's guessing.
    assert _login(Client(), school.learner.username, PASSWORD, "198.51.100.9").status_code == 302


def test_login_throttling_ignores_forwarded_headers(school, client, settings):
    settings.LOGIN_FAILURES_PER_15_MINUTES = 2
    for n in range(2):
        client.post(reverse("login"), {"username": "learner", "password": "nope"},
                    REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    response = client.post(reverse("login"), {"username": "learner", "password": "nope"},
                           REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="10.0.0.99")
    assert response.status_code == 429


def test_login_with_an_absurd_username_is_a_form_error(school, client):
    response = _login(client, "x" * 10_000, "y" * 10_000)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


# --- Flooding uploads ---------------------------------------------------------------------------


def test_uploads_per_minute_are_limited_per_learner(school, client, settings, audio_factory):
    settings.UPLOADS_PER_MINUTE = 3
    client.force_login(school.learner)
    wav = audio_factory.speech("Good morning").read_bytes()
    statuses = [upload(client, school.lesson, wav, name="a.wav", content_type="audio/wav")
                .status_code for _ in range(3)]
    assert statuses == [202, 202, 202]
    response = upload(client, school.lesson, wav, name="a.wav", content_type="audio/wav")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "try again in a minute" in refusal_text(response)
    assert Attempt.objects.count() == 3
    # Refused junk counts too, so a flood of bad files is limited just the same.
    assert upload(client, school.lesson, b"junk").status_code == 429
    # Other learners are not affected.
    other = Client()
    other.force_login(school.other_learner)
    assert upload(other, school.lesson, wav, name="a.wav",
                  content_type="audio/wav").status_code == 202


# --- Security headers -----------------------------------------------------------------------------

EXPECTED_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _check_headers(response, *, csp: bool = True) -> None:
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    policy = response.headers.get("Permissions-Policy", "")
    assert "microphone=(self)" in policy and "camera=()" in policy
    if csp:
        directives = dict(
            (part.strip().split(" ", 1) + [""])[:2]
            for part in response.headers["Content-Security-Policy"].split(";")
        )
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"  # no inline scripts, no eval
        assert directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_security_headers_on_every_kind_of_page(school, learners_attempt, client):
    anonymous = [reverse("login")]
    for url in anonymous:
        _check_headers(client.get(url))
    client.force_login(school.learner)
    learner_pages = [
        reverse("home"),
        reverse("lesson-practice", args=[school.lesson.pk]),
        reverse("attempt-detail", args=[learners_attempt.public_id]),
        reverse("progress"),
    ]
    for url in learner_pages:
        response = client.get(url)
        assert response.status_code == 200, url
        _check_headers(response)
    _check_headers(client.get(reverse("attempt-audio", args=[learners_attempt.public_id])))
    _check_headers(upload(client, school.lesson, b""))  # a refusal (400)
    _check_headers(client.get("/no-such-page/"))  # 404
    _check_headers(client.get(reverse("teacher-dashboard")))  # 403
    client.force_login(school.teacher)
    for url in _teacher_urls(school):
        _check_headers(client.get(url))


def test_admin_keeps_frame_and_sniffing_protection(school, client):
    client.force_login(school.admin)
    response = client.get("/admin/")
    assert response.status_code == 200
    _check_headers(response, csp=False)


def test_session_and_csrf_cookies(school, client):
    response = client.post(reverse("login"), {"username": "learner", "password": PASSWORD})
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"
