"""Magic values: a fault named in the request itself, for that call only (like a payment sandbox's test cards).

Two carriers, one grammar of tags:
- the local part of `user_information.email`: `qa+slot_taken@example.com` (CreateBooking, UpdateBooking,
  CreateWaitlistEntry: `qa+waitlist_waitlist_full@example.com`);
- the `X-Sandbox-Fault` header on any /v3 method: `X-Sandbox-Fault: http_503` (several: comma-separated).

A tag is a rule kind, optionally followed by `_<number>` for the kind's main parameter, or an alias.
"""

from __future__ import annotations

import re

import orjson
from marshmallow import ValidationError

from ..api.common import snake_case
from .engine import Effect
from .rules import CAUSES, KINDS, PARAMS, WAITLIST_CAUSES, RuleSchema

HEADER = "X-Sandbox-Fault"
HEADER_KEY = "HTTP_X_SANDBOX_FAULT"
EMAIL_METHODS = frozenset({"CreateBooking", "UpdateBooking", "CreateWaitlistEntry"})
_TAG = re.compile(r"^(?P<name>[a-z0-9_]+?)(?:_(?P<number>[0-9]+))?$")
# A tag's number: enough for any hold (600000 ms) or status, and far below int()'s 4,300-digit limit.
MAX_DIGITS = 9
SHOWN_CHARS = 40  # of a tag, in messages (a header may be kilobytes long)
_SPLIT = re.compile(r"[\s,+]+")

# Tags that stand for a booking_failure cause, like test card numbers.
ALIASES = {
    "card_declined": {"kind": "booking_failure", "cause": "PAYMENT_ERROR_CARD_DECLINED"},
    "card_type_rejected": {"kind": "booking_failure", "cause": "PAYMENT_ERROR_CARD_TYPE_REJECTED"},
    "3ds1": {"kind": "booking_failure", "cause": "PAYMENT_REQUIRES_3DS1"},
}
# kind -> the parameter a `_<number>` suffix sets.
NUMBER_PARAM = {"http_error": "status", "delay": "delay_ms", "timeout": "hold_ms", "timeout_after_commit": "hold_ms"}
SHORT_NAMES = {"http": "http_error"}  # http_503 reads better than http_error_503


def _email_local_part(body: bytes | dict) -> str | None:
    """The local part of user_information.email, found as the request loader finds it (any key spelling).

    `body` is the raw request (parsed here only when it holds a plus-address at all) or the parsed one.
    """
    if isinstance(body, bytes):
        if b"+" not in body:  # no plus-address anywhere: the everyday request costs one byte scan
            return None
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None  # not JSON: the request is a 400 anyway
    for holder in (body, _field(body, "booking")):  # CreateBooking, UpdateBooking
        email = _field(_field(holder, "user_information"), "email")
        if isinstance(email, str) and "@" in email:
            return email.partition("@")[0]
    return None


def _field(value, name: str):
    """The value of field `name` as the request loader reads it (snake_case or lowerCamelCase key)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and snake_case(key) == name:
                return item
    return None


class MagicError(ValueError):
    """A header tag the sandbox does not know or that cannot apply to this method (answered 400)."""


class MagicLimitError(MagicError):
    """A tag over a size limit: answered 400 from either carrier, never taken as plain text."""


def scan(
    method: str, environ: dict, body: bytes | dict | None, strict: bool = False
) -> tuple[list[Effect], list[str]] | None:
    """Effects named by the request (header first, then email), and warnings; None when it names none.

    `body` is read only for the methods that carry an email, so other calls never touch it. A bad header tag
    raises MagicError. An email tag over a size limit raises MagicLimitError when `strict` (the Flask hook
    answers 400); otherwise it is a warning, so a caller that only asks "any magic here?" never sees a raise.
    """
    header = environ.get(HEADER_KEY)
    tags: list[tuple[str, str]] = []  # (carrier, tag)
    if header:
        tags.extend(("header", t) for t in _SPLIT.split(header.strip().lower()) if t)
    if body is not None and method in EMAIL_METHODS:
        local = _email_local_part(body)
        if local and "+" in local:
            tags.extend(("email", t) for t in local.lower().split("+")[1:] if t)
    if not tags:
        return None
    effects, warnings = [], []
    for carrier, tag in tags:
        try:
            effects.append(effect_for(tag, method))
        except MagicLimitError as exc:
            if carrier == "header" or strict:
                where = HEADER if carrier == "header" else "user_information.email"
                raise MagicLimitError(f"{where}: {exc}") from None
            warnings.append(f"email tag refused: {exc}")
        except MagicError as exc:
            if carrier == "header":
                raise MagicError(f"{HEADER}: {exc}") from None
            warnings.append(f"email tag {_shown(tag)} is not a sandbox fault, ignored: {exc}")
    return effects, warnings


def effect_for(tag: str, method: str) -> Effect:
    """The effect one tag names on this method; MagicError when it names none."""
    spec = _parse(tag)
    if spec is None:
        raise MagicError(f"unknown fault {_shown(tag)}; known: {', '.join(known_tags())}")
    try:
        data = RuleSchema().load({"method": method, **spec})
    except ValidationError as exc:
        raise MagicError(f"{_shown(tag)}: {_first_error(exc.messages)}") from None
    params = {k: data[k] for k in PARAMS[data["kind"]] if k in data}
    return Effect("magic", data["kind"], params)


def known_tags() -> list[str]:
    """Every tag form, for error messages and docs."""
    plain = [k for k in KINDS if k not in ("booking_failure", "waitlist_failure", "http_error", "delay")]
    return sorted(plain) + [
        "timeout_<ms>",
        "timeout_after_commit_<ms>",
        "http_<status>",
        "delay_<ms>",
        "cause_<booking_failure cause>",
        "waitlist_<waitlist_failure cause>",
        *ALIASES,
    ]


def _parse(tag: str) -> dict | None:
    if tag in ALIASES:
        return dict(ALIASES[tag])
    if tag.startswith("cause_"):
        cause = tag[len("cause_") :].upper()
        return {"kind": "booking_failure", "cause": cause} if cause in CAUSES else None
    if tag.startswith("waitlist_"):
        cause = tag[len("waitlist_") :].upper()
        return {"kind": "waitlist_failure", "cause": cause} if cause in WAITLIST_CAUSES else None
    if tag in KINDS and tag not in ("booking_failure", "waitlist_failure", "http_error", "delay"):
        return {"kind": tag}
    found = _TAG.match(tag)
    if not found or found["number"] is None:
        return None
    kind = SHORT_NAMES.get(found["name"], found["name"])
    if kind not in NUMBER_PARAM:
        return None
    digits = found["number"]
    if len(digits) > MAX_DIGITS:  # checked before int(), which refuses more than 4,300 digits
        raise MagicLimitError(
            f"{_shown(tag)} has a {len(digits)}-digit number; tag numbers have at most {MAX_DIGITS} digits"
        )
    return {"kind": kind, NUMBER_PARAM[kind]: int(digits)}


def _shown(tag: str) -> str:
    """The tag quoted for a message, cut short when it is long."""
    return repr(tag if len(tag) <= SHOWN_CHARS else tag[:SHOWN_CHARS] + "…")


def _first_error(messages) -> str:
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        return f"{key}: {_first_error(value)}"
    if isinstance(messages, list):
        return str(messages[0])
    return str(messages)
