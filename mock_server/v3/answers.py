"""The domain call and wire answer of the hot v3 methods, shared by the Flask views and the fast path."""

from __future__ import annotations

from ..domain.errors import BookingFailed, InvalidRequest
from ..domain.models import CANCELED, Booking
from . import wire


def availability(bookings, merchant_id: str, specs: list) -> dict:
    """BatchAvailabilityLookupResponse: each requested slot and whether it can be booked, in request order."""
    answers = bookings.availability(merchant_id, specs)
    return {"slot_time_availability": [
        {"slot_time": wire.slot_time(spec), "available": available}
        for spec, available in zip(specs, answers, strict=True)
    ]}


def create(bookings, req: dict) -> tuple[dict, list[str]]:
    """CreateBookingResponse (a booking or a booking_failure) and the domain's warnings."""
    try:
        outcome = bookings.create(
            req["slot"], req["user_information"], req.get("payment_information"), req["idempotency_token"],
            payment_token_given=req["payment_token_given"], offer_id=req.get("offer_id", ""),
        )
    except BookingFailed as exc:
        return failure(exc), []
    return {"booking": wire.booking(outcome.booking)}, outcome.warnings


def cancel(bookings, booking_id: str) -> dict:
    """UpdateBookingResponse of a cancellation (the booking, or a booking_failure)."""
    try:
        return {"booking": wire.booking(bookings.cancel(booking_id).booking)}
    except BookingFailed as exc:
        return failure(exc)


def failure(exc: BookingFailed) -> dict:
    """A business failure: HTTP 200 with booking_failure."""
    return {"booking_failure": wire.booking_failure(exc)}


def plan_update(change: dict, current: Booking) -> tuple[str, tuple]:
    """What an UpdateBooking asks of `current`: ("cancel", ()) or ("modify", (start, duration, party_size)).

    InvalidRequest (400) for what UpdateBooking cannot do: a status other than CANCELED, or moving the
    booking to another merchant or service. The view and the fault preflight both decide with this.
    """
    status = change.get("status")
    if status == CANCELED:
        return "cancel", ()
    if status is not None and status != current.status:
        raise InvalidRequest(f"status can only be changed to CANCELED, not {status}", field="booking.status")
    slot = change.get("slot") or {}
    for key in ("merchant_id", "service_id"):
        if slot.get(key) and slot[key] != getattr(current.slot, key):
            raise InvalidRequest(f"slot.{key} cannot be changed by UpdateBooking; cancel and book again",
                                 field=f"booking.slot.{key}")
    party = (slot.get("resources") or {}).get("party_size") or None
    return "modify", (slot.get("start_sec"), slot.get("duration_sec"), party)
