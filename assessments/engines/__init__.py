"""Engine selection: one engine instance per process, chosen by settings.

``ASSESSMENT_ENGINE`` is ``auto`` (Azure when credentials for the chosen
``AZURE_SPEECH_AUTH`` mode are given, else the offline engine), ``azure`` or ``local``.
Instances are cached so a worker process loads the offline model once and keeps one pooled
HTTP session for Azure.
"""

from __future__ import annotations

import threading

from django.conf import settings

from assessments.engines.base import AssessmentSettings, Engine

ENGINE_NAMES = ("auto", "azure", "local")

_instances: dict[str, Engine] = {}
_lock = threading.Lock()


def resolve_engine_name(name: str | None = None) -> str:
    """Turn ``auto`` (or nothing) into the concrete engine name for this configuration."""
    name = name or settings.ASSESSMENT_ENGINE
    if name == "auto":
        return "azure" if azure_credentials_given() else "local"
    if name not in ("azure", "local"):
        raise ValueError(f"Unknown assessment engine {name!r}; use one of {ENGINE_NAMES}.")
    return name


def azure_credentials_given() -> bool:
    """Whether the settings carry a credential for the selected Azure auth mode.

    A key for ``key``/``token``; a resource id or an Entra token (string or callable) for
    ``entra``. Given but incomplete (no region, no resource id …) still counts: building
    the engine then fails with a message naming the missing setting, instead of ``auto``
    quietly falling back to the offline engine.
    """
    mode = str(getattr(settings, "AZURE_SPEECH_AUTH", "") or "key").strip().lower()
    if mode == "entra":
        # A callable token source is truthy too.
        token = getattr(settings, "AZURE_SPEECH_ENTRA_TOKEN", None)
        return bool(getattr(settings, "AZURE_SPEECH_RESOURCE_ID", "") or token)
    return bool(getattr(settings, "AZURE_SPEECH_KEY", ""))


def get_engine(name: str | None = None) -> Engine:
    """The process-wide engine instance for ``name`` (default: the configured one)."""
    concrete = resolve_engine_name(name)
    with _lock:
        if concrete not in _instances:
            _instances[concrete] = _build(concrete)
        return _instances[concrete]


def _build(name: str) -> Engine:
    if name == "azure":
        from assessments.engines.azure import AzureEngine

        return AzureEngine.from_settings()
    from assessments.engines.local import LocalEngine

    return LocalEngine.from_settings()


def engine_problems(assessment: AssessmentSettings) -> list[str]:
    """Why the engine this installation uses could not score a lesson with these settings.

    Only the offline engine has limits beyond the settings' own rules (which
    ``AssessmentSettings.problems`` covers for Azure): it scores en-US only, and only text
    whose every word it can pronounce. Checked when a lesson is saved, so an admin learns
    it then rather than from learners' failed attempts.
    """
    if resolve_engine_name() != "local":
        return []
    from assessments.engines.local.engine import SUPPORTED_LOCALES
    from assessments.engines.local.lexicon import words_without_pronunciation

    reason = "Scoring runs on the offline engine (no Azure credentials are configured)"
    if assessment.locale not in SUPPORTED_LOCALES:
        return [f"{reason}, which scores {', '.join(SUPPORTED_LOCALES)} only. Configure Azure, "
                "choose en-US, or save the lesson as inactive until then."]
    missing = words_without_pronunciation(assessment.reference_text)
    if missing:
        named = ", ".join(f'"{word}"' for word in missing)
        return [f"{reason}, which cannot pronounce {named}. Write these words out in Latin "
                "letters (for example numbers or symbols as words)."]
    return []
