"""The ``Authorization``/key header for each request, with a token cache shared by processes.

Bearer tokens from ``issueToken`` live 10 minutes; Microsoft recommends reusing one for 9.
They are kept in Django's cache (Redis in production, a file cache in the embedded run) so
every task in every worker process reuses the same token instead of fetching its own. The
cache key is a digest of the key and token endpoint: the key itself is never stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests
from django.core.cache import BaseCache
from django.core.cache import cache as default_cache

from assessments.engines.azure.credentials import (
    AUTH_ENTRA,
    AUTH_KEY,
    AzureCredentials,
    Secret,
)
from assessments.engines.azure.errors import LEARNER_SETUP, AzureBadResponse
from assessments.engines.azure.transport import error_for_exception, error_for_status

logger = logging.getLogger("assessments.engines.azure")

TOKEN_TTL_SECONDS = 9 * 60
# While one process fetches a token, others wait this long for it before fetching too.
LOCK_SECONDS = 10
LOCK_POLL_SECONDS = 0.05


class AzureAuth:
    """Produces the auth header; in token mode, caches, shares and refreshes tokens."""

    def __init__(
        self,
        *,
        credentials: AzureCredentials,
        session_factory: Callable[[], requests.Session],
        timeout: tuple[float, float],
        cache: BaseCache | None = None,
    ) -> None:
        self.credentials = credentials
        self._session_factory = session_factory
        self._timeout = timeout
        self._cache = cache
        digest = Secret(f"{credentials.token_endpoint}|{credentials.key.reveal()}").fingerprint()
        self.cache_key = f"azure-speech:token:{digest}"
        self._lock_key = f"{self.cache_key}:lock"

    @property
    def cache(self) -> BaseCache:
        # Resolved per use so that a settings change (tests) swaps the backend.
        return self._cache if self._cache is not None else default_cache

    @property
    def uses_token(self) -> bool:
        return self.credentials.mode not in (AUTH_KEY, AUTH_ENTRA)

    @property
    def can_refresh(self) -> bool:
        """Whether a 401 is worth one more try: only when a fresh credential can be had.

        A cached issueToken token can be fetched again; an Entra token from a callable
        source (an identity library) can be asked for again; a fixed key or token cannot.
        """
        if self.uses_token:
            return True
        return self.credentials.mode == AUTH_ENTRA and callable(self.credentials.entra_token)

    def secrets(self) -> list[str]:
        found = self.credentials.known_secrets()
        token = self.cache.get(self.cache_key) if self.uses_token else None
        if token:
            found.append(token)
        return found

    def header(self) -> tuple[tuple[str, str], str]:
        """``((name, value), token)``; ``token`` is the bearer sent (for :meth:`invalidate`)."""
        mode = self.credentials.mode
        if mode == AUTH_KEY:
            return ("Ocp-Apim-Subscription-Key", self.credentials.key.reveal()), ""
        if mode == AUTH_ENTRA:
            bearer = self.credentials.entra_bearer().reveal()
            return ("Authorization", f"Bearer {bearer}"), bearer
        token = self.token()
        return ("Authorization", f"Bearer {token}"), token

    def token(self) -> str:
        cache = self.cache
        token = cache.get(self.cache_key)
        if token:
            return token
        if cache.add(self._lock_key, "1", timeout=LOCK_SECONDS):
            try:
                return self._fetch_and_store()
            finally:
                cache.delete(self._lock_key)
        # Another process is fetching: wait for its token rather than fetch a second one.
        deadline = time.monotonic() + sum(self._timeout)
        while time.monotonic() < deadline:
            time.sleep(LOCK_POLL_SECONDS)
            token = cache.get(self.cache_key)
            if token:
                return token
            if cache.get(self._lock_key) is None:
                break
        return self._fetch_and_store()

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after a 401 — unless another process already replaced it."""
        if token and self.cache.get(self.cache_key) == token:
            self.cache.delete(self.cache_key)

    def _fetch_and_store(self) -> str:
        token = self._fetch()
        self.cache.set(self.cache_key, token, timeout=TOKEN_TTL_SECONDS)
        logger.info("Fetched a new Azure Speech access token (cached %ds).", TOKEN_TTL_SECONDS)
        return token

    def _fetch(self) -> str:
        headers = {
            "Ocp-Apim-Subscription-Key": self.credentials.key.reveal(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": "0",
        }
        secrets = self.credentials.known_secrets()
        try:
            response = self._session_factory().post(
                self.credentials.token_endpoint, headers=headers, data=b"", timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise error_for_exception(exc, what="token request") from None
        if response.status_code != 200:
            raise error_for_status(
                response, secrets=secrets, token_auth=False, what="token request"
            )
        token = response.text.strip()
        if not token or any(c.isspace() for c in token) or len(token) > 8192:
            raise AzureBadResponse(
                "azure_bad_token",
                LEARNER_SETUP,
                operator_message="The issueToken endpoint answered 200 without a usable token.",
            )
        return token
