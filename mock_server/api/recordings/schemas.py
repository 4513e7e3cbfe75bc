"""Query schemas of the recordings admin API."""

from __future__ import annotations

import math
import re
from datetime import datetime

from marshmallow import Schema, ValidationError, fields
from marshmallow.validate import OneOf, Range

from ...domain.clock import LATEST_SEC
from ...recording import markers

# A `since` below this is a seq number; from here on it is an epoch second (2001-09-09 onwards).
EPOCH_FLOOR = 1_000_000_000
# ASCII decimal only: float() would also take "nan", "inf", "1_000" and other scripts' digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")


class Since(fields.Field):
    """A seq number, an epoch second, or an ISO 8601 time -> ("seq", n) or ("epoch", t)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        if _NUMBER.fullmatch(text):
            number = float(text)  # no digit limit, unlike int(); a huge exponent is inf, refused below
            if not (math.isfinite(number) and 0 <= number <= LATEST_SEC):
                raise ValidationError(
                    f"must be between 0 and {LATEST_SEC}: a seq number, or an epoch second up to "
                    "the sandbox clock's maximum"
                )
            return ("epoch", number) if number >= EPOCH_FLOOR else ("seq", int(number))
        try:
            return ("epoch", datetime.fromisoformat(text).timestamp())
        except (ValueError, OverflowError, OSError):  # naive times near year 1 or 9999 go through local time
            raise ValidationError(
                f"must be a seq number or an epoch second (0 to {LATEST_SEC}), or an ISO 8601 time"
            ) from None


class RecordingFilterSchema(Schema):
    """Filters and paging of the journal listing (newest first)."""

    method = fields.String(
        metadata={"description": "v3 method name, e.g. CreateBooking (case-insensitive); `marker` for the markers"}
    )
    status = fields.Integer(validate=Range(min=0, max=599), metadata={"description": "HTTP status of the answer"})
    booking_id = fields.String(metadata={"description": "exchanges whose request or response names this booking"})
    since = Since(
        metadata={
            "description": "seq number (exchanges after it), epoch second or ISO 8601 time (exchanges at or after it)",
            "type": "string",
        }
    )
    before = fields.Integer(
        validate=Range(min=1), metadata={"description": "cursor: exchanges older than this seq (use `next_before`)"}
    )
    limit = fields.Integer(load_default=100, validate=Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=Range(min=0))


class ExportSchema(Schema):
    """Export format."""

    format = fields.String(load_default="jsonl", validate=OneOf(("jsonl", "har")))


class ExchangeResponseSchema(Schema):
    """What the client got back."""

    status = fields.Integer(metadata={"example": 200})
    headers = fields.Dict(keys=fields.String(), values=fields.String())
    body = fields.Raw(metadata={"description": "parsed JSON when the body was a JSON object or array, else text"})


class ExchangeSchema(Schema):
    """One line of the journal: a recorded /v3 exchange, one attempt of a notification the sandbox sent, or a marker
    (an admin action between exchanges)."""

    seq = fields.Integer(metadata={"example": 4})
    kind = fields.String(
        metadata={"example": "notification", "description": "absent on /v3 exchanges; notification: one attempt"}
    )
    url = fields.String(metadata={"description": "notification: where it was sent"})
    attempt = fields.Integer(metadata={"description": "notification: 1 for the first try, 2 for the first retry, ..."})
    outcome = fields.String(metadata={"example": "answered 503; retry in 0.5 s"})
    ts = fields.String(metadata={"example": "2026-01-01T09:00:02.114Z", "description": "wall-clock start, UTC"})
    clock_sec = fields.Integer(metadata={"description": "the sandbox clock at the time"})
    rpc = fields.String(metadata={"example": "CreateBooking"})
    method = fields.String(metadata={"example": "POST"})
    path = fields.String(metadata={"example": "/v3/CreateBooking"})
    query = fields.String()
    request = fields.Dict(metadata={"description": "{headers (Authorization redacted), body}"})
    response = fields.Nested(
        ExchangeResponseSchema,
        allow_none=True,
        metadata={"description": "null when no response was sent (see no_response)"},
    )
    no_response = fields.String(metadata={"example": "drop_connection"})
    duration_ms = fields.Float(metadata={"example": 1.62, "description": "fault delays included"})
    faults = fields.List(fields.Dict(), metadata={"description": "[{id, kind}] of the faults that changed it"})
    warnings = fields.List(fields.String(), metadata={"example": ["unknown field ignored: foo"]})
    pii_redacted = fields.Boolean()
    # A marker line has these (and seq, ts, clock_sec) instead of the exchange's fields.
    marker = fields.String(
        metadata={
            "description": "a marker's kind: what an admin action changed (README, Recording and replay)",
            "enum": list(markers.KINDS),
        }
    )
    via = fields.String(metadata={"description": "a marker's origin", "enum": ["api", "dashboard"]})
    detail = fields.Dict(metadata={"description": "what the marker's action did, e.g. the clock after it"})


class ReplayStatusSchema(Schema):
    """Replay-mode progress."""

    source = fields.String(metadata={"example": "recordings/examples/booking-flow.jsonl"})
    exchanges = fields.Integer()
    played = fields.Integer()
    misses = fields.Integer()
    unplayed_seqs = fields.List(fields.Integer())


class ExchangeListSchema(Schema):
    """A page of the journal, newest first."""

    enabled = fields.Boolean(metadata={"description": "false with MOCK_RECORD=0"})
    journal = fields.String(metadata={"example": "recordings/session-20260101-090000-4242.jsonl"})
    recorded = fields.Integer(metadata={"description": "lines in the journal: exchanges and markers"})
    indexed = fields.Integer(metadata={"description": "exchanges held in memory (the listing's scope)"})
    matched = fields.Integer(metadata={"description": "indexed exchanges that pass the filters"})
    count = fields.Integer(metadata={"description": "exchanges on this page"})
    next_before = fields.Integer(allow_none=True, metadata={"description": "`before` for the next page"})
    exchanges = fields.List(fields.Nested(ExchangeSchema))
    replay = fields.Nested(ReplayStatusSchema)


class ClearedSchema(Schema):
    """What DELETE removed."""

    cleared = fields.Integer()
    journal = fields.String()
