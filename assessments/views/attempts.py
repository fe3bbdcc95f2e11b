"""Sending a recording, and following its attempt until the result is in."""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from assessments import selectors
from assessments.audio import AudioRejected
from assessments.engines.base import AssessmentError
from assessments.forms import AttemptUploadForm
from assessments.models import Attempt, AttemptStatus
from assessments.permissions import attempt_visible_to, lesson_practicable_by
from assessments.services import attempt_create
from assessments.upload_handlers import TOO_LARGE_FLAG, AudioSizeLimitUploadHandler
from assessments.views._uploads import (
    PENDING,
    RATE_WINDOW_SECONDS,
    body_discard,
    body_had_unread_file,
    submission_claim,
    submission_complete,
    submission_release,
    upload_rate_exceeded,
)
from assessments.views.pages import practice_context

logger = logging.getLogger(__name__)

TOO_MANY_UPLOADS = (
    "You have sent a lot of recordings in the last minute. Take a short break, "
    "then try again in a minute."
)
# A full disk or a storage hiccup: worth another try soon, not at once.
STORAGE_RETRY_SECONDS = 30
STILL_SENDING = "Your recording is still being sent. Please wait a moment."
SIGNED_OUT_UPLOAD = (
    "You have been signed out. Sign in again in another tab, then send your recording "
    "again: it is still here."
)
SIGNED_OUT_POLL = (
    "You have been signed out, so your result cannot be shown here. Your recording is saved."
)
UNREADABLE_UPLOAD = (
    "We couldn't read that upload: the file's name may be very long or use characters we "
    "can't read. Rename the file to something short, like recording.wav, and send it again."
)


def _announcement(attempt: Attempt, *, is_owner: bool) -> str:
    """What the live region says when the attempt reaches this state."""
    # A teacher watching a learner's attempt reads about "the" recording, not "your".
    whose = "Your" if is_owner else "The"
    if attempt.status == AttemptStatus.QUEUED:
        return f"{whose} recording is uploaded and waiting to be scored."
    if attempt.status == AttemptStatus.PROCESSING:
        return f"Scoring {whose.lower()} recording."
    if attempt.status == AttemptStatus.FAILED:
        return attempt.failure_message or "We could not score this recording."
    if attempt.pronunciation is not None:
        return f"{whose} result is ready: pronunciation {attempt.pronunciation:.0f} out of 100."
    return f"{whose} result is ready."


def panel_context(request: HttpRequest, attempt: Attempt, *, oob: bool) -> dict:
    is_owner = attempt.learner_id == request.user.pk
    return {
        "attempt": attempt,
        "lesson": attempt.lesson,
        "is_owner": is_owner,
        "announcement": _announcement(attempt, is_owner=is_owner),
        "oob": oob,
    }


def _sign_in_url(come_back_to: str) -> str:
    return f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': come_back_to})}"


def _signed_out_of_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """401 with a message for the recorder script; the plain form goes to sign in.

    Either way the learner comes back to the practice page: after signing in, Django would
    otherwise send them to ``next``, the upload URL, which only takes POST.
    """
    practice = reverse("lesson-practice", args=[pk])
    if not request.htmx:
        return redirect_to_login(practice)
    context = {"message": SIGNED_OUT_UPLOAD, "sign_in_url": _sign_in_url(practice)}
    return render(request, "assessments/partials/upload_error.html", context, status=401)


def _signed_out_of_poll(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """401 with a notice in place of the polling panel, instead of a redirect.

    ``HX-Redirect`` to the sign-in page would also throw away a new take the learner has
    recorded on the practice page but not sent yet; the notice links to signing in from
    another tab and offers to look again afterwards. result.js lets htmx swap it in.
    """
    detail = reverse("attempt-detail", args=[public_id])
    if not request.htmx:
        return redirect_to_login(detail)
    context = {
        "message": SIGNED_OUT_POLL,
        "sign_in_url": _sign_in_url(request.htmx.current_url_abs_path or detail),
        "status_url": reverse("attempt-status", args=[public_id]),
    }
    return render(request, "assessments/partials/signed_out.html", context, status=401)


def _refuse(request: HttpRequest, lesson, form: AttemptUploadForm | None, message: str,
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


def _accepted(request: HttpRequest, attempt: Attempt) -> HttpResponse:
    if request.htmx:
        return render(request, "assessments/partials/attempt_panel.html",
                      panel_context(request, attempt, oob=True), status=202)
    return redirect("attempt-detail", public_id=attempt.public_id)


def _too_large_message() -> str:
    limit_mb = round(settings.AUDIO_MAX_UPLOAD_BYTES / (1024 * 1024), 1)
    return AudioRejected(AudioRejected.TOO_LARGE, limit_mb=limit_mb).learner_message


def _first_error(request: HttpRequest, form: AttemptUploadForm) -> str:
    if "audio" in form.errors and body_had_unread_file(request):
        return UNREADABLE_UPLOAD  # a file came, under a name Django skipped
    for errors in form.errors.values():
        return str(errors[0])
    return "Choose a recording to send."


@csrf_exempt  # only to install the size guard first; _attempt_upload checks the token
@require_POST
def attempt_upload(request: HttpRequest, pk: int) -> HttpResponse:
    # Upload handlers must be in place before anything reads the body, and the CSRF check
    # reads it (the form's token field): Django's documented order for custom handlers.
    request.upload_handlers.insert(0, AudioSizeLimitUploadHandler(request))
    try:
        # Read the body here, where a part Django cannot parse (a file name longer than
        # its header limit) can be explained; left to the CSRF check, it is a bare 400.
        request.POST  # noqa: B018
    except MultiPartParserError as error:
        logger.info("Unreadable upload body from user %s: %s", request.user.pk, error)
        body_discard(request)  # the parser stopped part-way
        return _attempt_upload(request, pk, body_unreadable=True)
    return _attempt_upload(request, pk, body_unreadable=False)


@csrf_protect
def _attempt_upload(request: HttpRequest, pk: int, *, body_unreadable: bool) -> HttpResponse:
    # Not login_required: its redirect would be followed by the recorder's XMLHttpRequest.
    if not request.user.is_authenticated:
        return _signed_out_of_upload(request, pk)
    lesson = get_object_or_404(lesson_practicable_by(user=request.user), pk=pk)
    if body_unreadable:
        return _refuse(request, lesson, None, UNREADABLE_UPLOAD, 400)
    form = AttemptUploadForm(request.POST, request.FILES)
    too_large = getattr(request, TOO_LARGE_FLAG, False)
    valid = form.is_valid() and not too_large
    user_id = request.user.pk
    token: uuid.UUID | None = form.cleaned_data.get("submission_id")
    if token:
        earlier = submission_claim(user_id=user_id, submission_id=token)
        if earlier == PENDING:
            return _refuse(request, lesson, form, STILL_SENDING, 409)
        if earlier:
            attempt = attempt_visible_to(user=request.user).filter(public_id=earlier).first()
            if attempt is not None:
                return _accepted(request, attempt)
            # The earlier attempt is gone (deleted): treat this as a new submission.
            submission_release(user_id=user_id, submission_id=token)
            if submission_claim(user_id=user_id, submission_id=token) is not None:
                return _refuse(request, lesson, form, STILL_SENDING, 409)
    # A duplicate of an accepted upload (above) is not counted; everything else is.
    if upload_rate_exceeded(user_id=user_id):
        if token:
            submission_release(user_id=user_id, submission_id=token)
        return _refuse(request, lesson, form, TOO_MANY_UPLOADS, 429)
    if not valid:
        if token:
            submission_release(user_id=user_id, submission_id=token)
        message = _too_large_message() if too_large else _first_error(request, form)
        return _refuse(request, lesson, form, message, 400)
    try:
        attempt = attempt_create(
            learner=request.user,
            lesson=lesson,
            upload=form.cleaned_data["audio"],
            content_type=form.content_type(),
        )
    except AssessmentError as error:  # AudioRejected and kin: the learner can act on it
        logger.info("Upload refused for user %s: %s", user_id, error)
        if token:
            submission_release(user_id=user_id, submission_id=token)
        # The server's own trouble (storage) is a 503 to retry; the rest is the audio's.
        status = 503 if error.retryable else 400
        return _refuse(request, lesson, form, error.learner_message, status)
    except BaseException:
        if token:
            submission_release(user_id=user_id, submission_id=token)
        raise
    if token:
        submission_complete(user_id=user_id, submission_id=token, public_id=attempt.public_id)
    return _accepted(request, attempt)


def _visible_detail(request: HttpRequest, public_id: uuid.UUID) -> Attempt:
    attempt = selectors.attempt_get_detail(
        attempts=attempt_visible_to(user=request.user), public_id=public_id
    )
    if attempt is None:
        raise Http404("No such attempt.")
    return attempt


@require_safe
@login_required
def attempt_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    attempt = _visible_detail(request, public_id)
    context = panel_context(request, attempt, oob=False)
    return render(request, "assessments/attempt_detail.html", context)


@require_safe
@vary_on_headers("HX-Request")
def attempt_status(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The htmx poll: 204 while nothing changed, the new state when it did, 286 when done."""
    if not request.user.is_authenticated:
        return _signed_out_of_poll(request, public_id)
    if not request.htmx:
        return redirect("attempt-detail", public_id=public_id)
    attempt = get_object_or_404(
        attempt_visible_to(user=request.user).select_related("lesson"), public_id=public_id
    )
    if not attempt.is_finished:
        if request.GET.get("seen") == attempt.status:
            return HttpResponse(status=204)  # no swap, so the live region stays quiet
        return render(request, "assessments/partials/attempt_panel.html",
                      panel_context(request, attempt, oob=True))
    attempt = _visible_detail(request, public_id)
    # 286 tells htmx to stop polling; the fragment still replaces the poller.
    return render(request, "assessments/partials/attempt_panel.html",
                  panel_context(request, attempt, oob=True), status=HTMX_STOP_POLLING)
