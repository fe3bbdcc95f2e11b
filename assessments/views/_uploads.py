"""Upload guards: a per-user rate limit and double-submit protection kept in the cache, and
what the view can tell about a request body Django could not fully read."""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from tutor.counters import cache_optional, counter_increment

RATE_WINDOW_SECONDS = 60
# How long a submission token keeps pointing at its attempt (a double click, a retried
# request after a flaky connection).
SUBMISSION_TTL_SECONDS = 10 * 60
# While the first request with a token is still saving, a duplicate waits this long for it.
SUBMISSION_WAIT_SECONDS = 5.0
PENDING = "pending"
# A form without its file is well under this (a few fields and their part headers); a
# recording, even a second of one, is well over it.
UNREAD_FILE_BYTES = 4096


@cache_optional(False)
def upload_rate_exceeded(*, user_id: int) -> bool:
    """Count this upload in the user's current minute; True when it is over the limit."""
    limit = int(getattr(settings, "UPLOADS_PER_MINUTE", 10))
    window = int(time.time() // RATE_WINDOW_SECONDS)
    key = f"uploads:rate:{user_id}:{window}"
    count = counter_increment(key, timeout=RATE_WINDOW_SECONDS * 2)
    return count > limit


def _submission_key(user_id: int, submission_id: uuid.UUID) -> str:
    return f"uploads:submission:{user_id}:{submission_id.hex}"


@cache_optional(None)
def submission_claim(*, user_id: int, submission_id: uuid.UUID) -> str | None:
    """Claim a token for a new attempt: None if claimed, else the earlier attempt's public id.

    Returns ``PENDING`` when an earlier request with the token is still saving after the wait.
    """
    key = _submission_key(user_id, submission_id)
    if cache.add(key, PENDING, timeout=SUBMISSION_TTL_SECONDS):
        return None
    deadline = time.monotonic() + SUBMISSION_WAIT_SECONDS
    value = cache.get(key)
    while value == PENDING and time.monotonic() < deadline:
        time.sleep(0.2)
        value = cache.get(key)
    if value is None:  # the first request failed and released the token: take it over
        return None if cache.add(key, PENDING, timeout=SUBMISSION_TTL_SECONDS) else PENDING
    return value


@cache_optional(None)
def submission_complete(*, user_id: int, submission_id: uuid.UUID, public_id: uuid.UUID) -> None:
    cache.set(_submission_key(user_id, submission_id), str(public_id),
              timeout=SUBMISSION_TTL_SECONDS)


@cache_optional(None)
def submission_release(*, user_id: int, submission_id: uuid.UUID) -> None:
    """Forget a token whose upload was refused, so the learner can send it again."""
    cache.delete(_submission_key(user_id, submission_id))


def body_had_unread_file(request: HttpRequest) -> bool:
    """True when the body is far larger than the fields Django read from it.

    Django skips a multipart part whose headers are not UTF-8 (a file name in another
    encoding) without a trace, so the form just looks as if no file was sent. The body's
    size still shows that one was: the learner is told the name is the problem, not asked
    to choose a recording they already chose.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    fields = sum(len(name) + len(value) for name, values in request.POST.lists()
                 for value in values)
    files = sum(upload.size or 0 for _, uploads in request.FILES.lists() for upload in uploads)
    return length - fields - files > UNREAD_FILE_BYTES


def body_discard(request: HttpRequest) -> None:
    """Read the rest of the body without keeping it.

    A server that answers before the body is read closes the connection on the rest of the
    upload; the browser then reports a network error instead of showing the answer.
    """
    while request.read(64 * 1024):
        pass
