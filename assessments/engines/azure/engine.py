"""The Azure engine: one entry point, ``assess(wav=..., settings=...)``.

Flow per assessment: check settings and audio locally (no request for what Azure would
refuse), then up to ``max_attempts`` HTTP attempts within the retry budget, each with its
own ``X-ConnectionId``; a 401 refreshes a token (shared or Entra) once. ``NoMatch``,
``InitialSilenceTimeout`` and ``BabbleTimeout`` come back as results without scores.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import requests
from django.core.cache import BaseCache

from assessments.engines.azure.auth import AzureAuth
from assessments.engines.azure.config import AzureConfig
from assessments.engines.azure.errors import (
    LEARNER_TRY_LATER,
    NOT_RECOGNISED_STATUSES,
    AzureUnavailable,
)
from assessments.engines.azure.parse import bad_response, parse_result, recognition_status
from assessments.engines.azure.request import (
    PreparedAudio,
    assessment_header,
    check_settings,
    iter_chunks,
    new_connection_id,
    prepare_audio,
    query_params,
    request_headers,
)
from assessments.engines.azure.transport import (
    RetryPolicy,
    error_for_exception,
    error_for_status,
    process_session,
)
from assessments.engines.base import AssessmentSettings
from assessments.results import AssessmentResult, RecognitionStatus

logger = logging.getLogger("assessments.engines.azure")


class AzureEngine:
    """Azure Speech pronunciation assessment over the short-audio REST API."""

    name = "azure"

    def __init__(
        self,
        *,
        config: AzureConfig,
        cache: BaseCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        session_factory: Callable[[], requests.Session] = process_session,
    ) -> None:
        self.config = config
        self._session_factory = session_factory
        self._timeout = (config.connect_timeout, config.read_timeout)
        self.auth = AzureAuth(
            credentials=config.credentials,
            session_factory=session_factory,
            timeout=self._timeout,
            cache=cache,
        )
        self.retry = RetryPolicy(
            max_attempts=config.max_attempts,
            budget_seconds=config.retry_budget_seconds,
            base_seconds=config.backoff_base_seconds,
            cap_seconds=config.backoff_cap_seconds,
            sleep=sleep,
            clock=clock,
            rng=rng or random.Random(),
        )

    @classmethod
    def from_settings(cls, **kwargs: Any) -> AzureEngine:
        """Build from Django settings; raises ``ImproperlyConfigured`` naming what to fix.

        ``kwargs`` go to the constructor (tests inject ``sleep``/``clock``/``cache``).
        """
        return cls(config=AzureConfig.from_settings(), **kwargs)

    def __repr__(self) -> str:
        return (
            f"AzureEngine(endpoint={self.config.endpoint!r}, "
            f"auth={self.config.credentials.mode!r}, stream={self.config.stream})"
        )

    def assess(self, *, wav: bytes, settings: AssessmentSettings) -> AssessmentResult:
        check_settings(settings)
        audio = prepare_audio(wav)
        assessment = assessment_header(settings)
        params = query_params(
            locale=settings.locale, profanity=self.config.profanity, cid=self.config.cid
        )
        connection_ids: list[str] = []

        def attempt(number: int) -> AssessmentResult:
            response, connection_id = self._send(
                audio=audio, assessment=assessment, params=params, connection_ids=connection_ids
            )
            result = self._interpret(response, settings=settings)
            result.connection_id = connection_id
            result.trimmed = audio.trimmed
            result.audio_duration_ms = audio.duration_ms
            return result

        return self.retry.run(attempt, connection_ids=connection_ids)

    def _send(
        self,
        *,
        audio: PreparedAudio,
        assessment: str,
        params: dict[str, str],
        connection_ids: list[str],
    ) -> tuple[requests.Response, str]:
        """One attempt; a 401 with a refreshable credential drops it and re-sends once."""
        for refresh in (False, True):
            # Auth first: a failing token request must not be reported as a sent request.
            auth_header, token = self.auth.header()
            connection_id = new_connection_id()
            connection_ids.append(connection_id)
            stream = self.config.stream
            headers = request_headers(
                assessment=assessment,
                connection_id=connection_id,
                auth=auth_header,
                stream=stream,
            )
            # A fresh generator per send: a streamed body cannot be rewound.
            body = iter_chunks(audio, chunk_size=self.config.chunk_size) if stream else audio.wav
            started = time.perf_counter()
            try:
                response = self._session_factory().post(
                    self.config.endpoint,
                    params=params,
                    headers=headers,
                    data=body,
                    timeout=self._timeout,
                )
            except requests.RequestException as exc:
                logger.info("Azure request %s failed: %s", connection_id, type(exc).__name__)
                raise error_for_exception(exc) from None
            logger.log(
                logging.DEBUG if response.status_code == 200 else logging.INFO,
                "Azure request %s: HTTP %d in %.0f ms",
                connection_id,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            if response.status_code == 401 and self.auth.can_refresh and not refresh:
                self.auth.invalidate(token)
                continue
            if response.status_code != 200:
                raise error_for_status(
                    response, secrets=self.auth.secrets(), token_auth=bool(token)
                )
            return response, connection_id
        raise AssertionError("unreachable: the second pass always returns or raises")

    def _interpret(
        self, response: requests.Response, *, settings: AssessmentSettings
    ) -> AssessmentResult:
        try:
            payload = json.loads(response.content)
        except ValueError:
            raise bad_response(
                f"invalid JSON ({len(response.content)} bytes, "
                f"Content-Type {response.headers.get('Content-Type', 'none')!r})"
            ) from None
        status = recognition_status(payload)
        if status == RecognitionStatus.SUCCESS:
            if not payload.get("NBest"):
                # profanity=removed on all-profanity audio: Success with nothing recognised.
                return _not_recognised(RecognitionStatus.NO_MATCH, settings=settings)
            return parse_result(
                payload,
                grading_system=settings.grading_system,
                break_threshold=self.config.break_confidence_threshold,
            )
        if status in NOT_RECOGNISED_STATUSES:
            # An answer about the recording, not a fault: returned like the offline engine
            # does, never retried; the caller tells the learner what went wrong.
            return _not_recognised(status, settings=settings)
        if status == RecognitionStatus.ERROR:
            raise AzureUnavailable(
                "azure_recognition_error",
                LEARNER_TRY_LATER,
                operator_message="Azure answered RecognitionStatus Error (a service-side fault).",
                retryable=True,
            )
        raise bad_response(f"unknown RecognitionStatus {status!r}")


def _not_recognised(status: str, *, settings: AssessmentSettings) -> AssessmentResult:
    """A result with the status only: no scores, no words (``assess`` adds the id)."""
    return AssessmentResult(
        engine=AzureEngine.name, recognition_status=status, grading_system=settings.grading_system
    )
