"""Auth modes: key, issueToken bearer tokens shared through Django's cache, Entra."""

from __future__ import annotations

import multiprocessing

import pytest

from assessments.engines.azure import AzureConfigurationError, AzureEngine, AzureUnavailable
from assessments.engines.base import AssessmentSettings
from tests.support.azure_double import slow, status

LESSON = AssessmentSettings(reference_text="Good morning")


@pytest.fixture
def token_mode(settings, azure_double):
    settings.AZURE_SPEECH_AUTH = "token"
    return azure_double


def bearer(record) -> str:
    value = record.header("Authorization")
    assert value and value.startswith("Bearer ")
    return value.removeprefix("Bearer ")


def test_token_is_fetched_once_and_reused_across_engines(token_mode, make_engine, wav):
    first, second = make_engine(), make_engine()

    first.assess(wav=wav, settings=LESSON)
    second.assess(wav=wav, settings=LESSON)
    first.assess(wav=wav, settings=LESSON)

    assert len(token_mode.token_requests) == 1
    tokens = {bearer(r) for r in token_mode.requests}
    assert tokens == set(token_mode.issued_tokens)
    assert all(r.header("Ocp-Apim-Subscription-Key") is None for r in token_mode.requests)
    token_request = token_mode.token_requests[0]
    assert token_request.header("Ocp-Apim-Subscription-Key") == token_mode.key


def _assess_in_child(wav: bytes, queue) -> None:
    try:
        result = AzureEngine.from_settings().assess(wav=wav, settings=LESSON)
        queue.put(result.connection_id)
    except Exception as exc:  # report, the parent asserts
        queue.put(f"error: {exc!r}")


def test_token_is_shared_with_another_worker_process(token_mode, make_engine, wav):
    # The suite's cache is file-based (tests/conftest.py), as in the embedded run.
    make_engine().assess(wav=wav, settings=LESSON)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_assess_in_child, args=(wav, queue))

    child.start()
    outcome = queue.get(timeout=30)
    child.join(timeout=30)

    assert outcome == token_mode.last_request.connection_id
    assert len(token_mode.token_requests) == 1
    assert len({bearer(r) for r in token_mode.requests}) == 1


def test_expired_token_is_refreshed_once_on_401(token_mode, make_engine, wav, clock):
    engine = make_engine()
    engine.assess(wav=wav, settings=LESSON)
    token_mode.expire_tokens()

    result = engine.assess(wav=wav, settings=LESSON)

    assert result.succeeded
    assert [r.response_status for r in token_mode.requests] == [200, 401, 200]
    assert len(token_mode.token_requests) == 2
    assert bearer(token_mode.requests[1]) != bearer(token_mode.requests[2])
    assert clock.sleeps == []  # the refresh is immediate, not a backoff


def test_refresh_happens_only_once(token_mode, make_engine, wav):
    token_mode.enqueue(status(401), status(401), status(401))

    with pytest.raises(AzureConfigurationError) as caught:
        make_engine().assess(wav=wav, settings=LESSON)

    assert caught.value.code == "azure_unauthorized" and not caught.value.retryable
    assert len(token_mode.requests) == 2
    assert len(token_mode.token_requests) == 2
    assert len(caught.value.connection_ids) == 2


def test_key_mode_does_not_refresh_on_401(make_engine, wav, azure_double):
    azure_double.enqueue(status(401))

    with pytest.raises(AzureConfigurationError):
        make_engine().assess(wav=wav, settings=LESSON)

    assert len(azure_double.requests) == 1 and azure_double.token_requests == []


def test_bad_key_at_the_token_endpoint(settings, token_mode, make_engine, wav):
    settings.AZURE_SPEECH_KEY = "wrong-key"

    with pytest.raises(AzureConfigurationError) as caught:
        make_engine().assess(wav=wav, settings=LESSON)

    assert caught.value.code == "azure_unauthorized"
    assert "token request" in caught.value.operator_message
    assert token_mode.requests == []


def test_token_endpoint_outage_is_retried(token_mode, make_engine, wav):
    token_mode.enqueue_token(status(503), status(429, retry_after=0))

    result = make_engine().assess(wav=wav, settings=LESSON)

    assert result.succeeded
    assert [r.behaviour for r in token_mode.token_requests] == ["status", "status", "success"]


def test_token_endpoint_timeout_is_retryable(settings, token_mode, make_engine, wav):
    settings.AZURE_SPEECH_READ_TIMEOUT = 0.1
    settings.AZURE_SPEECH_MAX_ATTEMPTS = 1
    token_mode.enqueue_token(slow(1.0))

    with pytest.raises(AzureUnavailable) as caught:
        make_engine().assess(wav=wav, settings=LESSON)

    assert caught.value.code == "azure_timeout"


def test_entra_bearer_form(settings, make_engine, wav, azure_double):
    settings.AZURE_SPEECH_AUTH = "entra"
    settings.AZURE_SPEECH_KEY = ""
    settings.AZURE_SPEECH_RESOURCE_ID = azure_double.entra_resource_id
    settings.AZURE_SPEECH_ENTRA_TOKEN = azure_double.entra_token

    make_engine().assess(wav=wav, settings=LESSON)

    assert bearer(azure_double.last_request) == (
        f"aad#{azure_double.entra_resource_id}#{azure_double.entra_token}"
    )
    assert azure_double.token_requests == []


def test_stale_entra_token_is_an_operator_error(settings, make_engine, wav, azure_double):
    settings.AZURE_SPEECH_AUTH = "entra"
    settings.AZURE_SPEECH_RESOURCE_ID = azure_double.entra_resource_id
    settings.AZURE_SPEECH_ENTRA_TOKEN = "expired-entra-token"

    with pytest.raises(AzureConfigurationError) as caught:
        make_engine().assess(wav=wav, settings=LESSON)

    assert caught.value.code == "azure_unauthorized"
    assert len(azure_double.requests) == 1


def test_entra_token_from_a_callable_is_asked_for_again_after_a_401(
    settings, make_engine, wav, azure_double
):
    """An identity library hands out tokens through a callable: a 401 asks it once more."""
    handed_out = iter(["expired-entra-token", azure_double.entra_token])
    settings.AZURE_SPEECH_AUTH = "entra"
    settings.AZURE_SPEECH_KEY = ""
    settings.AZURE_SPEECH_RESOURCE_ID = azure_double.entra_resource_id
    settings.AZURE_SPEECH_ENTRA_TOKEN = lambda: next(handed_out)

    result = make_engine().assess(wav=wav, settings=LESSON)

    assert result.recognition_status == "Success"
    assert [bearer(r).rsplit("#", 1)[1] for r in azure_double.requests] == [
        "expired-entra-token", azure_double.entra_token,
    ]


def test_token_is_cached_for_nine_minutes_of_its_ten(token_mode, wav, clock):
    from django.core.cache.backends.locmem import LocMemCache

    class Recording(LocMemCache):
        def __init__(self) -> None:
            super().__init__("azure-token-ttl", {})
            self.timeouts: dict[str, float | None] = {}

        def set(self, key, value, timeout=None, version=None):
            self.timeouts[key] = timeout
            return super().set(key, value, timeout=timeout, version=version)

    cache = Recording()
    engine = AzureEngine.from_settings(sleep=clock.sleep, clock=clock.now, cache=cache)

    engine.assess(wav=wav, settings=LESSON)
    engine.assess(wav=wav, settings=LESSON)

    assert cache.timeouts == {engine.auth.cache_key: 9 * 60}
    assert len(token_mode.token_requests) == 1
