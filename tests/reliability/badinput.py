"""The bad-input table: probes built from valid requests and the schemas that load them.

Each probe is one request that must be refused with a 4xx JSON error naming the problem. The
table is derived, not hand-listed, where it can be: every required field at every level is
removed in turn, and every field present in a valid body gets the wrong types for its kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from marshmallow import Schema, fields
from marshmallow.validate import Length, OneOf, Range

from mock_server.api.common import Int32, Int64
from mock_server.config import Settings

JSON = "application/json"
DEPTH_LIMIT = Settings().max_json_depth
TOO_DEEP = f"JSON nested too deep: more than {DEPTH_LIMIT} levels"
# Around orjson's limits: it writes 254 levels and reads 1024, so 255-1024 used to be a 500 after the change.
DEPTHS = (200, 250, 252, 254, 255, 256, 300, 500, 1000, 1023, 1024, 1025, 1100)


@dataclass(frozen=True)
class Probe:
    """One bad request and what the answer must say."""

    name: str
    method: str
    path: str
    body: bytes | None
    status: int
    fragment: str  # a piece of the error message that names the problem
    content_type: str | None = JSON

    @property
    def id(self) -> str:
        return f"{self.method} {self.path} {self.name}"[:120]


def encode(body) -> bytes:
    """JSON bytes; Python ints of any size stay JSON integers."""
    return json.dumps(body).encode()


# ---- derived from the schemas ----


def missing_required(schema: Schema, body: dict, prefix: str = ""):
    """(path, body without it) for every required field present in `body`, at every nesting level."""
    for name, field in schema.load_fields.items():
        if name not in body:
            continue
        if field.required:
            yield f"{prefix}{name}", {k: v for k, v in body.items() if k != name}
        for path, inner in _nested_variants(field, body[name], f"{prefix}{name}", missing_required):
            yield path, {**body, name: inner}


def wrong_types(schema: Schema, body: dict, prefix: str = ""):
    """(path, bad value description, body with it) for every field present in `body`."""
    for name, field in schema.load_fields.items():
        if name not in body:
            continue
        for label, value in bad_values(field):
            yield f"{prefix}{name}", label, {**body, name: value}
        for path, label, inner in _nested_wrong(field, body[name], f"{prefix}{name}"):
            yield path, label, {**body, name: inner}


def _nested_variants(field, value, path, walk):
    if isinstance(field, fields.Nested) and isinstance(value, dict):
        yield from walk(field.schema, value, f"{path}.")
    elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested) and value:
        for inner_path, inner in walk(field.inner.schema, value[0], f"{path}.0."):
            yield inner_path, [inner, *value[1:]]


def _nested_wrong(field, value, path):
    if isinstance(field, fields.Nested) and isinstance(value, dict):
        yield from wrong_types(field.schema, value, f"{path}.")
    elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested) and value:
        for inner_path, label, inner in wrong_types(field.inner.schema, value[0], f"{path}.0."):
            yield inner_path, label, [inner, *value[1:]]


def bad_values(field) -> list[tuple[str, object]]:
    """Values of the wrong type (or out of range) for a field, by its kind."""
    if isinstance(field, Int64):
        values = [
            ("bool", True),
            ("object", {"a": 1}),
            ("list", [1]),
            ("letters", "12x"),
            ("decimal", "1.5"),
            ("float", 1.5),
            ("empty", ""),
            ("hex", "0x10"),
            ("fractional exponent", "15e-1"),
            ("exponent past int64", "1e30"),
            ("exponent past decimal", "1e99999999999999999999"),
            ("unicode digits", "\u0661\u0662\u0663"),
            ("2^63", 2**63),
            ("20 digits", "99999999999999999999"),
            ("5000 digits", "9" * 5000),
            ("-5000 digits", "-" + "9" * 5000),
        ]
        if field.minimum is not None:
            values.append(("negative", "-1"))
        return values
    if isinstance(field, fields.Nested):
        return [("string", "x"), ("number", 1), ("list", [{}]), ("bool", True)]
    if isinstance(field, fields.List):
        return [("string", "x"), ("object", {}), ("number", 3)]
    if isinstance(field, fields.Dict):
        return [("string", "x"), ("list", []), ("number", 1)]
    if isinstance(field, fields.Boolean):
        return [("string true", "true"), ("string yes", "yes"), ("object", {}), ("list", [])]
    if isinstance(field, fields.Integer):
        # An int32 also takes "2", 2.0 and "2e0" (proto3 JSON, Int32); a marshmallow Integer takes numbers only.
        wrong_string = ("fractional string", "2.5") if isinstance(field, Int32) else ("string", "2")
        values = [wrong_string, ("float", 2.5), ("bool", True), ("object", {})]
        for validator in field.validators:
            if isinstance(validator, Range) and validator.min is not None:
                values.append(("below range", validator.min - 1))
            if isinstance(validator, Range) and validator.max is not None:
                values.append(("above range", validator.max + 1))
        return values
    if isinstance(field, fields.Float):
        return [("string", "x"), ("bool", True), ("object", {})]
    if isinstance(field, fields.String):
        values = [("number", 123), ("bool", True), ("object", {}), ("list", ["a"])]
        if any(isinstance(v, Length) and v.min for v in field.validators):
            values.append(("empty", ""))
        if any(isinstance(v, OneOf) for v in field.validators):
            values.append(("unknown name", "NOT_A_KNOWN_VALUE"))  # enums
        return values
    return []  # Raw and other free-form fields take anything


def schema_probes(method: str, path: str, schema: Schema, body: dict) -> list[Probe]:
    """Missing-required and wrong-type probes for one valid body."""
    probes = [
        Probe(f"missing {p}", method, path, encode(b), 400, f"{p}: Missing data for required field")
        for p, b in missing_required(schema, body)
    ]
    probes += [
        Probe(f"{p}={label}", method, path, encode(b), 400, f"{p}:") for p, label, b in wrong_types(schema, body)
    ]
    return probes


# ---- the transport: the same for every JSON endpoint ----

DEEP_LISTS = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECTS = b'{"a":' * 10_000 + b"1" + b"}" * 10_000


def transport_probes(path: str, body_limit: int, empty_allowed: bool = False) -> list[Probe]:
    """Broken JSON, non-objects, deep nesting, bad bytes, wrong content types and an oversized body."""
    probes = [] if empty_allowed else [Probe("empty body", "POST", path, b"", 400, "it was empty")]
    probes += [
        Probe(f"malformed {label}", "POST", path, raw, 400, "malformed JSON")
        for label, raw in [
            ("truncated", b'{"a": '),
            ("single quotes", b"{'a': 1}"),
            ("trailing comma", b'{"a": 1,}'),
            ("NaN", b'{"a": NaN}'),
            ("bare word", b"nul"),
            ("NUL byte", b"\x00"),
            ("two objects", b"{}{}"),
            ("comment", b'{"a": 1 /* hi */}'),
            ("lone surrogate", b'{"a": "\\ud800"}'),
            ("latin-1 bytes", b'{"a": "caf\xe9"}'),
            ("invalid UTF-8", b'{"a": "\xff\xfe"}'),
            ("UTF-16", '{"a": 1}'.encode("utf-16")),
            ("huge number", b'{"a": 1' + b"0" * 400 + b"}"),
        ]
    ]
    probes += [
        Probe(label, "POST", path, raw, 400, TOO_DEEP)
        for label, raw in [("10,000 nested lists", DEEP_LISTS), ("10,000 nested objects", DEEP_OBJECTS)]
    ]
    probes += [
        Probe(f"not an object: {raw.decode()}", "POST", path, raw, 400, "must be a JSON object")
        for raw in (b"[]", b'"text"', b"42", b"null", b"true")
    ]
    probes += [
        Probe(f"content type {ctype}", "POST", path, b'{"a": 1}', 415, "Content-Type must be application/json", ctype)
        for ctype in (
            "text/plain",
            "application/xml",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonp",
        )
    ]
    probes.append(Probe("body over the size limit", "POST", path, b'{"a": "' + b"x" * body_limit + b'"}', 413, ""))
    return probes


def nested(body: dict, depth: int) -> bytes:
    """`body` plus one field of nested lists that makes the whole body `depth` levels deep (the object is one)."""
    inner = depth - 1
    return encode(body)[:-1] + b', "deep": ' + b"[" * inner + b"]" * inner + b"}"


def depth_probes(path: str, body: dict) -> list[Probe]:
    """A valid body nested DEPTHS deep by one field the API would ignore: each the limit's 400, nothing done."""
    return [Probe(f"nested {depth} deep", "POST", path, nested(body, depth), 400, TOO_DEEP) for depth in DEPTHS]
