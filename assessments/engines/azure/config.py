"""Everything the Azure engine reads from Django settings, resolved and checked once.

A misconfigured engine fails at construction with :class:`ImproperlyConfigured`
naming the setting to fix, not on a learner's first recording.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from assessments.engines.azure.credentials import AUTH_KEY, AzureCredentials

STT_PATH = "/speech/recognition/conversation/cognitiveservices/v1"
TOKEN_PATH = "/sts/v1.0/issueToken"  # noqa: S105 - a URL path
_REGION = re.compile(r"^[a-z0-9]+$")
PROFANITY_OPTIONS = ("", "masked", "removed", "raw")


def region_endpoint(region: str) -> str:
    return f"https://{region}.stt.speech.microsoft.com{STT_PATH}"


def region_token_endpoint(region: str) -> str:
    return f"https://{region}.api.cognitive.microsoft.com{TOKEN_PATH}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_endpoint(url: str, *, setting: str) -> str:
    """Check a full endpoint URL; a bare host gets the short-audio (or issueToken) path.

    Plain ``http`` is accepted only for loopback (a local test double) so that a key
    never crosses a network unencrypted.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(f"{setting} must be an http(s) URL; got {url!r}.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ImproperlyConfigured(
            f"{setting} uses plain http to a non-local host; use https so the key is encrypted."
        )
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{setting} must not carry a query string; got {url!r}.")
    path = parts.path.rstrip("/")
    if not path:
        path = TOKEN_PATH if setting == "AZURE_SPEECH_TOKEN_ENDPOINT" else STT_PATH
    return f"{parts.scheme}://{parts.netloc}{path}"


@dataclass(frozen=True)
class AzureConfig:
    endpoint: str
    credentials: AzureCredentials = field(repr=False)
    stream: bool = True
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retry_budget_seconds: float = 20.0
    max_attempts: int = 4
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 8.0
    profanity: str = ""
    cid: str = ""
    break_confidence_threshold: float = 0.75
    # 8 KiB is a quarter of a second of 16 kHz 16-bit mono: small enough to stream, big
    # enough that per-chunk framing costs nothing measurable.
    chunk_size: int = 8192

    @classmethod
    def from_settings(cls, **overrides: Any) -> AzureConfig:
        def get(name: str, default: Any) -> Any:
            value = getattr(settings, name, default)
            return default if value is None else value

        region = str(get("AZURE_SPEECH_REGION", "")).strip().lower()
        if region and not _REGION.match(region):
            raise ImproperlyConfigured(
                "AZURE_SPEECH_REGION must be a region identifier such as 'westeurope' "
                f"(letters and digits, no spaces); got {region!r}."
            )
        endpoint = str(get("AZURE_SPEECH_ENDPOINT", "")).strip()
        if endpoint:
            endpoint = normalise_endpoint(endpoint, setting="AZURE_SPEECH_ENDPOINT")
        elif region:
            endpoint = region_endpoint(region)
        else:
            raise ImproperlyConfigured(
                "The Azure engine needs AZURE_SPEECH_REGION (e.g. 'westeurope') or a full "
                "AZURE_SPEECH_ENDPOINT."
            )
        token_endpoint = str(get("AZURE_SPEECH_TOKEN_ENDPOINT", "")).strip()
        if token_endpoint:
            token_endpoint = normalise_endpoint(
                token_endpoint, setting="AZURE_SPEECH_TOKEN_ENDPOINT"
            )
        elif region:
            token_endpoint = region_token_endpoint(region)
        credentials = AzureCredentials.from_values(
            mode=str(get("AZURE_SPEECH_AUTH", AUTH_KEY)),
            key=str(get("AZURE_SPEECH_KEY", "")),
            token_endpoint=token_endpoint,
            resource_id=str(get("AZURE_SPEECH_RESOURCE_ID", "")),
            entra_token=get("AZURE_SPEECH_ENTRA_TOKEN", None),
        )
        profanity = str(get("AZURE_SPEECH_PROFANITY", "")).strip().lower()
        if profanity not in PROFANITY_OPTIONS:
            raise ImproperlyConfigured(
                "AZURE_SPEECH_PROFANITY must be empty, 'masked', 'removed' or 'raw'."
            )
        values: dict[str, Any] = {
            "endpoint": endpoint,
            "credentials": credentials,
            "stream": bool(get("AZURE_SPEECH_STREAM", True)),
            "connect_timeout": float(get("AZURE_SPEECH_CONNECT_TIMEOUT", 5.0)),
            "read_timeout": float(get("AZURE_SPEECH_READ_TIMEOUT", 30.0)),
            "retry_budget_seconds": float(get("AZURE_SPEECH_RETRY_BUDGET_SECONDS", 20.0)),
            "max_attempts": int(get("AZURE_SPEECH_MAX_ATTEMPTS", 4)),
            "backoff_base_seconds": float(get("AZURE_SPEECH_BACKOFF_BASE_SECONDS", 0.5)),
            "profanity": profanity,
            "cid": str(get("AZURE_SPEECH_CID", "")).strip(),
            "break_confidence_threshold": float(get("AZURE_BREAK_CONFIDENCE_THRESHOLD", 0.75)),
        }
        values.update(overrides)
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ImproperlyConfigured("Azure connect and read timeouts must be positive.")
        if self.max_attempts < 1:
            raise ImproperlyConfigured("AZURE_SPEECH_MAX_ATTEMPTS must be at least 1.")
        if self.retry_budget_seconds < 0 or self.backoff_base_seconds < 0:
            raise ImproperlyConfigured("Azure retry budget and backoff cannot be negative.")
        if not 0.0 <= self.break_confidence_threshold <= 1.0:
            raise ImproperlyConfigured("AZURE_BREAK_CONFIDENCE_THRESHOLD must be within 0–1.")
        if self.chunk_size < 64:
            raise ImproperlyConfigured("The streaming chunk size must be at least 64 bytes.")
