"""What every assessment engine takes, returns and raises.

An engine is an object with a ``name`` and one entry point, ``assess(wav=..., settings=...)``,
that takes 16 kHz mono 16-bit PCM WAV bytes plus the lesson's assessment settings and returns
an :class:`~assessments.results.AssessmentResult`. Nothing above the engines knows which
one ran.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

from assessments.results import AssessmentResult, RecognitionStatus

GRADING_SYSTEMS = ("HundredMark", "FivePoint")
GRANULARITIES = ("Phoneme", "Word", "FullText")
DIMENSIONS = ("Comprehensive", "Basic")
PHONEME_ALPHABETS = ("", "SAPI", "IPA")

# Locales Azure supports for pronunciation assessment (shared contract, "Locales").
SUPPORTED_LOCALES = (
    "ar-EG", "ar-SA", "ca-ES", "zh-HK", "zh-CN", "zh-TW", "da-DK", "nl-NL", "en-AU",
    "en-CA", "en-IN", "en-GB", "en-US", "fi-FI", "fr-CA", "fr-FR", "de-DE", "hi-IN",
    "it-IT", "ja-JP", "ko-KR", "ms-MY", "nb-NO", "pl-PL", "pt-BR", "pt-PT", "ru-RU",
    "es-MX", "es-ES", "sv-SE", "ta-IN", "th-TH", "vi-VN",
)  # fmt: skip
# Prosody, syllables, IPA and spoken-phoneme candidates exist for en-US only.
EN_US_ONLY_LOCALES = ("en-US",)

# What the learner is told when the recogniser heard nothing it could assess:
# status → (failure code, learner message). The one table for every engine and caller.
RECOGNITION_FAILURES: dict[str, tuple[str, str]] = {
    RecognitionStatus.NO_MATCH: (
        "no_match",
        "We heard speech but couldn't match it to the text. Check you're reading the "
        "prompt in the lesson's language, then try again.",
    ),
    RecognitionStatus.INITIAL_SILENCE_TIMEOUT: (
        "initial_silence",
        "We only heard silence at the start. Start speaking soon after you press record, "
        "and check your microphone.",
    ),
    RecognitionStatus.BABBLE_TIMEOUT: (
        "babble",
        "We only heard background noise. Move somewhere quieter or closer to the "
        "microphone, then try again.",
    ),
    RecognitionStatus.ERROR: (
        "service_error",
        "The scoring service had a problem. Your recording is saved; please try again soon.",
    ),
}
_UNKNOWN_STATUS = (
    "recognition_failed",
    "We couldn't assess this recording. It is saved; please try again.",
)


class AssessmentError(Exception):
    """A refusal or failure with a code, a message a learner understands, and operator detail.

    ``retryable`` tells the task whether trying again later can help (throttling, timeouts,
    a service-side error); ``retry_after`` is the server's hint in seconds, when it gave one.
    ``operator_message`` is for logs and the admin; it never contains keys or tokens.
    """

    def __init__(
        self,
        code: str,
        learner_message: str,
        *,
        operator_message: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(operator_message or learner_message)
        self.code = code
        self.learner_message = learner_message
        self.operator_message = operator_message or learner_message
        self.retryable = retryable
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.code}: {self.operator_message}"

    @property
    def connection_id(self) -> str:
        """The support id (Azure ``X-ConnectionId``) of the last request, if one was made."""
        return ""

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments are not in ``args``, so the default pickling (``cls(*args)``)
        # cannot rebuild this; restore the attributes instead (multiprocessing, Celery).
        return (_restore_error, (type(self), self.args, dict(self.__dict__)))


def _restore_error(
    cls: type[AssessmentError], args: tuple[object, ...], state: dict[str, object]
) -> AssessmentError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidSettings(AssessmentError):
    """The assessment settings are not a combination the engine accepts."""

    def __init__(self, message: str) -> None:
        super().__init__(
            "invalid_settings",
            "This lesson is not set up correctly. Please tell your teacher.",
            operator_message=message,
        )


class NotRecognised(AssessmentError):
    """A result whose ``recognition_status`` is not ``Success``, as the failure to act on.

    Engines return such results (they are answers, not crashes); the attempt processing and
    ``manage.py assess`` turn them into this error so that the learner gets the status's
    message from :data:`RECOGNITION_FAILURES`. Only ``Error`` is worth retrying.
    """

    def __init__(self, result: AssessmentResult) -> None:
        status = result.recognition_status
        code, message = RECOGNITION_FAILURES.get(status, _UNKNOWN_STATUS)
        detail = f"Recognition status {status} from the {result.engine} engine."
        if result.connection_id:
            detail += f" [X-ConnectionId: {result.connection_id}]"
        super().__init__(
            code,
            message,
            operator_message=detail,
            retryable=status == RecognitionStatus.ERROR,
        )
        self.recognition_status = status
        self.result_connection_id = result.connection_id

    @property
    def connection_id(self) -> str:
        return self.result_connection_id


@dataclass(frozen=True)
class AssessmentSettings:
    """The lesson's assessment settings, as snapshotted onto an attempt."""

    reference_text: str
    locale: str = "en-US"
    grading_system: str = "HundredMark"
    granularity: str = "Phoneme"
    dimension: str = "Comprehensive"
    enable_miscue: bool = True
    enable_prosody: bool = True
    phoneme_alphabet: str = ""
    nbest_phoneme_count: int = 0
    scenario_id: str = ""

    def problems(self) -> list[str]:
        """Every reason these settings are invalid (empty when they are fine)."""
        found = []
        if not self.reference_text.strip():
            found.append("Reference text is empty.")
        if self.locale not in SUPPORTED_LOCALES:
            found.append(f"Locale {self.locale!r} does not support pronunciation assessment.")
        if self.grading_system not in GRADING_SYSTEMS:
            found.append(f"Grading system must be one of {', '.join(GRADING_SYSTEMS)}.")
        if self.granularity not in GRANULARITIES:
            found.append(f"Granularity must be one of {', '.join(GRANULARITIES)}.")
        if self.dimension not in DIMENSIONS:
            found.append(f"Dimension must be one of {', '.join(DIMENSIONS)}.")
        if self.phoneme_alphabet not in PHONEME_ALPHABETS:
            found.append("Phoneme alphabet must be SAPI or IPA.")
        if self.nbest_phoneme_count < 0:
            found.append("N-best phoneme count cannot be negative.")
        en_us_only = {
            "Prosody assessment": self.enable_prosody,
            "The IPA phoneme alphabet": self.phoneme_alphabet == "IPA",
            "Spoken-phoneme candidates (n-best phonemes)": self.nbest_phoneme_count > 0,
        }
        for feature, wanted in en_us_only.items():
            if wanted and self.locale not in EN_US_ONLY_LOCALES:
                found.append(f"{feature} is only available for en-US.")
        return found

    def validate(self) -> None:
        found = self.problems()
        if found:
            raise InvalidSettings(" ".join(found))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssessmentSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class Engine(Protocol):
    name: str

    def assess(self, *, wav: bytes, settings: AssessmentSettings) -> AssessmentResult: ...
