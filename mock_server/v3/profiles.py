"""Response profiles: how a 200 /v3 answer is printed, as the tenant's settings say (GET/PATCH /_admin/settings).

    canonical  as the methods build it (wire.py): int64 as strings, defaults omitted but `available` and
               `user_to_receive_marketing` always printed, as Google's samples print them
    minimal    every field at its proto3 default omitted (false, 0, "", "0", an enum's 0 value, an empty list),
               and an UpdateBooking cancel answered as Google's cancel sample is: {"booking": {booking_id, status}}
    numbers    int64 as JSON numbers, as Google's UpdateBooking reschedule sample prints them

Each walks the answer along its response message (responses.py), so only int64 fields become numbers and only
proto fields are judged at their default. A message field stays when empty: proto3 prints a set message.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from ..api.common import Int64, ProtoEnum
from ..domain.models import CANCELED
from . import responses

CANONICAL = "canonical"
# The response message of each method's 200 answer (HealthCheck's is empty: nothing to print differently).
RESPONSES: dict[str, Schema] = {
    "BatchAvailabilityLookup": responses.BatchAvailabilityLookupResponseSchema(),
    "CheckAvailability": responses.CheckAvailabilityResponseSchema(),
    "CreateBooking": responses.BookingResultSchema(),
    "UpdateBooking": responses.BookingResultSchema(),
    "GetBookingStatus": responses.GetBookingStatusResponseSchema(),
    "ListBookings": responses.ListBookingsResponseSchema(),
    "SetMarketingPreference": responses.SetMarketingPreferenceResponseSchema(),
    "BatchGetWaitEstimates": responses.BatchGetWaitEstimatesResponseSchema(),
    "CreateWaitlistEntry": responses.CreateWaitlistEntryResponseSchema(),
    "GetWaitlistEntry": responses.GetWaitlistEntryResponseSchema(),
}


def shape(rpc: str, payload: dict, profile: str, request: Any) -> dict:
    """The answer of `rpc` as `profile` prints it (`request`: the loaded request, None if it never loaded)."""
    schema = RESPONSES.get(rpc)
    if schema is None or profile == CANONICAL:
        return payload
    if profile == "numbers":
        return _numbers(schema, payload)
    if rpc == "UpdateBooking" and _cancels(request) and type(payload.get("booking")) is dict:
        booking = payload["booking"]
        return {"booking": {key: booking[key] for key in ("booking_id", "status") if key in booking}}
    return without_defaults(schema, payload)


def _cancels(request: Any) -> bool:
    """Is this UpdateBooking request a cancel (status CANCELED)?"""
    return type(request) is dict and (request.get("booking") or {}).get("status") == CANCELED


def without_defaults(schema: Schema, value: dict) -> dict:
    out: dict[str, Any] = {}
    known = schema.fields
    for key, item in value.items():
        field = known.get(key)
        if field is None:
            out[key] = item  # not the message's: printed as built
        elif isinstance(field, fields.Nested) and type(item) is dict:
            out[key] = without_defaults(field.schema, item)
        elif isinstance(field, fields.List) and type(item) is list:
            if item:  # an empty repeated field is its default
                inner = field.inner
                inner_schema = inner.schema if isinstance(inner, fields.Nested) else None
                out[key] = [
                    without_defaults(inner_schema, each) if inner_schema is not None and type(each) is dict else each
                    for each in item
                ]
        elif not _at_default(field, item):
            out[key] = item
    return out


def _at_default(field: fields.Field, item: Any) -> bool:
    """Is this scalar its proto3 default (what a printer omits)?"""
    if item is False or item == "" or (type(item) is int and item == 0):
        return True
    if isinstance(field, Int64):
        return item == "0"
    if isinstance(field, ProtoEnum):
        return item == field.values[0]
    return False


def _numbers(schema: Schema, value: dict) -> dict:
    out: dict[str, Any] = {}
    known = schema.fields
    for key, item in value.items():
        field = known.get(key)
        if isinstance(field, Int64) and type(item) is str:
            out[key] = int(item)
        elif isinstance(field, fields.Nested) and type(item) is dict:
            out[key] = _numbers(field.schema, item)
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested) and type(item) is list:
            out[key] = [_numbers(field.inner.schema, each) if type(each) is dict else each for each in item]
        else:
            out[key] = item
    return out
