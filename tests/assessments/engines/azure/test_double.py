"""The double rejects what Azure would reject, so a green engine test means something."""

from __future__ import annotations

import base64
import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.azure_double import AzureDouble, build_success

from .conftest import make_wav

GOOD_ASSESSMENT = {
    "ReferenceText": "Good morning",
    "GradingSystem": "HundredMark",
    "Granularity": "Phoneme",
    "Dimension": "Comprehensive",
    "EnableMiscue": "True",
    "EnableProsodyAssessment": "True",
}


# A reference text whose JSON encodes to bytes with '+'/'/' in standard base64.
URLSAFE_JSON = json.dumps({**GOOD_ASSESSMENT, "ReferenceText": "??>>~~"}).encode()
assert set(base64.b64encode(URLSAFE_JSON).decode()) & {"+", "/"}


def encode(data: dict | str) -> str:
    text = data if isinstance(data, str) else json.dumps(data)
    return base64.b64encode(text.encode("utf-8")).decode()


@pytest.fixture
def double():
    with AzureDouble() as running:
        yield running


def good_headers(double: AzureDouble, **overrides) -> dict[str, str]:
    headers = {
        "Content-Type": "audio/wav; codecs=audio/pcm; samplerate=16000",
        "Accept": "application/json",
        "Ocp-Apim-Subscription-Key": double.key,
        "Pronunciation-Assessment": encode(GOOD_ASSESSMENT),
        "X-ConnectionId": "0123456789abcdef0123456789abcdef",
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def post(double, *, headers, params=None, data=None):
    return requests.post(
        double.endpoint,
        params=params if params is not None else {"language": "en-US", "format": "detailed"},
        headers=headers,
        data=make_wav(seconds=0.5) if data is None else data,
        timeout=5,
    )


def test_a_correct_request_is_accepted(double):
    response = post(double, headers=good_headers(double))

    assert response.status_code == 200, response.text
    assert response.json()["NBest"][0]["Words"][0]["Word"] == "good"
    assert double.violations == []


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"Content-Type": "audio/wav"}, "Content-Type"),
        ({"Accept": "text/xml"}, "Accept"),
        ({"Pronunciation-Assessment": None}, "header missing"),
        ({"Pronunciation-Assessment": "eyJ!!"}, "base64"),
        ({"Pronunciation-Assessment": encode('{"ReferenceText": "say "hi""}')}, "valid JSON"),
        ({"Pronunciation-Assessment": base64.b64encode("{}".encode("utf-16")).decode()}, "UTF-8"),
        (
            {"Pronunciation-Assessment": encode({**GOOD_ASSESSMENT, "Dimension": "Full"})},
            "Dimension",
        ),
        ({"Pronunciation-Assessment": encode({**GOOD_ASSESSMENT, "Extra": 1})}, "unknown keys"),
        (
            {"Pronunciation-Assessment": base64.urlsafe_b64encode(URLSAFE_JSON).decode()},
            "standard base64",
        ),
        ({"Accept": None}, "Accept"),
        ({"Authorization": "Bearer x"}, "both a key and an Authorization"),
    ],
)
def test_header_rules(double, overrides, fragment):
    response = post(double, headers=good_headers(double, **overrides))

    assert response.status_code == 400
    assert any(fragment in v for v in double.violations), double.violations


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"format": "detailed"}, "language"),
        ({"language": "en-US", "format": "detailed", "foo": "1"}, "unknown query"),
        ({"language": "en-US", "format": "detailed", "profanity": "hide"}, "profanity"),
        ({"language": "en-US", "format": "detailed", "cid": ""}, "empty cid"),
        ({"language": "xx-XX", "format": "detailed"}, "language"),
    ],
)
def test_query_rules(double, params, fragment):
    response = post(double, headers=good_headers(double), params=params)

    assert response.status_code == 400
    assert any(fragment in v for v in double.violations), double.violations


@pytest.mark.parametrize(
    "extra",
    [
        {},  # prosody on, from GOOD_ASSESSMENT
        {"EnableProsodyAssessment": "False", "PhonemeAlphabet": "IPA"},
        {"EnableProsodyAssessment": "False", "NBestPhonemeCount": 3},
    ],
)
def test_en_us_only_features_elsewhere_are_refused(double, extra):
    params = {"language": "de-DE", "format": "detailed"}
    headers = good_headers(
        double, **{"Pronunciation-Assessment": encode({**GOOD_ASSESSMENT, **extra})}
    )

    response = post(double, headers=headers, params=params)

    assert response.status_code == 400
    assert any("en-US only" in v for v in double.violations)


def test_unknown_path_is_a_404_and_a_violation(double):
    response = requests.post(
        f"{double.base_url}/speech/recognition/interactive/cognitiveservices/v1",
        params={"language": "en-US", "format": "detailed"},
        headers=good_headers(double),
        data=make_wav(seconds=0.2),
        timeout=5,
    )

    assert response.status_code == 404
    assert any("unknown path" in v for v in double.violations)


def without(key: str) -> dict:
    return {k: v for k, v in GOOD_ASSESSMENT.items() if k != key}


@pytest.mark.parametrize(
    ("overrides", "params", "data", "fragment", "check"),
    [
        # Azure discards a malformed id and serves the request.
        ({"X-ConnectionId": "0123-4567"}, None, None, "X-ConnectionId", None),
        # No Dimension: Azure's default Basic, so no fluency, completeness or ErrorType.
        (
            {"Pronunciation-Assessment": encode(without("Dimension"))},
            None,
            None,
            "'Dimension'",
            lambda best: "FluencyScore" not in best and "ErrorType" not in best["Words"][0],
        ),
        # No GradingSystem: Azure's default FivePoint.
        (
            {"Pronunciation-Assessment": encode(without("GradingSystem"))},
            None,
            None,
            "'GradingSystem'",
            lambda best: 0 <= best["AccuracyScore"] <= 5,
        ),
        # No format=detailed: the simple answer, with no NBest and no scores.
        ({}, {"language": "en-US"}, None, "format=detailed", None),
        # Over 30 s: answered, but Azure only assesses the first 30 s.
        ({}, None, make_wav(seconds=31), "30 s", None),
    ],
)
def test_rules_azure_tolerates_are_recorded_but_answered(
    double, overrides, params, data, fragment, check
):
    response = post(double, headers=good_headers(double, **overrides), params=params, data=data)

    assert response.status_code == 200, response.text
    assert any(fragment in v for v in double.violations), double.violations
    record = double.last_request
    assert record.tolerated == record.violations and record.refusals == []
    if params == {"language": "en-US"}:
        assert "NBest" not in response.json() and "DisplayText" in response.json()
    if check is not None:
        assert check(response.json()["NBest"][0])


def test_a_bad_key_is_refused_before_the_upload(double):
    host, port = urlsplit(double.base_url).hostname, urlsplit(double.base_url).port
    headers = good_headers(
        double,
        **{"Ocp-Apim-Subscription-Key": "wrong", "Transfer-Encoding": "chunked"},
        Expect="100-continue",
    )
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        "POST /speech/recognition/conversation/cognitiveservices/v1?language=en-US&format=detailed "
        f"HTTP/1.1\r\nHost: {host}\r\n{head}\r\n"
    ).encode()

    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(request)  # headers only: wait for 100 Continue like a careful client
        answer = sock.recv(65536)

    assert answer.startswith(b"HTTP/1.1 401"), answer[:40]
    assert double.last_request.behaviour == "refused_before_continue"
    assert double.last_request.body == b""


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (make_wav(seconds=0.5, rate=8000), "16 kHz"),
        (make_wav(seconds=0.5, channels=2), "mono"),
        (b"RIFF....WAVEjunk", "not a PCM WAV"),
        (make_wav(seconds=0.5)[:-100], "shorter"),
    ],
)
def test_body_rules(double, data, fragment):
    response = post(double, headers=good_headers(double), data=data)

    assert response.status_code == 400
    assert any(fragment in v for v in double.violations), double.violations


def test_auth_rules(double):
    assert (
        post(double, headers=good_headers(double, **{"Ocp-Apim-Subscription-Key": "x"})).status_code
        == 401
    )
    no_auth = good_headers(double, **{"Ocp-Apim-Subscription-Key": None})
    assert post(double, headers=no_auth).status_code == 403
    bearer = good_headers(
        double, **{"Ocp-Apim-Subscription-Key": None, "Authorization": "Bearer nope"}
    )
    assert post(double, headers=bearer).status_code == 401


def test_reused_connection_id_is_flagged(double):
    headers = good_headers(double)
    post(double, headers=headers)

    post(double, headers=headers)

    assert any("reused" in v for v in double.violations)


def test_chunked_upload_needs_expect_and_the_header_in_the_first_chunk(double):
    wav = make_wav(seconds=0.5)

    def chunks(first: int):
        yield wav[:first]
        yield wav[first:]

    post(double, headers=good_headers(double), data=chunks(20))

    assert any("Expect" in v for v in double.violations)
    assert any("first chunk" in v for v in double.violations)


def test_a_wav_header_in_a_later_chunk_is_flagged(double):
    # A classic streaming bug: every chunk sent as a little WAV file of its own.
    pieces = [make_wav(seconds=0.25), make_wav(seconds=0.25)]
    headers = good_headers(double, Expect="100-continue")

    post(double, headers=headers, data=iter(pieces))

    assert any("later chunk" in v for v in double.violations), double.violations


def test_malformed_chunk_framing_is_flagged(double):
    host, port = urlsplit(double.base_url).hostname, urlsplit(double.base_url).port
    headers = good_headers(double, **{"Transfer-Encoding": "chunked", "Expect": "100-continue"})
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        "POST /speech/recognition/conversation/cognitiveservices/v1?language=en-US&format=detailed "
        f"HTTP/1.1\r\nHost: {host}\r\n{head}\r\n"
    ).encode() + b"zz\r\nabc\r\n0\r\n\r\n"

    answer = b""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(request)
        while b"HTTP/1.1 400" not in answer and (part := sock.recv(65536)):
            answer += part

    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400")
    assert any("bad chunk size" in v for v in double.violations)


def test_token_endpoint_checks_its_request(double):
    token = requests.post(
        double.token_endpoint,
        headers={
            "Ocp-Apim-Subscription-Key": double.key,
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": "0",
        },
        timeout=5,
    )
    wrong = requests.post(
        double.token_endpoint, headers={"Ocp-Apim-Subscription-Key": "nope"}, data=b"x", timeout=5
    )

    assert token.status_code == 200 and token.text in double.issued_tokens
    assert wrong.status_code == 401
    assert any("Content-Type" in v for v in double.violations)
    assert any("Content-Length: 0" in v for v in double.violations)
    assert any("body must be empty" in v for v in double.violations)


def test_success_builder_respects_settings():
    basic = build_success(
        {
            **GOOD_ASSESSMENT,
            "Dimension": "Basic",
            "Granularity": "Word",
            "EnableProsodyAssessment": "False",
        },
        language="en-US",
    )
    best = basic["NBest"][0]
    assert "FluencyScore" not in best and "ErrorType" not in best["Words"][0]
    assert "Phonemes" not in best["Words"][0] and "Feedback" not in best["Words"][0]

    unnamed = build_success(
        {**GOOD_ASSESSMENT, "EnableProsodyAssessment": "False"}, language="fr-FR"
    )
    word = unnamed["NBest"][0]["Words"][0]
    assert all(p["Phoneme"] == "" for p in word["Phonemes"]) and "Syllables" not in word
