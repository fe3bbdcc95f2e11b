"""Retry-After parsing and the retry loop's bounds, without a server."""

from __future__ import annotations

import email.utils
import time

import pytest

from assessments.engines.azure import AzureConfigurationError, AzureUnavailable
from assessments.engines.azure.transport import RetryPolicy, parse_retry_after


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= parse_retry_after(later) <= 60
    assert parse_retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0


def flaky(failures: list[Exception]):
    calls = []

    def operation(attempt: int) -> str:
        calls.append(attempt)
        if failures:
            raise failures.pop(0)
        return "ok"

    return operation, calls


def transient(retry_after: float | None = None) -> AzureUnavailable:
    return AzureUnavailable("azure_unavailable", "later", retryable=True, retry_after=retry_after)


def test_budget_stops_before_a_wait_that_would_overrun(clock):
    policy = RetryPolicy(
        max_attempts=10, budget_seconds=5.0, base_seconds=1.0, sleep=clock.sleep, clock=clock.now
    )
    operation, calls = flaky([transient(2.0), transient(2.0), transient(2.0), transient(2.0)])

    with pytest.raises(AzureUnavailable) as caught:
        policy.run(operation, connection_ids=["a", "b", "c"])

    assert clock.sleeps == [2.0, 2.0]  # a third 2 s wait would pass the 5 s budget
    assert calls == [1, 2, 3]
    assert caught.value.attempts == 3 and caught.value.connection_ids == ["a", "b", "c"]


def test_backoff_is_capped(clock):
    policy = RetryPolicy(
        max_attempts=8,
        budget_seconds=1000,
        base_seconds=1.0,
        cap_seconds=4.0,
        sleep=clock.sleep,
        clock=clock.now,
    )
    operation, _ = flaky([transient() for _ in range(7)])

    assert policy.run(operation, connection_ids=[]) == "ok"
    assert max(clock.sleeps) <= 4.0 and min(clock.sleeps[3:]) >= 2.0


def test_non_retryable_errors_stop_at_once(clock):
    policy = RetryPolicy(sleep=clock.sleep, clock=clock.now)
    operation, calls = flaky([AzureConfigurationError("azure_forbidden", "no")])

    with pytest.raises(AzureConfigurationError):
        policy.run(operation, connection_ids=[])

    assert calls == [1] and clock.sleeps == []
