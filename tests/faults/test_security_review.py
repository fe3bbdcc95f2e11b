"""Security review: served recordings, Range parsing and history filters on hostile input."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from assessments.models import Attempt
from tests.factories import AttemptFactory

pytestmark = pytest.mark.django_db


def _recording(school, content: bytes = b"RIFF" + bytes(96), content_type: str = "audio/wav"):
    return AttemptFactory(
        learner=school.learner, lesson=school.lesson,
        original_audio=ContentFile(content, name="original"),
        original_content_type=content_type,
    )


@pytest.fixture
def client_500(school) -> Client:
    """The learner's client, answering 500 instead of raising, as a real server would."""
    client = Client(raise_request_exception=False)
    client.force_login(school.learner)
    return client


def _audio(client: Client, attempt: Attempt, **headers):
    return client.get(reverse("attempt-audio", args=[attempt.public_id]), **headers)


# --- Which type a recording is served as ----------------------------------------------------


@pytest.mark.parametrize("stored", [
    # Browsers take the last type of a comma-separated list (WHATWG "extract a MIME type").
    "audio/wav, text/html",
    "audio/webm,text/javascript",
    "audio/x-wav text/html",
    "audio/",
    "audio/<script>",
])
def test_a_crafted_part_type_is_never_served_as_a_document_or_script(school, client, stored):
    attempt = _recording(school, b"RIFF<html><script src=x></script>", stored)
    client.force_login(school.teacher)  # the teacher is the one who would be attacked
    response = _audio(client, attempt)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("stored", "served"), [
    ("audio/webm;codecs=opus", "audio/webm"),
    ("audio/ogg; codecs=\"opus\"", "audio/ogg"),
    ("audio/mp4", "audio/mp4"),
    ("Audio/X-WAV", "audio/x-wav"),
    ("audio/vnd.wave", "audio/vnd.wave"),
])
def test_real_audio_types_are_kept(school, client, stored, served):
    attempt = _recording(school, content_type=stored)
    client.force_login(school.learner)
    assert _audio(client, attempt)["Content-Type"] == served


def test_a_recording_opened_on_its_own_is_a_sandboxed_document(school, client):
    attempt = _recording(school)
    client.force_login(school.learner)
    for response in (_audio(client, attempt), _audio(client, attempt, HTTP_RANGE="bytes=0-3")):
        policy = [p.strip() for p in response["Content-Security-Policy"].split(";")]
        assert "sandbox" in policy
        assert "media-src 'self' blob:" in policy  # the page policy is still there


# --- Range headers ---------------------------------------------------------------------------


@pytest.mark.parametrize("header", [
    "bytes=" + "1" * 5000 + "-",
    "bytes=-" + "9" * 5000,
    "bytes=0-" + "9" * 5000,
    "bytes=" + "9" * 19 + "-",
    "bytes=\u0663-",  # an Arabic-Indic digit: not a number in HTTP
    "bytes=\uff11-\uff12",  # fullwidth digits
    "bytes=--1",
    "bytes=1-2-3",
    "bytes= 1-2",
    "items=0-1",
    "bytes=0-1,\x00",
])
def test_malformed_or_huge_ranges_get_the_whole_file(client_500, school, header):
    attempt = _recording(school)
    response = _audio(client_500, attempt, HTTP_RANGE=header)
    assert response.status_code == 200, header[:30]
    assert response["Content-Length"] == "100"
    assert "Content-Range" not in response


def test_large_but_readable_ranges_are_clipped_or_unsatisfiable(client_500, school):
    attempt = _recording(school)
    huge_end = _audio(client_500, attempt, HTTP_RANGE="bytes=10-" + "9" * 18)
    assert huge_end.status_code == 206
    assert huge_end["Content-Range"] == "bytes 10-99/100"
    huge_start = _audio(client_500, attempt, HTTP_RANGE="bytes=" + "9" * 18 + "-")
    assert huge_start.status_code == 416
    huge_suffix = _audio(client_500, attempt, HTTP_RANGE="bytes=-" + "9" * 18)
    assert huge_suffix.status_code == 206
    assert huge_suffix["Content-Range"] == "bytes 0-99/100"
    backwards = _audio(client_500, attempt, HTTP_RANGE="bytes=50-10")
    assert backwards.status_code == 416


def test_no_range_of_an_empty_recording_is_satisfiable(client_500, school):
    attempt = _recording(school, b"")
    for header in ("bytes=-5", "bytes=0-", "bytes=0-0"):
        response = _audio(client_500, attempt, HTTP_RANGE=header)
        assert response.status_code == 416, header
        assert response["Content-Range"] == "bytes */0"
    assert _audio(client_500, attempt).status_code == 200


# --- Teacher history filters -----------------------------------------------------------------


@pytest.mark.parametrize("query", [
    "date_to=9999-12-31",
    "date_from=9999-12-31",
    "date_from=0001-01-01",
    "date_from=0001-01-01&date_to=9999-12-31",
])
@pytest.mark.parametrize("name", ["teacher-learner", "teacher-learner-chart-scores"])
def test_extreme_history_dates_are_a_form_error_not_a_500(school, query, name, settings):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: the earliest date has no UTC instant
    AttemptFactory(learner=school.learner, lesson=school.lesson)
    client = Client(raise_request_exception=False)
    client.force_login(school.teacher)
    url = reverse(name, args=[school.classroom.pk, school.learner.pk])
    response = client.get(f"{url}?{query}")
    assert response.status_code == 200, response.status_code
    if name == "teacher-learner":
        assert b"field-error" in response.content


def test_signed_in_responses_are_private_to_the_browser(school, client):
    client.force_login(school.teacher)
    chart = client.get(reverse("teacher-class-chart-scores", args=[school.classroom.pk]))
    assert chart.status_code == 200
    assert "private" in chart["Cache-Control"]
