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

from collections.abc import Callable
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


_OMIT = object()  # a leaf rule's answer: leave this field out


def without_defaults(schema: Schema, value: dict) -> dict:
    """`value` with every field of `schema` at its proto3 default left out (an empty repeated field included)."""
    return _walk(schema, value, lambda field, item: _OMIT if _at_default(field, item) else item, drop_empty=True)


def _numbers(schema: Schema, value: dict) -> dict:
    """`value` with every int64 field of `schema` printed as a JSON number."""
    return _walk(
        schema, value, lambda field, item: int(item) if isinstance(field, Int64) and type(item) is str else item
    )


def _walk(schema: Schema, value: dict, leaf: Callable[[fields.Field, Any], Any], drop_empty: bool = False) -> dict:
    """`value` rebuilt along `schema`: messages and repeated messages walked into, each scalar field through `leaf`."""
    out: dict[str, Any] = {}
    known = schema.fields
    for key, item in value.items():
        field = known.get(key)
        if field is None:
            out[key] = item  # not the message's: printed as built
        elif isinstance(field, fields.Nested) and type(item) is dict:
            out[key] = _walk(field.schema, item, leaf, drop_empty)
        elif isinstance(field, fields.List) and type(item) is list:
            if item or not drop_empty:
                inner = field.inner
                inner_schema = inner.schema if isinstance(inner, fields.Nested) else None
                out[key] = [
                    _walk(inner_schema, each, leaf, drop_empty)
                    if inner_schema is not None and type(each) is dict
                    else each
                    for each in item
                ]
        else:
            printed = leaf(field, item)
            if printed is not _OMIT:
                out[key] = printed
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
