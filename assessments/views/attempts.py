"""Sending a recording, and following its attempt until the result is in.

Refused uploads are shaped in ``_refusals`` and signed-out requests answered in
``_signed_out``; the cache-kept upload guards are in ``_uploads``.
"""

from __future__ import annotations

import logging
import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from assessments import selectors
from assessments.engines.base import AssessmentError
from assessments.forms import AttemptUploadForm
from assessments.models import Attempt, AttemptStatus
from assessments.permissions import attempt_visible_to, lesson_practicable_by
from assessments.services import attempt_create
from assessments.upload_handlers import TOO_LARGE_FLAG, AudioSizeLimitUploadHandler
from assessments.views._refusals import (
    STILL_SENDING,
    TOO_MANY_UPLOADS,
    UNREADABLE_UPLOAD,
    first_form_error,
    too_large_message,
    upload_refused,
)
from assessments.views._signed_out import signed_out_of_poll, signed_out_of_upload
from assessments.views._uploads import (
    PENDING,
    body_discard,
    submission_claim,
    submission_complete,
    submission_release,
    upload_rate_exceeded,
)

logger = logging.getLogger(__name__)


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



def _accepted(request: HttpRequest, attempt: Attempt) -> HttpResponse:
    if request.htmx:
        return render(request, "assessments/partials/attempt_panel.html",
                      panel_context(request, attempt, oob=True), status=202)
    return redirect("attempt-detail", public_id=attempt.public_id)


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
        return signed_out_of_upload(request, pk)
    lesson = get_object_or_404(lesson_practicable_by(user=request.user), pk=pk)
    if body_unreadable:
        return upload_refused(request, lesson, None, UNREADABLE_UPLOAD, 400)
    form = AttemptUploadForm(request.POST, request.FILES)
    too_large = getattr(request, TOO_LARGE_FLAG, False)
    valid = form.is_valid() and not too_large
    user_id = request.user.pk
    token: uuid.UUID | None = form.cleaned_data.get("submission_id")
    if token:
        earlier = submission_claim(user_id=user_id, submission_id=token)
        if earlier == PENDING:
            return upload_refused(request, lesson, form, STILL_SENDING, 409)
        if earlier:
            attempt = attempt_visible_to(user=request.user).filter(public_id=earlier).first()
            if attempt is not None:
                return _accepted(request, attempt)
            # The earlier attempt is gone (deleted): treat this as a new submission.
            submission_release(user_id=user_id, submission_id=token)
            if submission_claim(user_id=user_id, submission_id=token) is not None:
                return upload_refused(request, lesson, form, STILL_SENDING, 409)
    # A duplicate of an accepted upload (above) is not counted; everything else is.
    if upload_rate_exceeded(user_id=user_id):
        if token:
            submission_release(user_id=user_id, submission_id=token)
        return upload_refused(request, lesson, form, TOO_MANY_UPLOADS, 429)
    if not valid:
        if token:
            submission_release(user_id=user_id, submission_id=token)
        message = too_large_message() if too_large else first_form_error(request, form)
        return upload_refused(request, lesson, form, message, 400)
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
        return upload_refused(request, lesson, form, error.learner_message, status)
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
        return signed_out_of_poll(request, public_id)
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
