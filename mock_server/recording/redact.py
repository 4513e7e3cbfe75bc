"""Secrets and PII out of recordings: credentials and payment tokens always, personal data with MOCK_REDACT_PII=1.

Keys are compared folded (lower case, '_' and '-' removed), so one rule covers every spelling the request loader
takes (snake_case, lowerCamelCase, PascalCase, mixed, JSON escapes once parsed) and the odd ones it rejects.
"""

from __future__ import annotations

import functools
import hashlib
import re

REDACTED = "[REDACTED]"
# A body that could not be parsed may still hold a secret, but its keys cannot be checked: it is not written.
WITHHELD = "<body withheld: not JSON, so its secrets or personal fields cannot be redacted>"

# Header names holding any of these (folded) carry credentials: Authorization, X-Forwarded-Authorization,
# Cookie, X-Auth-Token, X-Client-Secret, X-Api-Key, Api_Key...
SECRET_HEADER_PARTS = ("authorization", "cookie", "token", "secret", "apikey")
# An auth scheme word (RFC 7235 token, no '=' so a token68 credential is never taken for one).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,31}")

# Body fields that carry payment credentials, folded: never recorded, whatever MOCK_REDACT_PII says.
SECRET_FIELDS = frozenset({"paymentmethodtoken", "unparsedpaymentmethodtoken"})
# Personal fields of UserInformation, folded, with the kind of their stand-in.
PERSONAL_FIELDS = {
    "givenname": "given",
    "familyname": "family",
    "email": "email",
    "telephone": "telephone",
    "address": "address",
}
# Too coarse to identify anyone; keeps the address meaningful (v3's name, and the Maps Booking API's in notifications).
_ADDRESS_KEEP = frozenset({"country", "addresscountry"})

# KELVIN SIGN, the only character outside ASCII whose str.lower() is one ASCII letter ("k"; tests/unit/test_redact.py
# checks it): the loader's lower() reads "to\u212aen" as "token", so the byte test counts it as a key letter.
KELVIN = "\u212a"
_ASCII_FOLD = bytes(range(256)).lower()  # bytes.translate table: ASCII upper case to lower, other bytes kept
_SEPARATORS = b"-_"
# Names to look for in a folded body: one that holds another ("unparsed…" holds "paymentmethodtoken") adds nothing.
_FOLDED_SECRETS = tuple(
    name.encode()
    for name in sorted(SECRET_FIELDS)
    if not any(other != name and other in name for other in SECRET_FIELDS)
)
if not all(b"k" in name for name in _FOLDED_SECRETS):  # may_hold_secret's shortcut relies on it
    raise ImportError("a secret field without a k: may_hold_secret must fold every body")
# What can spell a key without its letters being in the bytes as they are: a JSON escape, or the Kelvin sign.
_ESCAPE, _KELVIN = b"\\u", KELVIN.encode()


def fold(key: str) -> str:
    """A key as redaction compares it: lower case (as the loader's snake_case), '_' and '-' removed."""
    return _fold(key) if len(key) <= 64 else key.lower().replace("_", "").replace("-", "")


@functools.lru_cache(maxsize=1024)  # bounded: a client inventing keys only churns it
def _fold(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def may_hold_secret(data: bytes) -> bool:
    """Could this raw JSON hold a payment token under a key whose fold is a secret field? (False: embed it as is.)

    Exact for the fold: a key is in the bytes as it is unless it has an escape or a folding character, so the
    body folded the same way (one C pass: ASCII lower case, separators dropped) holds every secret key's name.
    """
    # One-byte searches first (memchr, ~0.1 µs per KB; a multi-byte needle scans ten times slower).
    if (b"\\" in data and _ESCAPE in data) or (_KELVIN[:1] in data and _KELVIN in data):
        return True
    if b"k" not in data and b"K" not in data:
        return False  # every secret name has a k ("token"): two C scans spare the fold of most lookups
    folded = data.translate(_ASCII_FOLD, _SEPARATORS)
    return any(name in folded for name in _FOLDED_SECRETS)


def redact_secret_fields(value):
    """A copy of a JSON value with payment tokens replaced."""
    if isinstance(value, dict):
        return {
            k: REDACTED if v and isinstance(k, str) and fold(k) in SECRET_FIELDS else redact_secret_fields(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_secret_fields(item) for item in value]
    return value


def redact_secret_body(data: bytes, body):
    """The decoded request `body` of raw `data`, payment tokens replaced; text that may hold one is withheld."""
    if isinstance(body, str):  # not JSON: no keys to go by, only the byte test
        return WITHHELD if may_hold_secret(data) else body
    return redact_secret_fields(body)


def is_secret_header(name: str) -> bool:
    """Does a header (by name or WSGI environ key, any case) carry a credential?"""
    folded = fold(name)
    return any(part in folded for part in SECRET_HEADER_PARTS)


def redact_header(name: str, value: str) -> str:
    """A credential replaced; an Authorization-like header keeps its scheme word: `Basic [REDACTED]`."""
    scheme, _, rest = value.partition(" ")
    if rest and "authorization" in fold(name) and _SCHEME.fullmatch(scheme):
        return f"{scheme} {REDACTED}"
    return REDACTED


def redact_headers(headers) -> dict:
    """(name, value) pairs as a plain dict with credentials replaced."""
    return {name: redact_header(name, value) if is_secret_header(name) else value for name, value in headers}


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
            kind = PERSONAL_FIELDS.get(fold(key)) if isinstance(key, str) else None
            out[key] = redact_pii(item) if kind is None else _pseudonymise(kind, item)
        return out
    if isinstance(value, list):
        return [redact_pii(item) for item in value]
    return value


def pii_values(value, found: dict[str, str] | None = None) -> dict[str, str]:
    """Every personal string in a JSON value, mapped to its pseudonym: to find it again in free text.

    An email's local part and plus-tag are listed too (messages and warnings may quote just those).
    """
    found = {} if found is None else found
    if isinstance(value, dict):
        for key, item in value.items():
            kind = PERSONAL_FIELDS.get(fold(key)) if isinstance(key, str) else None
            if kind is not None and isinstance(item, str) and len(item) >= 3:
                found[item] = pseudonym(kind, item)
                local = item.partition("@")[0]
                if kind == "email" and "@" in item:
                    found.setdefault(local, pseudonym(kind, item).partition("@")[0])
                    tag = local.partition("+")[2]
                    if len(tag) >= 3:
                        found.setdefault(tag, REDACTED)
            else:
                pii_values(item, found)
    elif isinstance(value, list):
        for item in value:
            pii_values(item, found)
    return found


def redact_pii_text(value, values: dict[str, str]):
    """A copy of a JSON value with every string's occurrences of `values` (longest first) replaced."""
    if not values:
        return value
    if isinstance(value, str):
        for raw in sorted(values, key=len, reverse=True):
            if raw in value:
                value = value.replace(raw, values[raw])
        return value
    if isinstance(value, dict):
        return {key: redact_pii_text(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_pii_text(item, values) for item in value]
    return value


def redact_pii_body(body):
    """A recorded body with PII pseudonymised; text (not JSON) is withheld, as its fields cannot be found."""
    return WITHHELD if isinstance(body, str) else redact_pii(body)


def _pseudonymise(kind: str, value):
    """Every string or number under a personal field replaced, whatever its shape (rejected requests too)."""
    if isinstance(value, dict):
        return {
            k: v if kind == "address" and isinstance(k, str) and fold(k) in _ADDRESS_KEEP else _pseudonymise(kind, v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_pseudonymise(kind, item) for item in value]
    if isinstance(value, str):
        return pseudonym(kind, value) if value else value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return pseudonym(kind, str(value))
    return value
