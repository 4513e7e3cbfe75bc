"""Secrets and PII out of recordings: Authorization always, personal fields on request (MOCK_REDACT_PII=1)."""

from __future__ import annotations

import hashlib

# Headers whose value is a credential; the scheme word is kept so a reader still sees what was sent.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
REDACTED = "[REDACTED]"

# Personal fields of UserInformation, by their snake_case and lowerCamelCase names.
_NAME_FIELDS = {"given_name": "given", "givenName": "given", "family_name": "family", "familyName": "family"}
_ADDRESS_KEEP = frozenset({"country"})  # too coarse to identify anyone; keeps the address meaningful


# Body fields that carry payment credentials: never recorded, whatever MOCK_REDACT_PII says.
SECRET_FIELDS = frozenset({"payment_method_token", "unparsed_payment_method_token", "paymentMethodToken",
                           "unparsedPaymentMethodToken"})
SECRET_FIELD_MARKERS = (b"ethod_token", b"ethodToken")  # cheap byte test before parsing a body


def redact_secret_fields(value):
    """A copy of a JSON value with payment tokens replaced."""
    if isinstance(value, dict):
        return {k: REDACTED if k in SECRET_FIELDS and v else redact_secret_fields(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_secret_fields(item) for item in value]
    return value


def redact_value(value: str) -> str:
    """A credential replaced, its scheme word kept: `Basic [REDACTED]`."""
    scheme, _, rest = value.partition(" ")
    return f"{scheme} {REDACTED}" if rest else REDACTED


def redact_headers(headers) -> dict:
    """(name, value) pairs as a plain dict with credentials replaced."""
    return {name: redact_value(value) if name.lower() in SECRET_HEADERS else value for name, value in headers}


def pseudonym(kind: str, value: str) -> str:
    """A stable stand-in for `value`: the same input always gives the same output, so replays still match."""
    digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()
    if kind == "email":
        return f"user-{digest[:10]}@example.invalid"
    if kind == "telephone":
        # Still a valid E.164 number (servers may validate it); 555 is the fiction exchange.
        return "+1555" + str(int(digest[:12], 16))[-7:].rjust(7, "0")
    return f"{kind}-{digest[:8]}"


def redact_pii(value):
    """A copy of a JSON value with names, email, telephone and address (but its country) pseudonymised."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, str) and key in _NAME_FIELDS:
                out[key] = pseudonym(_NAME_FIELDS[key], item) if item else item
            elif isinstance(item, str) and key in ("email", "telephone"):
                out[key] = pseudonym(key, item) if item else item
            elif key == "address" and isinstance(item, dict):
                out[key] = {k: v if k in _ADDRESS_KEEP or not isinstance(v, str) or not v else pseudonym("address", v)
                            for k, v in item.items()}
            else:
                out[key] = redact_pii(item)
        return out
    if isinstance(value, list):
        return [redact_pii(item) for item in value]
    return value
