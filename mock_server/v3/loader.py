"""One loader per v3 request message, planned from its marshmallow schema through marshmallow's public API.

A plan reads a body straight into what `schema.load` returns: the fields in the schema's order, the key spellings
BaseSchema accepts (snake_case, lowerCamelCase; null = absent; unknown keys noted as warnings), each field's type
and validators, then the methods contract.py marks @checks and @builds. Each message's plan is generated as one
straight-line function (as dataclasses and attrs generate theirs): a lookup reads hundreds of fields per request.
Whenever anything is off the plan declines and marshmallow's own `load` runs: it gives the result, or the words
of the 400. So the schema stays the single source of truth; the plan can only be faster, never different.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields

from ..api.common import invalid_request_message, snake_case
from .plans import Convert, Off, message_plan


class RequestInvalid(Exception):
    """The body breaks the contract: .message (one line, the 400's message) and .errors (marshmallow's messages)."""

    def __init__(self, message: str, errors: dict) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors

    @classmethod
    def from_marshmallow(cls, messages: Any) -> RequestInvalid:
        """The 400 for marshmallow's messages, wrapped as webargs wraps them (the body stays as it was)."""
        errors = {"json": messages}
        return cls(invalid_request_message(errors), errors)

    @classmethod
    def unknown(cls, paths: list[str]) -> RequestInvalid:
        """The strict-mode 400 for fields the message does not have, each named by its path in the body."""
        errors = {"json": {path: ["Unknown field."] for path in paths}}
        return cls(
            "invalid request: "
            + "; ".join(f"{path}: unknown field (strict mode; see /_admin/settings)" for path in paths),
            errors,
        )


_loaders: dict[type, Convert] = {}
_schemas: dict[type, Schema] = {}


def unknown_fields(schema_class: type[Schema], body: object) -> list[str]:
    """Strict mode: the path of every key in `body` the message does not have (e.g. `slot_time[0].resources`).

    Keys are read as the loader reads them (snake_case or lowerCamelCase); a null counts too, as protobuf's
    strict parser counts it. The lenient loader drops the same keys with a warning.
    """
    found: list[str] = []
    _walk(_schema(schema_class), body, "", found)
    return found


def json_name(name: str) -> str:
    """A field's proto3 JSON name: lowerCamelCase, as protoc derives it (each letter after an underscore upper)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _walk(schema: Schema, value: object, prefix: str, found: list[str]) -> None:
    if type(value) is not dict:
        return  # not an object: the loader says what is wrong with it
    known = schema.load_fields
    for key, item in value.items():
        field = known.get(key)
        if field is None:
            name = snake_case(key)
            if json_name(name) == key:  # protobuf takes a name or its lowerCamelCase json_name, not "MerchantId"
                field = known.get(name)
        path = f"{prefix}.{key}" if prefix else key
        if field is None:
            found.append(path)
        elif isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
            _walk(field.schema, item, path, found)
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested) and type(item) is list:
            for index, each in enumerate(item):
                _walk(field.inner.schema, each, f"{path}[{index}]", found)


def loader_for(schema_class: type[Schema]) -> Convert:
    """`schema_class().load` for a parsed JSON object, fast; raises RequestInvalid for an invalid body."""
    loader = _loaders.get(schema_class)
    if loader is None:
        loader = _loaders[schema_class] = _loader(_schema(schema_class))
    return loader


def _schema(schema_class: type[Schema]) -> Schema:
    """The one instance of a request schema (the loader and the strict check share it)."""
    schema = _schemas.get(schema_class)
    if schema is None:
        schema = _schemas[schema_class] = schema_class()
    return schema


def _loader(schema: Schema) -> Convert:
    plan = message_plan(schema)

    def load(body: dict) -> Any:
        if plan is not None:
            try:
                return plan(body)
            except Off:
                pass  # marshmallow decides; the warnings it notes again are kept once, in the same order
        try:
            return schema.load(body)
        except ValidationError as error:
            raise RequestInvalid.from_marshmallow(error.messages) from None

    return load
