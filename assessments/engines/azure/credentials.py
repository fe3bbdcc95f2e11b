"""The Azure credentials object: holds the secrets, never shows them, fails loudly.

Secrets are wrapped in :class:`Secret`, whose ``repr``/``str`` are masked, so an
accidental f-string, log line, traceback local or ``repr(engine)`` cannot leak them;
only the header builders call :meth:`Secret.reveal`.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

AUTH_KEY = "key"
AUTH_TOKEN = "token"  # noqa: S105 - a mode name, not a password
AUTH_ENTRA = "entra"
AUTH_MODES = (AUTH_KEY, AUTH_TOKEN, AUTH_ENTRA)

MASK = "***"


class Secret:
    """A string that refuses to be printed. Compare and hash through :meth:`fingerprint`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def fingerprint(self) -> str:
        """A short one-way digest, safe for cache keys and logs."""
        return hashlib.sha256(self._value.encode("utf-8")).hexdigest()[:16]

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    __str__ = __repr__

    def __reduce__(self) -> None:  # type: ignore[override]
        # Pickling would copy the secret into task payloads or caches; refuse it.
        raise TypeError("Secrets cannot be pickled.")


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each (non-trivial) secret in ``text`` with ``***``."""
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, MASK)
    return text


EntraTokenSource = Callable[[], str]

# How many Entra tokens from a callable source are remembered for redaction: threads of one
# process may still be reporting on a token the source has since replaced.
RECENT_ENTRA_TOKENS = 4


@dataclass(frozen=True)
class AzureCredentials:
    """How requests authenticate. Build it with :meth:`from_values`, which validates.

    - ``key``: ``Ocp-Apim-Subscription-Key`` on every request.
    - ``token``: the key is exchanged at ``token_endpoint`` for a 10-minute bearer token.
    - ``entra``: ``Authorization: Bearer aad#<resource_id>#<entra token>``; the Entra
      token is a string or a zero-argument callable returning a fresh one.
    """

    mode: str
    key: Secret = field(repr=False)
    token_endpoint: str = ""
    resource_id: str = ""
    entra_token: Secret | EntraTokenSource | None = field(default=None, repr=False)
    # Tokens a callable source handed out: an error body echoing one must still be redacted.
    _handed_out: deque[str] = field(
        default_factory=lambda: deque(maxlen=RECENT_ENTRA_TOKENS), repr=False, compare=False
    )

    @classmethod
    def from_values(
        cls,
        *,
        mode: str,
        key: str,
        token_endpoint: str = "",
        resource_id: str = "",
        entra_token: str | EntraTokenSource | None = None,
    ) -> AzureCredentials:
        mode = (mode or AUTH_KEY).strip().lower()
        if mode not in AUTH_MODES:
            raise ImproperlyConfigured(
                f"AZURE_SPEECH_AUTH must be one of {', '.join(AUTH_MODES)}; got {mode!r}."
            )
        key = (key or "").strip()
        if mode in (AUTH_KEY, AUTH_TOKEN) and not key:
            raise ImproperlyConfigured(
                f"The Azure engine is on with AZURE_SPEECH_AUTH={mode!r} but AZURE_SPEECH_KEY "
                "is empty. Set the Speech resource key (Azure portal > Keys and Endpoint)."
            )
        if mode == AUTH_TOKEN and not token_endpoint:
            raise ImproperlyConfigured(
                "AZURE_SPEECH_AUTH='token' needs AZURE_SPEECH_REGION or "
                "AZURE_SPEECH_TOKEN_ENDPOINT to know where to fetch tokens."
            )
        source: Secret | EntraTokenSource | None = None
        if mode == AUTH_ENTRA:
            if not resource_id.strip():
                raise ImproperlyConfigured(
                    "AZURE_SPEECH_AUTH='entra' needs AZURE_SPEECH_RESOURCE_ID (the Speech "
                    "resource's full Azure resource id)."
                )
            if callable(entra_token):
                source = entra_token
            elif entra_token and entra_token.strip():
                source = Secret(entra_token.strip())
            else:
                raise ImproperlyConfigured(
                    "AZURE_SPEECH_AUTH='entra' needs AZURE_SPEECH_ENTRA_TOKEN (a Microsoft "
                    "Entra access token, or a callable returning one)."
                )
        return cls(
            mode=mode,
            key=Secret(key),
            token_endpoint=token_endpoint,
            resource_id=resource_id.strip(),
            entra_token=source,
        )

    def entra_bearer(self) -> Secret:
        """The ``aad#<resource-id>#<token>`` bearer value Microsoft documents for Entra."""
        source = self.entra_token
        if isinstance(source, Secret):
            token = source.reveal()
        else:
            token = source() if source else ""
            if token and token not in self._handed_out:
                self._handed_out.append(token)
        return Secret(f"aad#{self.resource_id}#{token}")

    def known_secrets(self) -> list[str]:
        """Values to scrub from any text that leaves the client (messages, logs)."""
        found = [self.key.reveal()]
        if isinstance(self.entra_token, Secret):
            found.append(self.entra_token.reveal())
        found.extend(self._handed_out)
        return found
