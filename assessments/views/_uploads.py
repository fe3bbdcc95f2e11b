"""Upload guards kept in the cache: a per-user rate limit and double-submit protection."""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.core.cache import cache

from tutor.counters import counter_increment

RATE_WINDOW_SECONDS = 60
# How long a submission token keeps pointing at its attempt (a double click, a retried
# request after a flaky connection).
SUBMISSION_TTL_SECONDS = 10 * 60
# While the first request with a token is still saving, a duplicate waits this long for it.
SUBMISSION_WAIT_SECONDS = 5.0
PENDING = "pending"


def upload_rate_exceeded(*, user_id: int) -> bool:
    """Count this upload in the user's current minute; True when it is over the limit."""
    limit = int(getattr(settings, "UPLOADS_PER_MINUTE", 10))
    window = int(time.time() // RATE_WINDOW_SECONDS)
    key = f"uploads:rate:{user_id}:{window}"
    count = counter_increment(key, timeout=RATE_WINDOW_SECONDS * 2)
    return count > limit


def _submission_key(user_id: int, submission_id: uuid.UUID) -> str:
    return f"uploads:submission:{user_id}:{submission_id.hex}"


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


def submission_complete(*, user_id: int, submission_id: uuid.UUID, public_id: uuid.UUID) -> None:
    cache.set(_submission_key(user_id, submission_id), str(public_id),
              timeout=SUBMISSION_TTL_SECONDS)


def submission_release(*, user_id: int, submission_id: uuid.UUID) -> None:
    """Forget a token whose upload was refused, so the learner can send it again."""
    cache.delete(_submission_key(user_id, submission_id))
