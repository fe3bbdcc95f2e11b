"""A database that stays locked or unreachable gets a 503 with a plain message, not a 500."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.template.loader import render_to_string
from django.test import RequestFactory

from tutor.middleware import (
    DATABASE_BUSY_MESSAGE,
    UPLOAD_BUSY_MESSAGE,
    DatabaseUnavailableMiddleware,
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


def test_the_server_error_page_renders_without_any_context():
    body = render_to_string("500.html")
    assert "Something went wrong on our side" in body
