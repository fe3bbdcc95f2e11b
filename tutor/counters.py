"""Guards kept in the shared cache (rate limits, duplicate-submit tokens), and how they
behave when the cache itself is down."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.core.cache import cache

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


def cache_optional(default: T) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Run a cache-backed guard; if the cache is unreachable, log it and return ``default``.

    The guards protect the product (limits, duplicate submits) but are not what the learner
    came for: with Redis down, signing in and uploading go on without them rather than
    failing with a server error.
    """

    def decorate(guard: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(guard)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return guard(*args, **kwargs)
            except Exception:  # noqa: BLE001 - any backend failure: Redis down, disk full
                logger.error("Cache unavailable in %s; going on without it.", guard.__name__,
                             exc_info=True)
                return default

        return run

    return decorate


def counter_increment(key: str, *, timeout: int) -> int:
    """Add one to the counter at ``key`` (starting it at 0) and return the new value."""
    # add() only sets a missing key, so the first event of a period starts the count.
    cache.add(key, 0, timeout=timeout)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=timeout)
        return 1
    # Backends without a native incr (the embedded file cache) rewrite the key with the
    # default 5-minute timeout; give it back its own.
    cache.touch(key, timeout=timeout)
    return count
