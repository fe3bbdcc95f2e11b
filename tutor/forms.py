"""Forms: the rate-limited login, the learner history filter and the lesson CSV upload."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest

from tutor.models import Lesson
from tutor.services import login_attempt_begin, login_attempt_succeeded

THROTTLED = "throttled"


def client_ip(request: HttpRequest | None) -> str:
    """The client's address, as the limits on sign-in see it.

    Without proxies it is the peer address. Behind ``TRUSTED_PROXY_COUNT`` proxies it is the
    address the outermost of them saw: each proxy appends its peer to ``X-Forwarded-For``,
    so the client is that many entries from the right. Entries further left were written by
    the client itself and are never trusted: a client could set them to dodge the limit.
    """
    if request is None:
        return ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in
                     request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing a username + address after too many failures.

    While throttled the password is not even checked, so guessing gains nothing.
    """

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = client_ip(self.request)
        wait = login_attempt_begin(username=username, client_ip=address)
        if wait:
            minutes = math.ceil(wait / 60)
            raise ValidationError(
                "Too many failed sign-in attempts. Please wait %(minutes)d minute%(plural)s "
                "and try again.",
                code=THROTTLED,
                params={"minutes": minutes, "plural": "" if minutes == 1 else "s"},
            )
        # The attempt is already counted: a failure keeps it, a success forgets them all.
        cleaned = super().clean()
        login_attempt_succeeded(username=username, client_ip=address)
        return cleaned

    @property
    def is_throttled(self) -> bool:
        return any(e.code == THROTTLED for e in self.errors.as_data().get("__all__", []))


SORT_CHOICES = [
    ("-date", "Newest first"),
    ("date", "Oldest first"),
    ("lesson", "Lesson (A–Z)"),
    ("-lesson", "Lesson (Z–A)"),
    ("-pronunciation", "Pronunciation (high–low)"),
    ("pronunciation", "Pronunciation (low–high)"),
    ("-accuracy", "Accuracy (high–low)"),
    ("accuracy", "Accuracy (low–high)"),
    ("-fluency", "Fluency (high–low)"),
    ("fluency", "Fluency (low–high)"),
    ("-completeness", "Completeness (high–low)"),
    ("completeness", "Completeness (low–high)"),
    ("-prosody", "Prosody (high–low)"),
    ("prosody", "Prosody (low–high)"),
]


# Dates a filter can mean. Beyond them the history query would have to build a datetime
# past the calendar's end (the day after 9999-12-31), which is an error, not "no rows".
DATE_VALIDATORS = [MinValueValidator(date(1900, 1, 1)), MaxValueValidator(date(9998, 12, 31))]


class HistoryFilterForm(forms.Form):
    """Filters of a learner's score history; a GET form, so every view is a shareable URL."""

    lesson = forms.ModelChoiceField(queryset=Lesson.objects.none(), required=False,
                                    empty_label="All lessons")
    date_from = forms.DateField(required=False, label="From", validators=DATE_VALIDATORS,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", validators=DATE_VALIDATORS,
                              widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False, label="Sort by")

    def __init__(self, *args: Any, lessons: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if lessons is not None:
            self.fields["lesson"].queryset = lessons

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise ValidationError("The start date is after the end date.")
        return cleaned


class LessonImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, with a header row. Columns: see the table below.",
    )
