"""The v3 methods served: (runtime, loaded request, exchange) -> the answer's JSON; errors raise (errors.py).

The documented methods it does not serve are listed too (NOT_IMPLEMENTED): the gateway answers them 501.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema

from ..api.common import snake_case
from ..domain.bookings import moved_slot
from ..domain.errors import InvalidRequest
from ..domain.models import CANCELED, Booking
from . import contract, profiles, wire
from .exchange import Exchange
from .loader import RequestInvalid, loader_for

Method = Callable[[Any, Any, Exchange], dict]


def health_check(runtime, request, exchange: Exchange) -> dict:
    """HealthCheck: 200 while the server is serving."""
    return {}


def batch_availability_lookup(runtime, request: dict, exchange: Exchange) -> dict:
    """BatchAvailabilityLookup: live availability of each requested slot, in request order."""
    specs = request["specs"]
    limit = runtime.settings.max_slot_times
    if len(specs) > limit:
        raise InvalidRequest(f"too many slot_time entries: {len(specs)} > {limit}")
    inventory = runtime.bookings.inventory
    for index, spec in enumerate(specs):
        if spec.availability_tag or spec.confirmation_mode:
            contradicts(exchange, inventory, spec, f"slot_time[{index}]")
    answers = runtime.bookings.availability(request["merchant_id"], specs)
    return {
        "slot_time_availability": [
            {"slot_time": wire.slot_time(spec, mode), "available": available}
            for spec, (available, mode) in zip(specs, answers, strict=True)
        ]
    }


def check_availability(runtime, request: dict, exchange: Exchange) -> dict:
    """CheckAvailability (legacy, still used by Google's test client): open spots of one slot."""
    spec = request["slot"]
    contradicts(exchange, runtime.bookings.inventory, spec, "slot")
    return {"slot": wire.slot(spec), "count_available": runtime.bookings.count_available(spec)}


def create_booking(runtime, request: dict, exchange: Exchange) -> dict:
    """CreateBooking: book a spot; idempotent on idempotency_token."""
    contradicts(exchange, runtime.bookings.inventory, request["slot"], "slot")
    outcome = runtime.bookings.create(
        request["slot"],
        request["user_information"],
        request.get("payment_information"),
        request["idempotency_token"],
        payment_token_given=request["payment_token_given"],
        offer_id=request.get("offer_id", ""),
    )
    for warning in outcome.warnings:
        exchange.warn(warning)
    exchange.replayed = outcome.replayed  # the metrics count a made booking once
    return {"booking": wire.booking(outcome.booking)}


def update_booking(runtime, request: dict, exchange: Exchange) -> dict:
    """UpdateBooking: cancel (status CANCELED), reschedule (start/duration) or change the party size."""
    change = request["booking"]
    bookings = runtime.bookings
    current = bookings.get(change["booking_id"])  # NotFound: a 400 here (v3 status table)
    plan, changes = plan_update(change, current)
    if plan == "cancel":
        if change.get("slot"):
            exchange.warn("UpdateBooking: slot ignored, status CANCELED cancels the booking")
        return {"booking": wire.booking(bookings.cancel(current.booking_id).booking)}
    for field, why in unsupported_changes(change, current):
        object_to(exchange, field, why)
    slot = change.get("slot") or {}
    target = moved_slot(current.slot, *changes)._replace(
        availability_tag=slot.get("availability_tag", ""), confirmation_mode=slot.get("confirmation_mode", "")
    )
    contradicts(exchange, bookings.inventory, target, "booking.slot")
    return {"booking": wire.booking(bookings.modify(current.booking_id, *changes).booking)}


def unsupported_changes(change: dict, current: Booking) -> list[tuple[str, str]]:
    """What an UpdateBooking asks that the sandbox cannot do (it moves start and duration, and resizes the party):
    (field, why) for each; lenient mode ignores them (with a warning), strict mode answers 400."""
    out = []
    resources = (change.get("slot") or {}).get("resources") or {}
    for key in ("staff_id", "room_id"):
        if resources.get(key) and resources[key] != getattr(current.slot, key):
            out.append((f"booking.slot.resources.{key}", "cannot be changed by UpdateBooking; cancel and book again"))
    # A whole booking echoed back changes nothing, however proto3 JSON spells it (names, enum numbers, defaults).
    kept: dict[str, tuple[Any, Callable[[Any], Any]]] = {
        "user_information": (wire.user_information(current.user), _user_as_stored),
        "payment_information": (_payment_as_stored(current.payment_information or {}), _payment_as_stored),
        "offer_info": ({"offer_id": current.offer_id} if current.offer_id else {}, _comparable),
        "virtual_session_info": ({}, _comparable),
    }
    for key, (now, as_stored) in kept.items():
        sent = change.get(key)
        if sent and as_stored(sent) != now:
            out.append((f"booking.{key}", "is not changed by UpdateBooking"))
    return out


_PAYMENT = contract.PaymentInformationSchema()


def _user_as_stored(sent: Any) -> Any:
    """A UserInformation as the booking keeps it (None when it is no whole UserInformation)."""
    try:
        return wire.user_information(loader_for(contract.UserInformationSchema)(sent))
    except RequestInvalid:
        return None


def _payment_as_stored(sent: Any) -> Any:
    """A PaymentInformation in stored wire form with its proto3 defaults left out (None when it does not load)."""
    try:
        loaded = contract.wire_form(loader_for(contract.PaymentInformationSchema)(sent))
    except RequestInvalid:
        return None
    return profiles.without_defaults(_PAYMENT, loaded)


def _comparable(value: Any) -> Any:
    """A message as sent, in one spelling: snake_case names, no empty fields, numbers as strings (int64 either way)."""
    if type(value) is dict:
        return {snake_case(k): _comparable(v) for k, v in value.items() if v not in (None, "", {}, [])}
    if type(value) is int:
        return str(value)
    return value


def object_to(exchange: Exchange, field: str, why: str) -> None:
    """A request the sandbox cannot honour as sent: 400 in strict mode, else served with a warning."""
    if exchange.fidelity.strict:
        raise InvalidRequest(f"invalid request: {field} {why} (strict mode; see /_admin/settings)", field=field)
    exchange.warn(f"{field} {why}; ignored (strict mode would answer 400)")


def contradicts(exchange: Exchange, inventory, spec, prefix: str) -> None:
    """Object to an availability_tag or confirmation_mode the inventory entry the spec names contradicts."""
    found = inventory.contradiction(spec)
    if found is not None:
        object_to(exchange, f"{prefix}.{found[0]}", found[1])


def get_booking_status(runtime, request: dict, exchange: Exchange) -> dict:
    """GetBookingStatus: status and prepayment status of a booking (unknown id: 404)."""
    booking = runtime.bookings.get(request["booking_id"])
    return {
        "booking_id": booking.booking_id,
        "booking_status": booking.status,
        "prepayment_status": booking.prepayment_status,
    }


def list_bookings(runtime, request: dict, exchange: Exchange) -> dict:
    """ListBookings: the user's future bookings that are not cancelled (unknown user: empty list)."""
    return {"bookings": [wire.booking(b) for b in runtime.bookings.list_for_user(request["user_id"])]}


def set_marketing_preference(runtime, request: dict, exchange: Exchange) -> dict:
    """SetMarketingPreference (add-on): keep the user's consent to partner marketing, per user, and echo it."""
    preference = runtime.bookings.marketing.set(request["user_information"], request["user_to_receive_marketing"])
    return wire.marketing_preference(preference)


def batch_get_wait_estimates(runtime, request: dict, exchange: Exchange) -> dict:
    """BatchGetWaitEstimates: the waitlist's status, and one estimate per party size it seats while OPEN."""
    status, estimates = runtime.bookings.waitlist.estimates(
        request["merchant_id"], request["service_id"], request["party_size"]
    )
    if status != "OPEN":
        return {"waitlist_status": status}  # the other fields are unset unless OPEN
    return {"waitlist_status": status, "wait_estimate": [wire.wait_estimate(e) for e in estimates]}


def create_waitlist_entry(runtime, request: dict, exchange: Exchange) -> dict:
    """CreateWaitlistEntry: join the waitlist; idempotent on idempotency_token (business failures: HTTP 200)."""
    waitlist = runtime.bookings.waitlist
    if request.get("additional_request"):
        _, rules = waitlist.rules(request["merchant_id"], request["service_id"])
        if not rules.get("supports_additional_request"):
            object_to(exchange, "additional_request", "is not taken by this service (supports_additional_request)")
    entry, replayed, warnings = waitlist.create(request, request["idempotency_token"])
    for warning in warnings:
        exchange.warn(warning)
    exchange.replayed = replayed
    return {"waitlist_entry_id": entry.entry_id}


def get_waitlist_entry(runtime, request: dict, exchange: Exchange) -> dict:
    """GetWaitlistEntry: the entry's state, state times and current wait estimate (unknown id: 404)."""
    waitlist = runtime.bookings.waitlist
    entry = waitlist.get(request["waitlist_entry_id"])
    now = runtime.clock.now()
    return {"waitlist_entry": wire.waitlist_entry(entry, waitlist.entry_estimate(entry, now), now)}


def delete_waitlist_entry(runtime, request: dict, exchange: Exchange) -> dict:
    """DeleteWaitlistEntry: the user leaves the waitlist (CANCELED); answers {} (unknown id: 404)."""
    runtime.bookings.waitlist.cancel(request["waitlist_entry_id"])
    return {}


def plan_update(change: dict, current: Booking) -> tuple[str, tuple]:
    """What an UpdateBooking asks of `current`: ("cancel", ()) or ("modify", (start, duration, party_size)).

    InvalidRequest (400) for what UpdateBooking cannot do: a status other than CANCELED, or moving the
    booking to another merchant or service. The method and the fault preflight both decide with this.
    """
    status = change.get("status")
    if status == CANCELED:
        return "cancel", ()
    if status is not None and status != current.status:
        raise InvalidRequest(f"status can only be changed to CANCELED, not {status}", field="booking.status")
    slot = change.get("slot") or {}
    for key in ("merchant_id", "service_id"):
        if slot.get(key) and slot[key] != getattr(current.slot, key):
            raise InvalidRequest(
                f"slot.{key} cannot be changed by UpdateBooking; cancel and book again", field=f"booking.slot.{key}"
            )
    party = (slot.get("resources") or {}).get("party_size") or None
    return "modify", (slot.get("start_sec"), slot.get("duration_sec"), party)


class V3Method:
    """One v3 method: its name, HTTP verbs, request message (None: no body) and implementation."""

    __slots__ = ("name", "verbs", "request", "call", "summary")

    def __init__(self, name: str, call: Method, request: type[Schema] | None, verbs: tuple[str, ...] = ("POST",)):
        self.name = name
        self.call = call
        self.request = request
        self.verbs = verbs
        self.summary = (call.__doc__ or "").strip()


METHODS = {
    m.name: m
    for m in (
        V3Method("HealthCheck", health_check, None, ("GET", "HEAD")),
        V3Method("BatchAvailabilityLookup", batch_availability_lookup, contract.BatchAvailabilityLookupRequestSchema),
        V3Method("CheckAvailability", check_availability, contract.CheckAvailabilityRequestSchema),
        V3Method("CreateBooking", create_booking, contract.CreateBookingRequestSchema),
        V3Method("UpdateBooking", update_booking, contract.UpdateBookingRequestSchema),
        V3Method("GetBookingStatus", get_booking_status, contract.GetBookingStatusRequestSchema),
        V3Method("ListBookings", list_bookings, contract.ListBookingsRequestSchema),
        V3Method("SetMarketingPreference", set_marketing_preference, contract.SetMarketingPreferenceRequestSchema),
        V3Method("BatchGetWaitEstimates", batch_get_wait_estimates, contract.BatchGetWaitEstimatesRequestSchema),
        V3Method("CreateWaitlistEntry", create_waitlist_entry, contract.CreateWaitlistEntryRequestSchema),
        V3Method("GetWaitlistEntry", get_waitlist_entry, contract.WaitlistEntryIdRequestSchema),
        V3Method("DeleteWaitlistEntry", delete_waitlist_entry, contract.WaitlistEntryIdRequestSchema),
    )
}
LISTING = ", ".join(sorted(f"/v3/{name}" for name in METHODS))
# Documented v3 methods this sandbox does not serve, and the integration they belong to: the status table's 501
# ("not implemented"), so a client can tell them from a typo (404).
NOT_IMPLEMENTED = {
    "CheckOrderFulfillability": "order-based booking servers",
    "CreateOrder": "order-based booking servers",
    "ListOrders": "order-based booking servers",
}
