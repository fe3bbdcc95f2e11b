"""HTTP plumbing: one pooled session per process, timeouts, status → error mapping, retries.

Retries live here rather than in urllib3 because a streamed body cannot be replayed by
urllib3, ``Retry-After`` must be weighed against our own time budget, and a 401 with a
cached token deserves exactly one refresh.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import requests
from requests.adapters import HTTPAdapter

from assessments.engines.azure.errors import (
    LEARNER_AUDIO,
    LEARNER_SETUP,
    LEARNER_TRY_LATER,
    AzureConfigurationError,
    AzureError,
    AzureUnavailable,
)

logger = logging.getLogger("assessments.engines.azure")

T = TypeVar("T")

_sessions: dict[int, requests.Session] = {}
_sessions_lock = threading.Lock()


def process_session() -> requests.Session:
    """The keep-alive session of this process.

    Keyed by pid: a session created before a worker forks would share sockets with the
    parent, so a forked child transparently builds its own.
    """
    pid = os.getpid()
    session = _sessions.get(pid)
    if session is None:
        with _sessions_lock:
            session = _sessions.get(pid)
            if session is None:
                session = requests.Session()
                # Concurrent tasks in one process (threads) each need a connection;
                # urllib3 must not retry on its own, the loop below owns retries.
                adapter = HTTPAdapter(pool_connections=2, pool_maxsize=16, max_retries=0)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                # Never pick up proxies or .netrc credentials from the environment.
                session.trust_env = False
                _sessions.clear()
                _sessions[pid] = session
    return session


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def service_message(response: requests.Response, *, secrets: list[str]) -> str:
    """A short, redacted excerpt of an error body (Azure sends ``{"Message": ...}``)."""
    from assessments.engines.azure.credentials import redact

    try:
        body = response.json()
    except ValueError:
        text = response.text
    else:
        # Azure uses {"Message": ...} for recognition and {"error": {"message": ...}} at the
        # gateway (401/403/429).
        inner = body.get("error") if isinstance(body, dict) else None
        if isinstance(inner, dict):
            body = inner
        if isinstance(body, dict):
            text = str(body.get("Message") or body.get("message") or body)
        else:
            text = str(body)
    text = " ".join(text.split())[:300]
    return redact(text, secrets)


def error_for_status(
    response: requests.Response, *, secrets: list[str], token_auth: bool, what: str = "request"
) -> AzureError:
    """Map a non-200 answer to the error an operator can act on."""
    status = response.status_code
    detail = service_message(response, secrets=secrets)
    suffix = f" Service said: {detail}" if detail else ""
    if status == 429 or status >= 500 or status == 408:
        reason = "throttled (429)" if status == 429 else f"failed with HTTP {status}"
        return AzureUnavailable(
            "azure_throttled" if status == 429 else "azure_unavailable",
            LEARNER_TRY_LATER,
            operator_message=f"Azure {what} {reason}.{suffix}",
            retryable=True,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            http_status=status,
        )
    if status == 400:
        learner, hint = _bad_request_hint(detail)
        return AzureConfigurationError(
            "azure_bad_request",
            learner,
            operator_message=f"Azure rejected the {what} (400): {hint}" + suffix,
            http_status=status,
        )
    if status == 401:
        credential = "token" if token_auth else "key"
        return AzureConfigurationError(
            "azure_unauthorized",
            LEARNER_SETUP,
            operator_message=(
                f"Azure rejected the {credential} in the {what} (401): check "
                "AZURE_SPEECH_KEY, and that AZURE_SPEECH_REGION / AZURE_SPEECH_ENDPOINT match "
                "the resource's region." + suffix
            ),
            http_status=status,
        )
    if status == 403:
        return AzureConfigurationError(
            "azure_forbidden",
            LEARNER_SETUP,
            operator_message=(
                f"Azure refused the {what} (403): the key or token is missing, or the resource is "
                "disabled or out of quota." + suffix
            ),
            http_status=status,
        )
    return AzureConfigurationError(
        "azure_http_error",
        LEARNER_SETUP,
        operator_message=f"Azure {what} failed with HTTP {status}; check the endpoint." + suffix,
        http_status=status,
    )


# Azure answers 400 for two different faults; its message says which one it was.
_AUDIO_WORDS = ("audio", "wav", "codec", "sample", "format")
_LANGUAGE_WORDS = ("language", "locale")


def _bad_request_hint(detail: str) -> tuple[str, str]:
    """(learner message, operator hint) for a 400, chosen from the service's own message."""
    text = detail.lower()
    about_audio = any(word in text for word in _AUDIO_WORDS)
    about_language = any(word in text for word in _LANGUAGE_WORDS)
    if about_language and not about_audio:
        # Re-recording cannot fix this: the lesson's locale (the `language` query) is wrong.
        return LEARNER_SETUP, (
            "the language is missing or not supported; check the lesson's locale, which is "
            "sent as the `language` query parameter."
        )
    if about_audio and not about_language:
        return LEARNER_AUDIO, "the audio is unsupported; it must be 16 kHz mono 16-bit PCM WAV."
    return LEARNER_AUDIO, (
        "usually unsupported audio (must be 16 kHz mono PCM WAV) or a missing/unsupported "
        "language."
    )


def error_for_exception(exc: requests.RequestException, *, what: str = "request") -> AzureError:
    """Transport failures are transient; the message names the class, not the URL/headers."""
    if isinstance(exc, requests.Timeout):
        kind = "connect" if isinstance(exc, requests.ConnectTimeout) else "read"
        return AzureUnavailable(
            "azure_timeout",
            LEARNER_TRY_LATER,
            operator_message=f"Azure {what} timed out ({kind} timeout).",
            retryable=True,
        )
    return AzureUnavailable(
        "azure_connection",
        LEARNER_TRY_LATER,
        operator_message=f"Could not complete the Azure {what}: {type(exc).__name__}.",
        retryable=True,
    )


@dataclass
class RetryPolicy:
    """Exponential backoff with equal jitter, bounded by attempts and a time budget.

    ``sleep`` and ``clock`` are injectable so tests can observe delays without waiting.
    """

    max_attempts: int = 4
    budget_seconds: float = 20.0
    base_seconds: float = 0.5
    cap_seconds: float = 8.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def run(self, operation: Callable[[int], T], *, connection_ids: list[str]) -> T:
        """Call ``operation(attempt)`` until it returns, fails for good, or the budget ends.

        ``operation`` raises :class:`AzureError`; ``retryable`` ones are retried.
        """
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return operation(attempt)
            except AzureError as error:
                if not error.retryable:
                    raise _with_ids(error, connection_ids, attempts=attempt) from None
                delay = error.retry_after if error.retry_after is not None else None
                delay = self.backoff(attempt) if delay is None else delay
                elapsed = self.clock() - started
                out_of_budget = elapsed + delay > self.budget_seconds
                if attempt >= self.max_attempts or out_of_budget:
                    logger.warning(
                        "Azure gave up after %d attempt(s), %.1fs: %s",
                        attempt,
                        elapsed,
                        error.operator_message,
                    )
                    raise _with_ids(error, connection_ids, attempts=attempt) from None
                logger.info(
                    "Azure attempt %d failed (%s); retrying in %.2fs",
                    attempt,
                    error.code,
                    delay,
                )
                self.sleep(delay)


def _with_ids(error: AzureError, connection_ids: list[str], *, attempts: int) -> AzureError:
    """Stamp the final error with every X-ConnectionId sent and the attempt count."""
    error.connection_ids = list(connection_ids)
    error.attempts = attempts
    return error
