"""What a signed-out request to the upload or the status poll gets instead of a redirect.

Neither view is ``login_required``: a redirect to the sign-in page would be followed by the
recorder's XMLHttpRequest or by the htmx poll. An htmx request gets a 401 the page can
explain; a plain one still goes to sign in, coming back to the practice or attempt page.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.urls import reverse

SIGNED_OUT_UPLOAD = (
    "You have been signed out. Sign in again in another tab, then send your recording "
    "again: it is still here."
)
SIGNED_OUT_POLL = (
    "You have been signed out, so your result cannot be shown here. Your recording is saved."
)


def _sign_in_url(come_back_to: str) -> str:
    return f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': come_back_to})}"


def signed_out_of_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """401 with a message for the recorder script; the plain form goes to sign in.

    Either way the learner comes back to the practice page: after signing in, Django would
    otherwise send them to ``next``, the upload URL, which only takes POST.
    """
    practice = reverse("lesson-practice", args=[pk])
    if not request.htmx:
        return redirect_to_login(practice)
    context = {"message": SIGNED_OUT_UPLOAD, "sign_in_url": _sign_in_url(practice)}
    return render(request, "assessments/partials/upload_error.html", context, status=401)


def signed_out_of_poll(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
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
