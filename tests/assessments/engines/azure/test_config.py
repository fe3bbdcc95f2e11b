"""Settings → engine: clear start-up failures, endpoints, and the process-wide instance."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from assessments.engines import get_engine, resolve_engine_name
from assessments.engines.azure import AzureEngine
from assessments.engines.azure.config import AzureConfig
from assessments.engines.azure.transport import process_session
from assessments.engines.base import AssessmentSettings


def test_region_builds_both_endpoints(settings):
    settings.AZURE_SPEECH_KEY = "k" * 32
    settings.AZURE_SPEECH_REGION = "westeurope"
    settings.AZURE_SPEECH_ENDPOINT = ""
    settings.AZURE_SPEECH_TOKEN_ENDPOINT = ""

    config = AzureConfig.from_settings()

    assert config.endpoint == (
        "https://westeurope.stt.speech.microsoft.com"
        "/speech/recognition/conversation/cognitiveservices/v1"
    )
    assert config.credentials.token_endpoint == (
        "https://westeurope.api.cognitive.microsoft.com/sts/v1.0/issueToken"
    )
    assert "k" * 32 not in repr(config)


def test_a_bare_custom_domain_gets_the_short_audio_path(settings):
    settings.AZURE_SPEECH_KEY = "k"
    settings.AZURE_SPEECH_ENDPOINT = "https://my-speech.cognitiveservices.azure.com/"

    config = AzureConfig.from_settings()

    assert config.endpoint == (
        "https://my-speech.cognitiveservices.azure.com"
        "/speech/recognition/conversation/cognitiveservices/v1"
    )


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"AZURE_SPEECH_KEY": ""}, "AZURE_SPEECH_KEY"),
        ({"AZURE_SPEECH_REGION": "", "AZURE_SPEECH_ENDPOINT": ""}, "AZURE_SPEECH_REGION"),
        ({"AZURE_SPEECH_ENDPOINT": "http://speech.example.com/v1"}, "https"),
        ({"AZURE_SPEECH_ENDPOINT": "ftp://x"}, "AZURE_SPEECH_ENDPOINT"),
        ({"AZURE_SPEECH_AUTH": "password"}, "AZURE_SPEECH_AUTH"),
        ({"AZURE_SPEECH_AUTH": "entra", "AZURE_SPEECH_RESOURCE_ID": ""}, "RESOURCE_ID"),
        (
            {
                "AZURE_SPEECH_AUTH": "token",
                "AZURE_SPEECH_REGION": "",
                "AZURE_SPEECH_TOKEN_ENDPOINT": "",
                "AZURE_SPEECH_ENDPOINT": "https://a.example",
            },
            "AZURE_SPEECH_TOKEN_ENDPOINT",
        ),
        ({"AZURE_SPEECH_PROFANITY": "hide"}, "AZURE_SPEECH_PROFANITY"),
        ({"AZURE_SPEECH_MAX_ATTEMPTS": 0}, "AZURE_SPEECH_MAX_ATTEMPTS"),
        ({"AZURE_BREAK_CONFIDENCE_THRESHOLD": 2}, "AZURE_BREAK_CONFIDENCE_THRESHOLD"),
    ],
)
def test_misconfiguration_fails_loudly(settings, overrides, mentions):
    settings.AZURE_SPEECH_KEY = "a-real-looking-key"
    settings.AZURE_SPEECH_REGION = "westeurope"
    settings.AZURE_SPEECH_ENDPOINT = ""
    settings.AZURE_SPEECH_AUTH = "key"
    for name, value in overrides.items():
        setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured) as caught:
        AzureEngine.from_settings()

    assert mentions in str(caught.value)
    assert "a-real-looking-key" not in str(caught.value)


def test_get_engine_builds_one_azure_engine_per_process(azure_double):
    engine = get_engine("azure")

    assert isinstance(engine, AzureEngine) and engine.name == "azure"
    assert get_engine("azure") is engine
    assert engine.config.endpoint == azure_double.endpoint


def test_one_pooled_session_per_process():
    assert process_session() is process_session()
    adapter = process_session().get_adapter("https://westeurope.stt.speech.microsoft.com/")
    assert adapter.max_retries.total == 0  # retries are the engine's, not urllib3's


def test_a_bare_token_host_gets_the_issue_token_path(settings):
    settings.AZURE_SPEECH_KEY = "k"
    settings.AZURE_SPEECH_AUTH = "token"
    settings.AZURE_SPEECH_REGION = ""
    settings.AZURE_SPEECH_ENDPOINT = "https://my-speech.cognitiveservices.azure.com"
    settings.AZURE_SPEECH_TOKEN_ENDPOINT = "https://my-speech.cognitiveservices.azure.com/"

    config = AzureConfig.from_settings()

    assert config.credentials.token_endpoint == (
        "https://my-speech.cognitiveservices.azure.com/sts/v1.0/issueToken"
    )


@pytest.mark.parametrize("region", ["West Europe", "westeurope.stt", "west/europe"])
def test_a_region_that_is_not_an_identifier_is_refused(settings, region):
    settings.AZURE_SPEECH_KEY = "k"
    settings.AZURE_SPEECH_REGION = region
    settings.AZURE_SPEECH_ENDPOINT = ""

    with pytest.raises(ImproperlyConfigured) as caught:
        AzureConfig.from_settings()

    assert "AZURE_SPEECH_REGION" in str(caught.value)


def test_region_is_case_insensitive(settings):
    settings.AZURE_SPEECH_KEY = "k"
    settings.AZURE_SPEECH_REGION = " WestEurope "
    settings.AZURE_SPEECH_ENDPOINT = ""

    assert AzureConfig.from_settings().endpoint.startswith("https://westeurope.stt.")


@pytest.mark.parametrize(
    ("auth", "key", "resource_id", "entra_token", "expected"),
    [
        ("key", "k" * 32, "", "", "azure"),
        ("token", "k" * 32, "", "", "azure"),
        ("key", "", "", "", "local"),
        ("entra", "", "/subscriptions/0/rg/speech", "entra-token", "azure"),
        ("entra", "", "/subscriptions/0/rg/speech", lambda: "entra-token", "azure"),
        ("entra", "", "", "", "local"),
        # Half an Entra set-up still picks Azure, whose start-up then names what is missing.
        ("entra", "", "", "entra-token", "azure"),
    ],
)
def test_auto_picks_azure_for_any_auth_mode_with_credentials(
    settings, auth, key, resource_id, entra_token, expected
):
    settings.AZURE_SPEECH_AUTH = auth
    settings.AZURE_SPEECH_KEY = key
    settings.AZURE_SPEECH_RESOURCE_ID = resource_id
    settings.AZURE_SPEECH_ENTRA_TOKEN = entra_token

    assert resolve_engine_name("auto") == expected


def test_an_entra_only_setup_is_assessed_by_azure_under_auto(settings, azure_double, wav):
    settings.ASSESSMENT_ENGINE = "auto"
    settings.AZURE_SPEECH_AUTH = "entra"
    settings.AZURE_SPEECH_KEY = ""
    settings.AZURE_SPEECH_RESOURCE_ID = azure_double.entra_resource_id
    settings.AZURE_SPEECH_ENTRA_TOKEN = azure_double.entra_token

    result = get_engine().assess(wav=wav, settings=AssessmentSettings(reference_text="Hello"))

    assert result.engine == "azure" and result.succeeded
    assert azure_double.last_request.header("Authorization").startswith("Bearer aad#")


def test_half_an_entra_setup_fails_at_start_up_naming_the_setting(settings):
    settings.AZURE_SPEECH_AUTH = "entra"
    settings.AZURE_SPEECH_KEY = ""
    settings.AZURE_SPEECH_REGION = "westeurope"
    settings.AZURE_SPEECH_RESOURCE_ID = ""
    settings.AZURE_SPEECH_ENTRA_TOKEN = "entra-token"

    with pytest.raises(ImproperlyConfigured) as caught:
        AzureEngine.from_settings()

    assert "AZURE_SPEECH_RESOURCE_ID" in str(caught.value)
