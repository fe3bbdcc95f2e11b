"""The offline assessment engine (en-US): see ``docs/offline-engine.md``."""

from assessments.engines.local.engine import LocalEngine

__all__ = ["LocalEngine"]
