"""Recordings, served only after the permission check, with HTTP Range support.

Browsers need byte ranges to seek an ``<audio>`` element (Chromium will not seek, and so
cannot play one word's segment, without them), so single ranges get a 206 answer.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.core.files import File
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from assessments.permissions import attempt_visible_to
from tutor.middleware import CONTENT_SECURITY_POLICY

CHUNK_SIZE = 64 * 1024
# ASCII digits only, and few enough that int() cannot refuse them (Python limits the digits
# it converts); a longer number is no range we could serve, so the whole file is sent.
_RANGE = re.compile(r"^bytes=([0-9]{0,18})-([0-9]{0,18})$")
# A stored type is served only when it is one plain audio type. The multipart part's own
# Content-Type is free text: "audio/wav, text/html" would make a browser read text/html.
_AUDIO_TYPE = re.compile(r"^audio/[a-z0-9][a-z0-9.+-]{0,60}$")


def _parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(first, last) for one satisfiable range, None to serve it all, False if unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match:
        return None  # several ranges or another unit: a full 200 answer is allowed
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return False
    return start, end


def _read(file: File, start: int, length: int) -> Iterator[bytes]:
    try:
        file.seek(start)
        remaining = length
        while remaining > 0:
            chunk = file.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        file.close()


@require_safe
@login_required
def attempt_audio(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The converted WAV when there is one, else the original upload with its stored type."""
    attempt = get_object_or_404(attempt_visible_to(user=request.user), public_id=public_id)
    if attempt.converted_audio:
        field, content_type = attempt.converted_audio, "audio/wav"
    elif attempt.original_audio:
        stored = attempt.original_content_type.split(";")[0].strip().lower()
        field = attempt.original_audio
        content_type = stored if _AUDIO_TYPE.match(stored) else "application/octet-stream"
    else:
        raise Http404("No recording.")
    try:
        size = field.size
        modified = field.storage.get_modified_time(field.name)
        file = field.storage.open(field.name, "rb")
    except (FileNotFoundError, OSError) as error:
        raise Http404("Recording missing.") from error

    last_modified = http_date(modified.timestamp())
    wanted = None
    range_header = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    # If-Range: a client holding an older copy gets the whole new file, not a stale slice.
    if range_header and (if_range is None or if_range == last_modified):
        wanted = _parse_range(range_header, size)
    if wanted is False:
        file.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    else:
        start, end = wanted if wanted else (0, size - 1)
        length = max(end - start + 1, 0)
        if request.method == "HEAD":
            file.close()
            response = HttpResponse(status=206 if wanted else 200)
        else:
            response = StreamingHttpResponse(
                _read(file, start, length), status=206 if wanted else 200
            )
        response["Content-Length"] = str(length)
        if wanted:
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Type"] = content_type
    response["Accept-Ranges"] = "bytes"
    response["Last-Modified"] = last_modified
    response["Content-Disposition"] = "inline"
    # Opened on its own, the recording is a sandboxed document: whatever bytes a learner
    # uploaded, nothing in them runs with this site's origin.
    response["Content-Security-Policy"] = f"{CONTENT_SECURITY_POLICY}; sandbox"
    # Recordings are personal: no shared caches; revalidate because a re-assessment
    # replaces the converted file under the same URL.
    response["Cache-Control"] = "private, no-cache"
    return response
