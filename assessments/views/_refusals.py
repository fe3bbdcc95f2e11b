"""A refused upload: the learner's message, the status, and how to show it.

The recorder script gets an error fragment; the plain form gets the practice page again with
the message on it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from assessments.audio import AudioRejected
from assessments.forms import AttemptUploadForm
from assessments.views._uploads import RATE_WINDOW_SECONDS, body_had_unread_file
from assessments.views.pages import practice_context

TOO_MANY_UPLOADS = (
    "You have sent a lot of recordings in the last minute. Take a short break, "
    "then try again in a minute."
)
# A full disk or a storage hiccup: worth another try soon, not at once.
STORAGE_RETRY_SECONDS = 30
STILL_SENDING = "Your recording is still being sent. Please wait a moment."
UNREADABLE_UPLOAD = (
    "We couldn't read that upload: the file's name may be very long or use characters we "
    "can't read. Rename the file to something short, like recording.wav, and send it again."
)


def upload_refused(request: HttpRequest, lesson, form: AttemptUploadForm | None, message: str,
                   status: int) -> HttpResponse:
    """A refused upload: a fragment for the recorder script, the page again without it."""
    if request.htmx:
        response = render(request, "assessments/partials/upload_error.html",
                          {"message": message}, status=status)
    else:
        context = practice_context(request, lesson, form)
        context["upload_error"] = message
        response = render(request, "assessments/practice.html", context, status=status)
    if status == 429:
        response["Retry-After"] = str(RATE_WINDOW_SECONDS)
    elif status == 503:
        response["Retry-After"] = str(STORAGE_RETRY_SECONDS)
    return response


def too_large_message() -> str:
    limit_mb = round(settings.AUDIO_MAX_UPLOAD_BYTES / (1024 * 1024), 1)
    return AudioRejected(AudioRejected.TOO_LARGE, limit_mb=limit_mb).learner_message


def first_form_error(request: HttpRequest, form: AttemptUploadForm) -> str:
    if "audio" in form.errors and body_had_unread_file(request):
        return UNREADABLE_UPLOAD  # a file came, under a name Django skipped
    for errors in form.errors.values():
        return str(errors[0])
    return "Choose a recording to send."
