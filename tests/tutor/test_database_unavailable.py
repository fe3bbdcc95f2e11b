"""Error answers a person can read: a busy database, a stale form, a server error."""

from __future__ import annotations

import sqlite3

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.html import escape

from tests.factories import PASSWORD
from tutor.middleware import DatabaseUnavailableMiddleware
from tutor.views.errors import (
    DATABASE_BUSY_MESSAGE,
    UPLOAD_BUSY_MESSAGE,
    UPLOAD_FORM_EXPIRED_MESSAGE,
    server_error,
)

middleware = DatabaseUnavailableMiddleware(lambda request: None)


def test_a_locked_database_during_an_htmx_upload_answers_the_recorder_fragment():
    request = RequestFactory().post(
        "/lessons/1/attempts/",
        {"audio": SimpleUploadedFile("a.webm", b"\x1aE\xdf\xa3" + b"0" * 100)},
        headers={"HX-Request": "true"},
    )
    response = middleware.process_exception(request, OperationalError("database is locked"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.content.decode()
    assert 'id="upload-error"' in body
    assert UPLOAD_BUSY_MESSAGE in body


def test_a_page_request_gets_a_whole_page_that_needs_no_database():
    request = RequestFactory().get("/teach/")
    response = middleware.process_exception(
        request, OperationalError("connection to server failed")
    )
    assert response.status_code == 503
    body = response.content.decode()
    assert body.startswith("<!doctype html>")
    assert DATABASE_BUSY_MESSAGE in body


def test_other_errors_are_left_to_django():
    request = RequestFactory().get("/")
    assert middleware.process_exception(request, ValueError("a bug")) is None


def test_a_busy_database_outside_any_view_still_gets_the_503():
    """handler500 runs while the exception is being handled, e.g. saving the session."""
    request = RequestFactory().post("/accounts/login/")
    try:
        raise sqlite3.OperationalError("database is locked")
    except sqlite3.OperationalError as raw:
        try:
            raise OperationalError(*raw.args) from raw
        except OperationalError:
            response = server_error(request)
    assert response.status_code == 503
    assert DATABASE_BUSY_MESSAGE in response.content.decode()


def test_any_other_server_error_gets_a_page_that_needs_no_context():
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert "ValueError" not in response.content.decode()


@pytest.mark.django_db
def test_a_stale_csrf_token_on_an_upload_explains_and_keeps_the_recording(school):
    client = Client(enforce_csrf_checks=True)
    client.force_login(school.learner)
    response = client.post(
        reverse("attempt-upload", args=[school.lesson.pk]),
        {"audio": SimpleUploadedFile("a.wav", b"RIFF" + b"0" * 100)},
        headers={"HX-Request": "true", "X-CSRFToken": "stale-token-from-an-old-page"},
    )
    assert response.status_code == 403
    assert 'id="upload-error"' in response.content.decode()
    assert escape(UPLOAD_FORM_EXPIRED_MESSAGE) in response.content.decode()


@pytest.mark.django_db
def test_a_stale_form_page_is_a_readable_page(school):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "learner", "password": PASSWORD})
    assert response.status_code == 403
    assert "This page has expired" in response.content.decode()


@pytest.mark.django_db
def test_not_found_and_forbidden_pages_are_the_sites_own(client, school):
    client.force_login(school.learner)
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert "We could not find that page" in missing.content.decode()
