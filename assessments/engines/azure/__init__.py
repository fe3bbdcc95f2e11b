"""Azure Speech pronunciation assessment (short-audio REST API). See ``docs/azure.md``.

Modules: ``config`` (settings), ``credentials`` (secrets), ``request`` (what is sent),
``auth`` (shared token cache), ``transport`` (session, errors, retries), ``parse``
(response → results), ``errors``, ``engine`` (the entry point).
"""

from assessments.engines.azure.engine import AzureEngine
from assessments.engines.azure.errors import (
    AzureAudioRejected,
    AzureBadResponse,
    AzureConfigurationError,
    AzureError,
    AzureUnavailable,
)

__all__ = [
    "AzureAudioRejected",
    "AzureBadResponse",
    "AzureConfigurationError",
    "AzureEngine",
    "AzureError",
    "AzureUnavailable",
]
