"""Failures of the Azure engine, each an :class:`AssessmentError` with a clear message.

Learner messages are plain and never technical; operator messages say what to fix (bad key,
wrong region, unsupported audio …) and carry the ``X-ConnectionId`` values Microsoft
support asks for. Neither ever contains the key or a token: every text that
comes from the wire goes through :func:`assessments.engines.azure.credentials.redact`.
"""

from __future__ import annotations

from collections.abc import Sequence

from assessments.engines.base import RECOGNITION_FAILURES, AssessmentError
from assessments.results import RecognitionStatus

LEARNER_TRY_LATER = "Scoring is busy right now. Your recording is saved; we'll try again shortly."
LEARNER_SETUP = "Scoring is not available right now. Please tell your teacher."
LEARNER_AUDIO = "We couldn't process this recording. Please record it again."

# The statuses Azure answers when it heard nothing usable. They come back as results (see
# ``engine.py``); the learner messages live in the one table, RECOGNITION_FAILURES.
NOT_RECOGNISED_STATUSES = (
    RecognitionStatus.NO_MATCH,
    RecognitionStatus.INITIAL_SILENCE_TIMEOUT,
    RecognitionStatus.BABBLE_TIMEOUT,
)
# A view of that table for these statuses, for callers that import it from here.
NOT_RECOGNISED_MESSAGES = {
    status: RECOGNITION_FAILURES[status] for status in NOT_RECOGNISED_STATUSES
}


class AzureError(AssessmentError):
    """Any failure talking to Azure.

    ``connection_ids`` lists the ``X-ConnectionId`` of every request made for this
    assessment (the last one is :attr:`connection_id`); ``operator_message`` quotes them.
    """

    def __init__(
        self,
        code: str,
        learner_message: str,
        *,
        operator_message: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
        connection_ids: Sequence[str] = (),
        http_status: int | None = None,
    ) -> None:
        self.connection_ids = list(connection_ids)
        self.http_status = http_status
        self.attempts = 0
        super().__init__(
            code,
            learner_message,
            operator_message=operator_message,
            retryable=retryable,
            retry_after=retry_after,
        )

    @property
    def operator_message(self) -> str:
        text = self._operator_message
        if self.attempts > 1:
            text = f"{text} (after {self.attempts} attempts)"
        if self.connection_ids:
            text = f"{text} [X-ConnectionId: {', '.join(self.connection_ids)}]"
        return text

    @operator_message.setter
    def operator_message(self, value: str) -> None:
        self._operator_message = value

    @property
    def connection_id(self) -> str:
        """The id of the last request, the one to quote to support."""
        return self.connection_ids[-1] if self.connection_ids else ""


class AzureConfigurationError(AzureError):
    """Azure refused our credentials or endpoint (401/403), or the request itself (400)."""


class AzureUnavailable(AzureError):
    """Throttled, timed out, unreachable or failing: retrying later can help."""


class AzureBadResponse(AzureError):
    """The service answered with something we cannot read (broken or unexpected JSON)."""


class AzureAudioRejected(AzureError):
    """The audio cannot be sent as is (not 16 kHz mono 16-bit PCM WAV, or empty)."""
