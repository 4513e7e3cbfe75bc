"""Shared HTTP-layer pieces: the 400 wording, the control plane's parser, base schema, int64 field, JSON answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import flask
import orjson
from flask import Response
from flask.json.provider import JSONProvider
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import abort
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load
from webargs.flaskparser import FlaskParser

from ..bodyread import error_body
from ..runtime import EXTENSION_KEY
from ..v3.exchange import note_warning  # the schemas note warnings on the exchange being served

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_DIGITS = re.compile(r"-?[0-9]+")  # ASCII only: \d would take "١٢٣"
_EXPONENT_FORM = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # 1.7e9, 1700000000.0
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
# nests_deeper: keep only string quotes and brackets, every bracket as [ or ].
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_ONE_KIND = bytes.maketrans(b"{}", b"[]")
_STRINGS = re.compile(rb'"[^"]*"')
_ORJSON_TOO_DEEP = "depth limit exceeded"  # how orjson's JSONDecodeError starts past its 1024 levels


def snake_case(name: str) -> str:
    """lowerCamelCase -> snake_case (snake_case stays as it is): proto3 JSON accepts both spellings."""
    return _CAMEL.sub("_", name).lower() if name and not name.islower() else name


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON answer encoded by orjson."""
    return Response(orjson.dumps(body), status=status, headers=headers, mimetype="application/json")


def error_response(code: int, message: str, headers: dict | None = None) -> Response:
    """An error answer in the same shape flask-smorest gives: {code, status, message} (one encoder: bodyread's)."""
    return Response(error_body(code, message), status=code, headers=headers, mimetype="application/json")


class OrjsonProvider(JSONProvider):
    """Flask's JSON provider on orjson: the error handler and admin answers use it too."""

    def dumps(self, obj, **kwargs) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    def loads(self, s, **kwargs):
        return orjson.loads(s)

    def response(self, *args, **kwargs) -> Response:
        obj = args[0] if len(args) == 1 else (args or kwargs)
        app = cast(flask.Flask, self._app)  # JSONProvider types its app as sansio's App; ours is always a Flask
        return app.response_class(orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS), mimetype="application/json")


class SandboxParser(FlaskParser):
    """webargs parser of the control plane: validation errors are 400 with a readable message; bodies must be JSON."""

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req: flask.Request):
        return json_object_body(req)

    def handle_error(self, error: ValidationError, req, schema, *, error_status_code, error_headers):
        messages = error.messages
        abort(
            error_status_code or 400, message=invalid_request_message(messages), errors=messages, headers=error_headers
        )


def json_object_body(req: flask.Request) -> dict:
    """The request body as a JSON object, or the 415/400 that says why it is not one."""
    limit = flask.current_app.extensions[EXTENSION_KEY].settings.max_json_depth
    body, refusal = read_json_object(req.get_data(cache=True), req.mimetype, limit)
    if refusal is not None:
        abort(refusal[0], message=refusal[1])
    assert body is not None  # no refusal: a JSON object
    return body


def read_json_object(data: bytes, mimetype: str, limit: int) -> tuple[dict | None, tuple[int, str] | None]:
    """(the body when it is a JSON object, else None; why a method cannot take it: (status, message), or None).

    The one reading of a JSON request body, for both planes. The body is parsed whatever the Content-Type says or
    however deep it is (the data plane's faults match on what it names); the refusal still says why it is unusable.
    """
    body = None
    if not data:
        refusal: tuple[int, str] | None = (400, "the request body must be a JSON object; it was empty")
    else:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            # orjson stops at 1024 levels with its own words; beyond the limit either way, so say the limit.
            deep = str(exc).startswith(_ORJSON_TOO_DEEP)
            refusal = (400, too_deep_message(limit) if deep else f"malformed JSON: {exc}")
        else:
            body = parsed if type(parsed) is dict else None
            if nests_deeper(data, limit):
                refusal = (400, too_deep_message(limit))
            elif body is None:
                refusal = (400, f"the request body must be a JSON object, not {type(parsed).__name__}")
            else:
                refusal = None
    if mimetype and not is_json_type(mimetype):
        refusal = (415, f"Content-Type must be application/json, got {mimetype!r}")
    return body, refusal


def is_json_type(mimetype: str) -> bool:
    """application/json or application/*+json (as webargs decides): the bodies both planes read as JSON."""
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def too_deep_message(limit: int) -> str:
    """The 400 message of a body nested deeper than MOCK_MAX_JSON_DEPTH."""
    return f"JSON nested too deep: more than {limit} levels of objects and arrays (MOCK_MAX_JSON_DEPTH)"


def nests_deeper(data: bytes, limit: int) -> bool:
    """Does valid JSON `data` nest objects and arrays more than `limit` levels deep (`{}` is one level)?

    Cheap where it matters: a body with no more brackets than the limit cannot nest deeper (two C scans,
    ~1 µs for an everyday request). Otherwise the strings are dropped and the innermost bracket pairs
    removed once per level, all in C (0.2-0.4 ms for a 1000-slot lookup of 120 KB, under a tenth of its cost).
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    if b"\\" in data:  # escapes: an escaped quote does not end a string, an escaped backslash is no escape
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # What is left of a string is its quotes and any brackets in it: `""` pairs go at once, the rest by regex.
    brackets = data.translate(_ONE_KIND, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in brackets:
        brackets = _STRINGS.sub(b"", brackets)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"")  # one level less per pass: every innermost pair goes
    return bool(brackets)


def invalid_request_message(errors) -> str:
    """The one-line message of a 400 for marshmallow's messages as webargs wraps them ({"json": ...})."""
    return "invalid request: " + "; ".join(flatten_messages(errors))


def flatten_messages(messages, prefix: str = "") -> list[str]:
    """{'json': {'slot': {'start_sec': ['bad']}}} -> ['slot.start_sec: bad']."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            name = "" if key in ("json", "_schema") else str(key)
            out.extend(flatten_messages(value, f"{prefix}.{name}".strip(".") if name else prefix))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {' '.join(messages)}" if prefix else " ".join(messages)]
    if isinstance(messages, list):
        return [line for m in messages for line in flatten_messages(m, prefix)]
    return [f"{prefix}: {messages}"]


class Blueprint(SmorestBlueprint):
    """flask-smorest Blueprint using the sandbox parser."""

    ARGUMENTS_PARSER = SandboxParser()


class BaseSchema(Schema):
    """Accepts snake_case and lowerCamelCase names; null means default (proto3 JSON); unknown fields warn."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _normalise_names(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        known = self.load_fields
        out = {}
        for key, value in data.items():
            if value is None:
                continue  # proto3 JSON: null is the field's default, i.e. absent
            if key in known:
                out[key] = value
                continue
            snake = snake_case(key) if isinstance(key, str) else key
            if snake in known:
                out[snake] = value
            else:
                note_warning(f"unknown field ignored: {key}")
        return out


class Int64(fields.Field):
    """proto3 int64: accepted in every proto3 JSON form (proto_integer), emitted as a string."""

    default_error_messages = {
        "invalid": "must be an int64 (a decimal string or an integer)",
        "range": "out of the int64 range",
    }

    def __init__(self, *, minimum: int | None = None, metadata: Mapping[str, Any] | None = None, **kwargs):
        hints = dict(metadata or {})  # the caller's own metadata wins over these OpenAPI hints
        hints.setdefault("type", "string")
        hints.setdefault("pattern", r"^-?\d+$")
        hints.setdefault("example", "1767279600")
        super().__init__(metadata=hints, **kwargs)
        self.minimum = minimum

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) in (int, float):  # noted before the value is judged, as the loader's plans note it
            note_warning(f"int64 field {attr} sent as a JSON number (Google sends strings)")
        number = _integer(self, value, INT64_MIN, INT64_MAX)
        if self.minimum is not None and number < self.minimum:
            raise ValidationError(f"must be at least {self.minimum}")
        return number

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class Int32(fields.Integer):
    """proto3 int32: a JSON number or a string, in any form proto_integer reads (marshmallow's strict Integer
    takes JSON integers only; Google's parsers also take "4", 4.0 and "4e0")."""

    default_error_messages = {"invalid": "must be an int32 (an integer)", "range": "out of the int32 range"}

    def _deserialize(self, value, attr, data, **kwargs):
        return _integer(self, value, INT32_MIN, INT32_MAX)


def _integer(field: fields.Field, value: Any, low: int, high: int) -> int:
    """proto_integer within [low, high], or the field's own "invalid" / "range" error."""
    try:
        number = proto_integer(value)
    except OverflowError:
        raise field.make_error("range") from None
    except ValueError:
        raise field.make_error("invalid") from None
    if not low <= number <= high:
        raise field.make_error("range")
    return number


def proto_integer(value: Any) -> int:
    """A proto3 JSON integer, read as protobuf's own JSON parsers read one: a JSON number or a string, decimal or in
    exponent form (1700000000, "1700000000", 1.7e9, "1.7e9", 1700000000.0), as long as its value is whole.

    The one parser of integers on the wire. ValueError: not a whole number; OverflowError: far out of any range.
    """
    kind = type(value)
    if kind is int:
        return value
    if kind is float:
        if not value.is_integer():  # 1.5, inf, nan
            raise ValueError(value)
        return int(value)
    if kind is not str:  # a bool (JSON true is no number), a list, an object
        raise ValueError(value)
    text = value.strip()
    if _DIGITS.fullmatch(text):
        significant = text.lstrip("-").lstrip("0") or "0"
        if len(significant) > 19:
            # Out of range anyway; and int() refuses strings over 4300 digits with a ValueError.
            raise OverflowError(value)
        return -int(significant) if text.startswith("-") else int(significant)
    if not _EXPONENT_FORM.fullmatch(text):
        raise ValueError(value)
    try:
        number = Decimal(text)
        if number.adjusted() > 19:  # checked before int(): "1e999999999" would build a billion digits
            raise OverflowError(value)
        whole = number == number.to_integral_value()
    except InvalidOperation:  # an exponent past what decimal can hold at all ("1e99999999999999999999")
        raise OverflowError(value) from None
    if not whole:
        raise ValueError(value)
    return int(number)


class ProtoEnum(fields.String):
    """A proto enum: by name, or (proto3 JSON allows it) by number; `values` are listed in number order from 0."""

    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        self.values = tuple(values)

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is int and 0 <= value < len(self.values):
            return self.values[value]
        return super()._deserialize(value, attr, data, **kwargs)


class Bool(fields.Boolean):
    """proto3 bool: JSON true or false only (marshmallow's Boolean also takes "yes", "on", 1 and 0)."""

    default_error_messages = {"invalid": "must be a JSON boolean: true or false"}

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is not bool:
            raise self.make_error("invalid")
        return value


def enum_field(values, **kwargs) -> ProtoEnum:
    """A proto enum, by name or number (`values` in number order from 0, as the domain's tuples list them)."""
    from marshmallow.validate import OneOf

    metadata = {"enum": list(values), **kwargs.pop("metadata", {})}
    return ProtoEnum(values, validate=OneOf(values), metadata=metadata, **kwargs)
