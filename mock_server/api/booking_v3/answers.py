"""The domain call and wire answer of the hot v3 methods, shared by the Flask views and the fast path."""

from __future__ import annotations

from ...domain.errors import BookingFailed
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
