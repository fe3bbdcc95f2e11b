"""The recording upload form (used by the recorder script and by the plain, no-JS form)."""

from __future__ import annotations

import re
import uuid

from django import forms

# What a browser's MediaRecorder reports, e.g. "audio/webm;codecs=opus". Anything else is
# ignored in favour of the multipart part's own Content-Type.
_MIME_TYPE = re.compile(r"^audio/[a-z0-9.+-]+(\s*;\s*codecs=\"?[a-z0-9.,+-]+\"?)?$", re.I)
MIME_TYPE_MAX_LENGTH = 100


class AttemptUploadForm(forms.Form):
    """Only ``audio`` can refuse an upload: the hidden fields are hints from our own script.

    A tampered hint (a token that is not a UUID, a long or odd type label) is dropped rather
    than refused: the learner could not act on Django's wording, and the upload is fine
    without it.
    """

    audio = forms.FileField(
        label="Recording or audio file",
        error_messages={
            "required": "Choose a recording to send: record one, or pick an audio file.",
            "empty": "Your recording was empty. Check your microphone and try again.",
            "invalid": "We couldn't read that upload. Record again or pick an audio file.",
        },
    )
    # Generated in the page for each recording; a double submit repeats it, so the server
    # can answer with the attempt it already made instead of creating a second one.
    # Plain Fields: no validators of their own (UUIDField's, CharField's length and NUL
    # checks), so the clean_ methods below decide, and a bad value is dropped.
    submission_id = forms.Field(required=False, widget=forms.HiddenInput)
    mime_type = forms.Field(required=False, widget=forms.HiddenInput)

    def clean_submission_id(self) -> uuid.UUID | None:
        value = self.cleaned_data.get("submission_id")
        if not value:
            return None
        try:
            return uuid.UUID(str(value))
        except ValueError:
            return None  # without a token the upload is still taken, just not de-duplicated

    def clean_mime_type(self) -> str:
        value = str(self.cleaned_data.get("mime_type") or "").strip()
        if len(value) > MIME_TYPE_MAX_LENGTH or not _MIME_TYPE.match(value):
            return ""
        return value

    def content_type(self) -> str:
        """The real type of the recording: the recorder's own label when it sent a sane one."""
        upload = self.cleaned_data["audio"]
        return self.cleaned_data.get("mime_type") or getattr(upload, "content_type", "") or ""
