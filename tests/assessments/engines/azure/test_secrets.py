"""The key and tokens never appear in logs, exceptions, reprs or results."""

from __future__ import annotations

import logging
import pickle

import pytest

from assessments.engines.azure import AzureError
from assessments.engines.azure.credentials import Secret
from assessments.engines.base import AssessmentSettings
from tests.support.azure_double import respond, status

LESSON = AssessmentSettings(reference_text="Good morning")


def everything_said(caplog, error: BaseException | None, *objects) -> str:
    parts = [r.getMessage() for r in caplog.records]
    parts += [repr(o) for o in objects] + [str(o) for o in objects]
    if error is not None:
        parts += [str(error), repr(error), repr(vars(error))]
        if isinstance(error, AzureError):
            parts += [error.operator_message, error.learner_message]
    return "\n".join(parts)


@pytest.mark.parametrize("auth", ["key", "token"])
def test_secrets_stay_out_of_logs_errors_and_results(
    auth, settings, caplog, make_engine, wav, azure_double
):
    settings.AZURE_SPEECH_AUTH = auth
    caplog.set_level(logging.DEBUG)  # urllib3 and requests included
    engine = make_engine()
    result = engine.assess(wav=wav, settings=LESSON)
    # A hostile error body that echoes the credentials back must be redacted too.
    tokens = azure_double.issued_tokens
    echo = f"bad key {azure_double.key} token {' '.join(tokens)}"
    azure_double.enqueue(status(500, message=echo), respond({"Message": echo}, status=400))

    with pytest.raises(AzureError) as caught:
        engine.assess(wav=wav, settings=LESSON)

    said = everything_said(caplog, caught.value, engine, engine.config, result.to_dict())
    assert "***" in caught.value.operator_message
    assert azure_double.key not in said
    for token in tokens:
        assert token not in said
    assert len(caplog.records) > 0


def test_unauthorized_message_does_not_contain_the_key(settings, caplog, make_engine, wav):
    settings.AZURE_SPEECH_KEY = "s3cr3t-wrong-key-value"
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AzureError) as caught:
        make_engine().assess(wav=wav, settings=LESSON)

    said = everything_said(caplog, caught.value)
    assert "s3cr3t-wrong-key-value" not in said
    assert "AZURE_SPEECH_KEY" in caught.value.operator_message


def test_secret_wrapper_refuses_to_show_or_travel():
    secret = Secret("value-123456")

    assert "value-123456" not in f"{secret} {secret!r}"
    assert secret.reveal() == "value-123456"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_errors_survive_pickling_for_the_task_queue(make_engine, wav, azure_double):
    azure_double.enqueue(status(429, retry_after=7))
    engine = make_engine()
    engine.retry.budget_seconds = 1.0

    with pytest.raises(AzureError) as caught:
        engine.assess(wav=wav, settings=LESSON)

    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own bytes
    assert type(copy) is type(caught.value)
    assert (copy.code, copy.retryable, copy.retry_after) == ("azure_throttled", True, 7.0)
    assert copy.operator_message == caught.value.operator_message
    assert copy.connection_id == azure_double.last_request.connection_id
    assert azure_double.key not in pickle.dumps(caught.value).decode("latin-1")


def test_a_token_from_a_callable_entra_source_is_redacted(
    settings, caplog, make_engine, wav, azure_double
):
    settings.AZURE_SPEECH_AUTH = "entra"
    settings.AZURE_SPEECH_KEY = ""
    settings.AZURE_SPEECH_RESOURCE_ID = azure_double.entra_resource_id
    settings.AZURE_SPEECH_ENTRA_TOKEN = lambda: azure_double.entra_token
    caplog.set_level(logging.DEBUG)
    token = azure_double.entra_token
    azure_double.enqueue(respond({"Message": f"language? token was {token}"}, status=400))

    with pytest.raises(AzureError) as caught:
        make_engine().assess(wav=wav, settings=LESSON)

    assert "token was ***" in caught.value.operator_message
    assert token not in everything_said(caplog, caught.value)
