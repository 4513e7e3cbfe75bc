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

from marshmallow import Schema, ValidationError

from ..api.common import invalid_request_message
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


_loaders: dict[type, Convert] = {}


def loader_for(schema_class: type[Schema]) -> Convert:
    """`schema_class().load` for a parsed JSON object, fast; raises RequestInvalid for an invalid body."""
    loader = _loaders.get(schema_class)
    if loader is None:
        loader = _loaders[schema_class] = _loader(schema_class())
    return loader


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
