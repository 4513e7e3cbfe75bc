"""The add-a-fault form: HTML form fields -> the JSON the API takes, validated by the API's own RuleSchema."""

from __future__ import annotations

import re

from marshmallow import ValidationError

from ...faults.rules import (
    CARD_TYPES,
    CAUSES,
    HTTP_STATUSES,
    KINDS,
    MATCH_KEYS,
    METHODS,
    PARAMS,
    RuleSchema,
)

INTEGER_FIELDS = ("times", "ttl_s", "status", "retry_after_s", "delay_ms", "min_ms", "max_ms", "hold_ms")
FLOAT_FIELDS = ("probability",)
TEXT_FIELDS = ("id", "method", "kind", "cause", "rejected_card_type", "description", "message")
# ASCII digits, at most 18: an int64 and far below int()'s 4,300-digit limit (\d would take other scripts' digits).
# A longer number stays a string, and RuleSchema words the error as the API does.
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")

# Parameter inputs in the order the form shows them: (name, label, input type, choices).
PARAM_INPUTS = (
    ("cause", "Failure cause", "select", CAUSES),
    ("rejected_card_type", "Rejected card type", "select", CARD_TYPES),
    ("description", "Failure description", "text", ()),
    ("status", "HTTP status", "select", tuple(str(s) for s in HTTP_STATUSES)),
    ("retry_after_s", "Retry-After (s)", "number", ()),
    ("message", "Error message", "text", ()),
    ("delay_ms", "Delay (ms)", "number", ()),
    ("min_ms", "Random delay from (ms)", "number", ()),
    ("max_ms", "Random delay to (ms)", "number", ()),
    ("hold_ms", "Hold (ms)", "number", ()),
    ("commit", "Run the request first (commit)", "select", ("true", "false")),
)


def kinds_taking(param: str) -> list[str]:
    """Kinds that take this parameter (for the form's hints and the script that hides the rest)."""
    return [kind for kind, params in PARAMS.items() if param in params]


def form_choices() -> dict:
    """Everything the form template needs to list."""
    return {
        "methods": ("*", *METHODS),
        "kinds": tuple(KINDS),
        "match_keys": MATCH_KEYS,
        "param_inputs": [
            (name, label, kind, choices, kinds_taking(name)) for name, label, kind, choices in PARAM_INPUTS
        ],
    }


def rule_data(form) -> dict:
    """The form as the API's JSON body: empty inputs left out, numbers as numbers when they are numbers.

    A value that is not a number stays a string, so RuleSchema says what is wrong with it, word for word
    as the API would.
    """
    data: dict = {}
    for name in TEXT_FIELDS:
        value = form.get(name, "").strip()
        if value:
            data[name] = value
    for name in INTEGER_FIELDS:
        value = form.get(name, "").strip()
        if value:
            data[name] = int(value) if _INTEGER.fullmatch(value) else value
    for name in FLOAT_FIELDS:
        value = form.get(name, "").strip()
        if value:
            try:
                data[name] = float(value)
            except ValueError:
                data[name] = value
    commit = form.get("commit", "").strip().lower()
    if commit:
        data["commit"] = {"true": True, "false": False}.get(commit, commit)
    match = {key: form.get(f"match_{key}", "").strip() for key in MATCH_KEYS}
    match = {key: value for key, value in match.items() if value}
    if match:
        data["match"] = match
    return data


def validate(data: dict) -> tuple[dict | None, dict[str, list[str]]]:
    """(loaded rule, {}) or (None, {form field: messages}) from the API's schema."""
    try:
        return RuleSchema().load(data), {}
    except ValidationError as exc:
        return None, flatten(exc.messages)


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """{'match': {'user_id': [...]}} -> {'match_user_id': [...]}: one entry per form input."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}_{key}" if prefix else str(key)
            for field, texts in flatten(value, name).items():
                out.setdefault(field, []).extend(texts)
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": list(messages)}
    if isinstance(messages, list):
        for item in messages:
            for field, texts in flatten(item, prefix).items():
                out.setdefault(field, []).extend(texts)
        return out
    return {prefix or "_schema": [str(messages)]}
