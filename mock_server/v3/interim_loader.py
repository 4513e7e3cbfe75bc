"""INTERIM (until v3/loader.py lands): marshmallow's load, with the loader's interface."""

from __future__ import annotations

from functools import cache

from marshmallow import ValidationError


class RequestInvalid(Exception):
    """The body breaks the contract."""

    def __init__(self, message: str, errors):
        super().__init__(message)
        self.message = message
        self.errors = errors


@cache
def loader_for(schema_class):
    from ..api.common import _flatten

    schema = schema_class()

    def load(body):
        try:
            return schema.load(body)
        except ValidationError as exc:
            messages = {"json": exc.messages}
            raise RequestInvalid("invalid request: " + "; ".join(_flatten(messages)), messages) from None

    return load
