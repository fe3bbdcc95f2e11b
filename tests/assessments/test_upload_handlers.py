"""The recording upload stops being stored once it passes the size limit."""

from __future__ import annotations

import io

from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from assessments.upload_handlers import TOO_LARGE_FLAG, AudioSizeLimitUploadHandler


def _parse(settings, size: int):
    settings.AUDIO_MAX_UPLOAD_BYTES = 100_000
    upload = io.BytesIO(b"RIFF" + b"\0" * (size - 4))
    upload.name = "speech.wav"
    body = encode_multipart(BOUNDARY, {"audio": upload, "note": "kept"})
    request = HttpRequest()
    handlers = [AudioSizeLimitUploadHandler(request), TemporaryFileUploadHandler(request)]
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}
    post, files = MultiPartParser(meta, io.BytesIO(body), handlers).parse()
    return request, post, files


def test_upload_within_the_limit_is_stored_whole(settings):
    request, post, files = _parse(settings, 90_000)
    assert files["audio"].size == 90_000
    assert post["note"] == "kept"
    assert not getattr(request, TOO_LARGE_FLAG, False)


def test_upload_over_the_limit_is_dropped_and_flagged(settings):
    request, post, files = _parse(settings, 5_000_000)
    assert "audio" not in files  # nothing past the limit reached a temporary file
    assert getattr(request, TOO_LARGE_FLAG) is True
