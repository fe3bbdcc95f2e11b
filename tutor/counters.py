"""Counters kept in the shared cache: one atomic step per event on Redis."""

from __future__ import annotations

from django.core.cache import cache


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
