"""No payment token, credential header or (with MOCK_REDACT_PII=1) personal field reaches a recording under any key
spelling the API accepts: snake_case, lowerCamelCase, PascalCase, mixed, JSON escapes, case-folding characters.

Each spelling is sent through the app and must be accepted as the field (the booking succeeds, the live answer echoes
the value); then the value must be in none of the journal file, the JSONL export and the HAR export. Every case runs
with no fault rule and with a fault rule armed (which takes the fault steps of the one /v3 pipeline).
"""

from __future__ import annotations

import itertools
import json
import re

import orjson
import pytest

from mock_server.recording.redact import REDACTED, pseudonym
from tests.helpers import create_body, find_slot, journal_file

from .conftest import fresh_app

PAYMENT_FIELDS = ("payment_method_token", "unparsed_payment_method_token")
# (field, pseudonym kind) of UserInformation; the address parts sit inside user_information.address.
PERSONAL_FIELDS = (("given_name", "given"), ("family_name", "family"), ("email", "email"), ("telephone", "telephone"))
ADDRESS_PARTS = ("street_address", "locality", "region", "postal_code")
KELVIN = "\u212a"  # KELVIN SIGN: str.lower() makes it "k", so the loader reads "to\u212aen" as "token"
MODES = {"plain": {}, "fault": {}}
_values = itertools.count(1)


def _escape(char: str, upper_hex: bool) -> str:
    return ("\\u%04X" if upper_hex else "\\u%04x") % ord(char)


def spellings(snake: str) -> dict[str, str]:
    """label -> the key as raw JSON text (escapes kept as written), for spellings the API reads as `snake`."""
    words = snake.split("_")
    camel = words[0] + "".join(w.title() for w in words[1:])
    base = {"snake": snake, "lowerCamel": camel, "Pascal": camel[0].upper() + camel[1:]}
    if len(words) == 2:
        base["Capital_snake"] = snake[0].upper() + snake[1:]  # "Given_name": no '_' is added before a first capital
    if len(words) > 2:
        base["mixed"] = words[0] + words[1].title() + "_" + "_".join(words[2:])  # paymentMethod_token
        base["mixed2"] = "_".join(words[:-2]) + "_" + words[-2] + words[-1].title()  # payment_methodToken
    out = dict(base)
    last = len(snake) - len(words[-1])  # where the last word starts
    for label, key in base.items():
        start = len(key) - len(words[-1])  # the last word is spelled the same length in every base spelling
        for where, at in (
            ("first", 0),
            ("last-word", start),
            ("middle", start + len(words[-1]) // 2),
            ("last", len(key) - 1),
        ):
            out[f"{label}+\\u@{where}"] = key[:at] + _escape(key[at], upper_hex=at % 2 == 1) + key[at + 1 :]
    if "k" in snake:  # a character outside ASCII that lower() folds to an ASCII letter
        at = snake.index("k", last)
        out["kelvin"] = snake[:at] + KELVIN + snake[at + 1 :]
        out["kelvin-escaped"] = snake[:at] + _escape(KELVIN, upper_hex=True) + snake[at + 1 :]
    return out


def raw_body(body: dict, key_texts: dict[str, str]) -> bytes:
    """`body` as JSON, each placeholder key replaced by its raw key text."""
    data = orjson.dumps(body)
    for placeholder, text in key_texts.items():
        quoted = b'"%s"' % placeholder.encode()
        assert data.count(quoted) == 1, placeholder
        data = data.replace(quoted, b'"%s"' % text.encode())
    return data


def _app(tmp_path, mode: str, **overrides):
    app = fresh_app(tmp_path, **MODES[mode], **overrides)
    client = app.test_client()
    if mode == "fault":  # armed, but for another method: CreateBooking itself is answered normally
        rule = {"method": "HealthCheck", "kind": "http_error", "status": 503}
        assert client.post("/_admin/faults", json=rule).status_code == 201
    return app, client


def _post(client, data: bytes, headers: dict | None = None):
    return client.post("/v3/CreateBooking", data=data, content_type="application/json", headers=headers or {})


def recorded_texts(app, client) -> dict[str, bytes]:
    """Everything a recording can be read as: the journal file, the JSONL export and the HAR export."""
    texts = {"journal": journal_file(app).read_bytes()}
    for fmt in ("jsonl", "har"):
        response = client.get(f"/_admin/recordings/export?format={fmt}")
        assert response.status_code == 200, response.get_data()
        texts[fmt] = response.get_data()
    json.loads(texts["har"])  # a whole document, not cut short
    return texts


def leaks(texts: dict[str, bytes], values: dict[str, str]) -> list[str]:
    """`label in where` for each value found in a recording."""
    return [
        f"{label} in {where}"
        for label, value in values.items()
        for where, text in texts.items()
        if value.encode() in text
    ]


def journal_records(app) -> list[dict]:
    """The journal's exchanges (a fault mode's rule is a marker line: it holds no request; leaks() reads it too)."""
    records = [json.loads(line) for line in journal_file(app).read_text().splitlines()]
    return [record for record in records if "marker" not in record]


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("field", PAYMENT_FIELDS)
def test_payment_tokens_are_redacted_under_every_accepted_spelling(tmp_path, mode, field):
    app, client = _app(tmp_path, mode)
    runtime = app.extensions["mock_server"]
    secrets = {}
    for n, (label, key_text) in enumerate(spellings(field).items()):
        token = f"tok_LEAK_{next(_values):04d}_x"
        body = create_body(find_slot(runtime, prepaid=True, skip=n), n + 1)
        body["payment_processing_parameters"] = {"KEY": token}
        response = _post(client, raw_body(body, {"KEY": key_text}))
        answer = response.get_json()
        # Accepted as the token: the prepaid service is booked (without a token it is a PAYMENT_ERROR).
        assert response.status_code == 200 and answer["booking"]["status"] == "CONFIRMED", (label, answer)
        assert "booking_failure" not in answer, (label, answer)
        secrets[label] = token
    assert leaks(recorded_texts(app, client), secrets) == []
    records = journal_records(app)
    assert len(records) == len(secrets)
    for record in records:
        assert list(record["request"]["body"]["payment_processing_parameters"].values()) == [REDACTED]


def test_the_prepaid_slot_really_needs_the_token(tmp_path):
    """The check above means something: a key the API does not read as the token leaves the booking unpaid."""
    app, client = _app(tmp_path, "plain")
    body = create_body(find_slot(app.extensions["mock_server"], prepaid=True), 1)
    body["payment_processing_parameters"] = {"payment_method_tokens": "tok_x"}
    answer = _post(client, orjson.dumps(body)).get_json()
    assert answer["booking_failure"]["cause"] == "PAYMENT_ERROR", answer


@pytest.mark.parametrize("mode", sorted(MODES))
def test_personal_fields_are_pseudonymised_under_every_accepted_spelling(tmp_path, mode):
    app, client = _app(tmp_path, mode, redact_pii=1)
    runtime = app.extensions["mock_server"]
    personal, expected = {}, []
    cases = [(field, kind, None) for field, kind in PERSONAL_FIELDS]
    cases += [(part, "address", "address") for part in ADDRESS_PARTS]
    cases += [("address", "address", "whole")]  # the address key itself spelled differently
    n = 0
    for field, kind, inside in cases:
        for label, key_text in spellings(field).items():
            n += 1
            value = f"Zq{next(_values):04d}x" + ("@example.org" if field == "email" else "")
            body = create_body(find_slot(runtime, skip=n), n)
            user = body["user_information"]
            if inside == "address":
                user["address"] = {"country": "GB", "KEY": value}
            elif inside == "whole":
                user["KEY"] = {"country": "GB", "street_address": value}
            else:
                del user[field]
                user["KEY"] = value
            response = _post(client, raw_body(body, {"KEY": key_text}))
            answer = response.get_json()
            assert response.status_code == 200 and answer["booking"]["status"] == "CONFIRMED", (field, label, answer)
            echoed = answer["booking"]["user_information"]
            if inside == "address":
                echoed, field_read = echoed["address"], field
            elif inside == "whole":
                echoed, field_read = echoed["address"], "street_address"
            else:
                field_read = field
            assert echoed[field_read] == value, (field, label, echoed)  # the API read it as the field
            personal[f"{field}:{label}"] = value
            expected.append(pseudonym(kind, value))
    assert leaks(recorded_texts(app, client), personal) == []
    journal = journal_file(app).read_text()
    missing = [p for p in expected if p not in journal]
    assert missing == []  # pseudonymised (so replays still match), not dropped
    assert all(record["pii_redacted"] for record in journal_records(app))


# Rejected requests: keys the API does not take (so the request fails) still hold the secrets.
ODD_TOKEN_KEYS = (
    "PAYMENT_METHOD_TOKEN",
    "payment-method-token",
    "Payment_Method_Token",
    "payment_Method_Token",
    "payment_method_to_ken",
    "UNPARSED_PAYMENT_METHOD_TOKEN",
    "unparsed-payment-method-tok\\u0065n",
    "pAyMeNtMeThOdToKeN",
)
ODD_PERSONAL_KEYS = {
    "given_Name": "given",
    "GIVEN_NAME": "given",
    "given-name": "given",
    "Given_Name": "given",
    "family_Name": "family",
    "FAMILY-NAME": "family",
    "e_mail": "email",
    "EMAIL": "email",
    "tele_Phone": "telephone",
    "TELEPHONE": "telephone",
    "ADDRESS": "address",
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_rejected_requests_with_odd_spellings_leak_nothing(tmp_path, mode):
    app, client = _app(tmp_path, mode, redact_pii=1)
    values = {}
    for key in ODD_TOKEN_KEYS:
        values[key] = token = f"tok_LEAK_{next(_values):04d}_x"
        data = raw_body({"payment_processing_parameters": {"KEY": token}, "idempotency_token": "t"}, {"KEY": key})
        _expect_400(_post(client, data), key)
    for key, kind in ODD_PERSONAL_KEYS.items():
        values[key] = value = f"Zq{next(_values):04d}x"
        item = {"street_address": value} if kind == "address" else value
        _expect_400(_post(client, raw_body({"user_information": {"KEY": item}}, {"KEY": key})), key)
    # Wrongly typed personal values: rejected, and still not recorded as sent.
    for key, wrap in (
        ("given_name", lambda v: [v]),
        ("email", lambda v: {"primary": v}),
        ("telephone", lambda v: int(v)),
        ("address", lambda v: v),
    ):
        values[f"{key}:typed"] = value = f"{next(_values) + 5550000:d}"
        _expect_400(_post(client, orjson.dumps({"user_information": {key: wrap(value)}})), key)
    assert leaks(recorded_texts(app, client), values) == []
    for record in journal_records(app):
        assert record["response"]["status"] == 400 and record["pii_redacted"] is True


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_body_that_is_not_json_keeps_no_token_or_personal_data(tmp_path, mode):
    """A truncated body cannot be parsed, so its keys cannot be checked: it is withheld, not written as sent."""
    app, client = _app(tmp_path, mode)
    token = f"tok_LEAK_{next(_values):04d}_x"
    cut = b'{"payment_processing_parameters":{"payment_method_t\\u006fken":"%s"' % token.encode()
    _expect_400(_post(client, cut), "truncated")
    plain = b'{"slot": "not json at all'  # no secret in it: kept as sent, so a reader sees what travelled
    _expect_400(_post(client, plain), "plain")
    assert leaks(recorded_texts(app, client), {"token": token}) == []
    bodies = [record["request"]["body"] for record in journal_records(app)]
    assert bodies[1] == plain.decode()
    assert isinstance(bodies[0], str) and "withheld" in bodies[0], bodies[0]

    app, client = _app(tmp_path / "pii", mode, redact_pii=1)
    _expect_400(_post(client, b'{"user_information":{"GivenName":"Zq0000x"'), "truncated")
    assert leaks(recorded_texts(app, client), {"name": "Zq0000x"}) == []
    assert "withheld" in journal_records(app)[0]["request"]["body"]


def _expect_400(response, label):
    body = response.get_json()
    assert response.status_code == 400, (label, response.status_code, body)
    assert set(body) >= {"code", "status", "message"} and body["code"] == 400, (label, body)


# (header, value, what the recording keeps): the scheme word of an Authorization-like header is kept.
SECRET_HEADERS = (
    ("X-Forwarded-Authorization", "Bearer fwd-LEAK-1", "Bearer [REDACTED]"),
    ("Proxy-Authorization", "Basic cHJveHk6TEVBSy0y", "Basic [REDACTED]"),
    ("X-Original-AUTHORIZATION", "Negotiate LEAK-3", "Negotiate [REDACTED]"),
    ("X-Cookie-Jar", "LEAK-5", "[REDACTED]"),
    ("X-Auth-Token", "LEAK-6", "[REDACTED]"),
    ("x-session-TOKEN", "LEAK-7 more", "[REDACTED]"),
    ("X-Client-Secret", "LEAK-8", "[REDACTED]"),
    ("X-Api-Key", "LEAK-9", "[REDACTED]"),
    ("Api-Key", "k LEAK-10", "[REDACTED]"),
    ("X-Apikey", "LEAK-11", "[REDACTED]"),
    ("X-Goog-Api-Key", "LEAK-12", "[REDACTED]"),
)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_credential_headers_are_redacted_whatever_their_name(tmp_path, mode):
    app, client = _app(tmp_path, mode)
    # The test client drops a Cookie header and sends its jar instead: "session=LEAK-4; theme=dark".
    client.set_cookie("session", "LEAK-4")
    client.set_cookie("theme", "dark")
    headers = {name: value for name, value, _ in SECRET_HEADERS}
    headers["Authorization"] = "Basic dXNlcjpMRUFLLTEz"
    headers["X-Request-Id"] = "plain-header-kept"
    body = create_body(find_slot(app.extensions["mock_server"]), 1)
    assert _post(client, orjson.dumps(body), headers).status_code == 200
    _expect_400(_post(client, b'{"slot": 1}', headers), "bad body")
    texts = recorded_texts(app, client)
    # The secret parts: every LEAK-n, and the base64 of the Basic credentials.
    secrets = {
        f"{name}:{part}": part
        for name, value in headers.items()
        for part in re.findall(r"LEAK-\d+|[A-Za-z0-9+/]{12,}={0,2}", value)
    }
    secrets["Cookie"] = "LEAK-4"
    assert len(secrets) == 13
    assert leaks(texts, secrets) == []
    for record in journal_records(app):
        recorded = {name.lower(): value for name, value in record["request"]["headers"].items()}
        for name, _, kept in SECRET_HEADERS:
            assert recorded[name.lower()] == kept, (name, recorded)
        assert recorded["authorization"] == "Basic [REDACTED]" and recorded["cookie"] == REDACTED
        assert recorded["x-request-id"] == "plain-header-kept"


def test_replay_mode_records_no_token_and_no_quoted_pii(tmp_path):
    """A replay miss quotes what was sent; with MOCK_REDACT_PII=1 the journal must not, nor keep a token."""
    source, source_client = _app(tmp_path / "source", "plain")
    slot = find_slot(source.extensions["mock_server"], vertical="appointments")
    assert source_client.post("/v3/CreateBooking", json=create_body(slot)).status_code == 200
    mock = fresh_app(tmp_path / "mock", replay=str(journal_file(source)), redact_pii=1)
    client = mock.test_client()
    body = create_body(slot, user_n=7, email="qa+zorromarker1@pii-marker.example", given_name="Zorroname")
    body["payment_processing_parameters"] = {"PaymentMethodToken": "tok_replay_secret_1"}
    answer = client.post("/v3/CreateBooking", json=body)
    assert answer.status_code == 404 and "zorromarker1" in answer.get_data(as_text=True)  # the miss says why
    texts = recorded_texts(mock, client)
    assert (
        leaks(
            texts,
            {
                "token": "tok_replay_secret_1",
                "email": "qa+zorromarker1@pii-marker.example",
                "email tag": "zorromarker1",
                "given name": "Zorroname",
            },
        )
        == []
    )
