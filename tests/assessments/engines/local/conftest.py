"""Shared fixtures for the offline engine: one engine per test session, real learner audio."""

from __future__ import annotations

import json

import pytest

from assessments.engines.local import LocalEngine
from tests.assessments.engines.local.helpers import CORPUS


@pytest.fixture(scope="session")
def engine() -> LocalEngine:
    # Two decoders so the threading test really runs two decodes at once.
    return LocalEngine(decoders=2)


@pytest.fixture(scope="session")
def corpus() -> dict[str, dict]:
    return json.loads((CORPUS / "scores.json").read_text(encoding="utf-8"))
