"""Redaction rules on their own: folded keys, the byte test before parsing, credential headers, PII shapes."""

from __future__ import annotations

import sys

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.api.common import snake_case
from mock_server.recording import redact
from mock_server.recording.redact import (
    REDACTED,
    WITHHELD,
    fold,
    is_secret_header,
    may_hold_secret,
    pseudonym,
    redact_header,
    redact_pii,
    redact_pii_body,
    redact_secret_body,
    redact_secret_fields,
)
from tests.reliability.test_redaction_spellings import KELVIN, spellings


def test_only_the_kelvin_sign_lowers_to_an_ascii_letter():
    """The byte test's one exception to ASCII case-insensitivity is the whole list."""
    found = {
        chr(cp): chr(cp).lower()
        for cp in range(128, sys.maxunicode + 1)
        if len(chr(cp).lower()) == 1 and chr(cp).lower().isascii()
    }
    assert found == {KELVIN: "k"} and redact.KELVIN == KELVIN


@pytest.mark.parametrize("snake", ["payment_method_token", "unparsed_payment_method_token"])
def test_every_spelling_the_loader_takes_is_a_secret_and_passes_the_byte_test(snake):
    for label, key_text in spellings(snake).items():
        raw = b'{"payment_processing_parameters":{"%s":"tok"}}' % key_text.encode()
        key = next(iter(orjson.loads(raw)["payment_processing_parameters"]))
        assert snake_case(key) == snake, label  # the request loader reads it as the field
        assert fold(key) in redact.SECRET_FIELDS, label
        assert may_hold_secret(raw), label
        assert redact_secret_fields(orjson.loads(raw)) == {"payment_processing_parameters": {key: REDACTED}}


@pytest.mark.parametrize(
    "key",
    [
        "PAYMENT_METHOD_TOKEN",
        "payment-method-token",
        "payment_Method_Token",
        "pAyMeNt_mEtHoD-tOkEn",
        "PAYMENT-METHOD-TO" + KELVIN + "EN",
        "Unparsed__Payment__Method__Token",
    ],
)
def test_spellings_the_loader_rejects_are_secrets_too(key):
    raw = orjson.dumps({"x": [{key: "tok"}]})
    assert may_hold_secret(raw) and redact_secret_fields(orjson.loads(raw)) == {"x": [{key: REDACTED}]}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"slot":{"merchant_id":"m"},"idempotency_token":"t","user_information":{}}',
        b'{"payment_information":{"prepayment_status":"PREPAYMENT_PROVIDED"}}',
        b'{"method":"x","token":"y","payment":"z"}',
    ],
)
def test_everyday_bodies_skip_the_parse(raw):
    assert not may_hold_secret(raw)


def test_any_unicode_escape_sends_a_body_to_the_parse():
    assert may_hold_secret(b'{"n":"\\u00e9"}') and not may_hold_secret(b'{"n":"\\n \\" \\\\"}')


def test_a_body_that_is_not_json_is_withheld_only_when_it_may_hold_a_token():
    cut = b'{"payment_processing_parameters":{"paymentMethodToken":"tok'
    assert redact_secret_body(cut, cut.decode()) == WITHHELD
    assert redact_secret_body(b"plain text", "plain text") == "plain text"
    assert redact_pii_body("Zelda") == WITHHELD and redact_pii_body(None) is None


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "X-Forwarded-Authorization",
        "proxy-authorization",
        "Cookie",
        "Set-Cookie",
        "X-Auth-Token",
        "x-csrf-TOKEN",
        "X-Client-Secret",
        "X-Api-Key",
        "Api_Key",
        "X-APIKEY",
        "HTTP_X_FORWARDED_AUTHORIZATION",
        "HTTP_X_GOOG_API_KEY",
    ],
)
def test_credential_headers_are_found_by_name(name):
    assert is_secret_header(name)


@pytest.mark.parametrize("name", ["Accept", "User-Agent", "X-Request-Id", "Content-Type", "X-Sandbox-Fault", "Host"])
def test_ordinary_headers_are_not(name):
    assert not is_secret_header(name)


@pytest.mark.parametrize(
    "name,value,kept",
    [
        ("Authorization", "Basic dTpw", "Basic [REDACTED]"),
        ("X-Forwarded-Authorization", "Bearer abc.def", "Bearer [REDACTED]"),
        ("Authorization", "dTpw", REDACTED),
        ("Authorization", "abc=def ghi", REDACTED),  # not a scheme word: a token68 credential
        ("Cookie", "session=abc; theme=dark", REDACTED),  # no scheme in a cookie: the first pair is a secret too
        ("X-Api-Key", "key more", REDACTED),
    ],
)
def test_a_redacted_header_keeps_only_an_auth_scheme(name, value, kept):
    assert redact_header(name, value) == kept


def test_personal_fields_are_found_by_folded_key_and_any_shape():
    body = {
        "user_information": {
            "GivenName": "Ann",
            "family-name": ["Lee"],
            "EMAIL": {"primary": "a@b.c"},
            "Telephone": 14155550123,
            "user_id": "7",
            "language_code": "en",
            "Address": {"Country": "US", "StreetAddress": "1 Main St", "postalCode": ""},
            "given_Name": "Ann",
        }
    }
    red = redact_pii(body)["user_information"]
    assert red == {
        "GivenName": pseudonym("given", "Ann"),
        "family-name": [pseudonym("family", "Lee")],
        "EMAIL": {"primary": pseudonym("email", "a@b.c")},
        "Telephone": pseudonym("telephone", "14155550123"),
        "user_id": "7",
        "language_code": "en",
        "Address": {"Country": "US", "StreetAddress": pseudonym("address", "1 Main St"), "postalCode": ""},
        "given_Name": pseudonym("given", "Ann"),
    }
    assert redact_pii({"address": "1 Main St"}) == {"address": pseudonym("address", "1 Main St")}
    assert redact_pii({"email": True, "telephone": None}) == {"email": True, "telephone": None}


_letter_spellings = {
    char: st.sampled_from(sorted({char, char.upper()} | ({KELVIN} if char == "k" else set())))
    for char in "paymentmethodtokenunparsed"
}


@st.composite
def secret_keys(draw):
    """A key whose fold is a secret field: each letter in either case, separators anywhere."""
    name = draw(st.sampled_from(sorted(redact.SECRET_FIELDS)))
    return "".join(draw(_letter_spellings[char]) + draw(st.sampled_from(["", "", "_", "-", "__"])) for char in name)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(key=secret_keys(), escape_at=st.none() | st.integers(min_value=0, max_value=40), nest=st.booleans())
def test_the_byte_test_never_misses_a_key_the_parsed_redaction_would_catch(key, escape_at, nest):
    text = (
        key
        if escape_at is None or escape_at >= len(key)
        else key[:escape_at] + f"\\u{ord(key[escape_at]):04x}" + key[escape_at + 1 :]
    )
    raw = ('{"a":{"%s":"tok"}}' if nest else '{"%s":"tok"}') % text
    raw = raw.encode()
    parsed = orjson.loads(raw)
    assert redact_secret_fields(parsed) != parsed  # the parsed rule catches it...
    assert may_hold_secret(raw)  # ...so the byte test must send it there
