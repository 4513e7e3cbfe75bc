"""Readers of the everyday request shapes for the fast path: the schema's exact result, or None.

They accept only what the schemas accept without a word: snake_case names, int64 as decimal strings,
no nulls, no unknown fields, no payment data. For such a body they return exactly what the schema's
`load` returns; for anything else they return None, and the request takes the full Flask path, whose
schemas give the real answer or the real error. tests/unit/test_fastread.py checks both claims.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...domain.models import BOOKING_STATUSES, CANCELED, CONFIRMATION_MODES, SlotSpec
from ...v3.contract import slot_spec, user_information

_BAD = object()  # a checker's "not a value this reader takes"
_new_tuple = tuple.__new__
assert len(SlotSpec._fields) == 10, "fastread builds SlotSpec field by field: update _slot_time_spec"
# A JSON value in; the same value (a message: its loaded dict) or _BAD out. JSON values are Any: no cheaper narrowing.
Check = Callable[[Any], Any]


def _text(value):
    return value if type(value) is str else _BAD


def _required_text(value):
    return value if type(value) is str and value else _BAD


def _int64(value):
    # Up to 18 ASCII digits always fits int64 and is >= 0: no range check, no sign, no whitespace.
    if type(value) is str and 0 < len(value) <= 18 and value.isascii() and value.isdigit():
        return int(value)
    return _BAD


def _enum(values) -> Check:
    allowed = frozenset(values)
    return lambda value: value if type(value) is str and value in allowed else _BAD


def _message(fields: dict[str, Check], required: tuple[str, ...] = ()) -> Check:
    """A checker for a nested message: only known fields, each valid, the required ones present."""
    needed = frozenset(required)

    def check(value):
        if type(value) is not dict or not needed <= value.keys():
            return _BAD
        out = {}
        for key, item in value.items():
            field = fields.get(key)
            if field is None:
                return _BAD
            item = field(item)
            if item is _BAD:
                return _BAD
            out[key] = item
        return out

    return check


def _resource_fields(value) -> tuple[str, str, int] | None:
    """(staff_id, room_id, party_size) of a valid ResourceIds, else None."""
    if type(value) is not dict or not value.keys() <= _RESOURCE_KEYS:
        return None
    staff, room, party = value.get("staff_id", ""), value.get("room_id", ""), value.get("party_size", 0)
    if type(staff) is not str or type(room) is not str or type(party) is not int or not 0 <= party <= 10_000:
        return None
    return staff, room, party


_RESOURCE_KEYS = frozenset({"staff_id", "room_id", "party_size"})
_RESOURCES = lambda value: _BAD if _resource_fields(value) is None else value  # noqa: E731
_MODES = frozenset(CONFIRMATION_MODES)
_SLOT_COMMON = {"duration_sec": _int64, "availability_tag": _text, "confirmation_mode": _enum(_MODES)}
_SLOT_TIME_KEYS = frozenset({"service_id", "start_sec", "resource_ids", *_SLOT_COMMON})
_BOOKABLE_SLOT = _message({"merchant_id": _required_text, "service_id": _required_text, "start_sec": _int64,
                           "resources": _RESOURCES, **_SLOT_COMMON},
                          required=("merchant_id", "service_id", "start_sec", "duration_sec"))
_ADDRESS = _message({name: _text for name in ("country", "locality", "region", "postal_code", "street_address")})
_USER = _message({"user_id": _required_text, "given_name": _required_text, "family_name": _required_text,
                  "telephone": _required_text, "email": _required_text, "language_code": _text,
                  "address": _ADDRESS},
                 required=("user_id", "given_name", "family_name", "telephone", "email"))
_CREATE = _message({"slot": _BOOKABLE_SLOT, "user_information": _USER, "idempotency_token": _required_text,
                    "additional_request": _text, "offer_id": _text, "deal_id": _text},
                   required=("slot", "user_information", "idempotency_token"))
_CANCEL = _message({"booking": _message({"booking_id": _required_text, "status": _enum(BOOKING_STATUSES)},
                                        required=("booking_id", "status"))},
                   required=("booking",))


def batch_availability_lookup(body, max_slot_times: int) -> dict | None:
    """BatchAvailabilityLookupRequestSchema's result, or None."""
    merchant_id, slot_times = body.get("merchant_id"), body.get("slot_time")
    if (len(body) != 2 or type(merchant_id) is not str or not merchant_id or type(slot_times) is not list
            or not 0 < len(slot_times) <= max_slot_times):  # over the limit: the view's 400 says so
        return None
    specs = []
    for value in slot_times:
        spec = _slot_time_spec(merchant_id, value)
        if spec is None:
            return None
        specs.append(spec)
    return {"merchant_id": merchant_id, "specs": specs}


def _slot_time_spec(merchant_id: str, value) -> SlotSpec | None:
    """One SlotTime as the schema's slot_spec builds it; written out flat, as lookups carry many of them."""
    if type(value) is not dict or not value.keys() <= _SLOT_TIME_KEYS:
        return None
    service_id, start = value.get("service_id"), _int64(value.get("start_sec"))
    duration = _int64(value["duration_sec"]) if "duration_sec" in value else None
    tag, mode = value.get("availability_tag", ""), value.get("confirmation_mode", "")
    if (type(service_id) is not str or not service_id or start is _BAD or duration is _BAD
            or type(tag) is not str or type(mode) is not str or (mode and mode not in _MODES)
            or ("confirmation_mode" in value and not mode)):
        return None
    staff, room, party, has_resources = "", "", 0, "resource_ids" in value
    if has_resources:
        resources = _resource_fields(value["resource_ids"])
        if resources is None:
            return None
        staff, room, party = resources
    # tuple.__new__ with every field: the NamedTuple's own __new__ is a Python call, 3x slower.
    return _new_tuple(SlotSpec, (merchant_id, service_id, start, duration, staff, room, party, tag, mode,
                                 has_resources))


def create_booking(body) -> dict | None:
    """CreateBookingRequestSchema's result, or None (payment data always takes the schema)."""
    data = _CREATE(body)
    if data is _BAD:
        return None
    slot = data["slot"]
    data["slot"] = slot_spec(slot["merchant_id"], slot, "resources")
    data["user_information"] = user_information(data["user_information"])
    data["payment_token_given"] = False
    return data


def cancel_booking(body) -> dict | None:
    """UpdateBookingRequestSchema's result for a plain cancellation ({booking_id, status: CANCELED}), or None."""
    data = _CANCEL(body)
    if data is _BAD or data["booking"]["status"] != CANCELED:
        return None
    return data
