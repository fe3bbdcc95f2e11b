"""The recording upload form (used by the recorder script and by the plain, no-JS form)."""

from __future__ import annotations

import re

from django import forms

# What a browser's MediaRecorder reports, e.g. "audio/webm;codecs=opus". Anything else is
# ignored in favour of the multipart part's own Content-Type.
_MIME_TYPE = re.compile(r"^audio/[a-z0-9.+-]+(\s*;\s*codecs=\"?[a-z0-9.,+-]+\"?)?$", re.I)


class AttemptUploadForm(forms.Form):
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
    submission_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    mime_type = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)

    def clean_mime_type(self) -> str:
        value = self.cleaned_data.get("mime_type", "").strip()
        return value if _MIME_TYPE.match(value) else ""

    def content_type(self) -> str:
        """The real type of the recording: the recorder's own label when it sent a sane one."""
        upload = self.cleaned_data["audio"]
        return self.cleaned_data.get("mime_type") or getattr(upload, "content_type", "") or ""
