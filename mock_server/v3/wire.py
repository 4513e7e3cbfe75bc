"""Domain objects -> canonical v3 JSON (snake_case, int64 as strings, defaults omitted)."""

from __future__ import annotations

from ..domain.errors import BookingFailed
from ..domain.models import Booking, MarketingPreference, SlotSpec, UserInformation
from ..domain.waitlist import Estimate, WaitlistEntry, WaitlistFailed


def resources(spec: SlotSpec) -> dict:
    """ResourceIds with only the fields that are set."""
    out: dict[str, str | int] = {}
    if spec.staff_id:
        out["staff_id"] = spec.staff_id
    if spec.room_id:
        out["room_id"] = spec.room_id
    if spec.party_size:
        out["party_size"] = spec.party_size
    return out


def slot_time(spec: SlotSpec, confirmation_mode: str) -> dict:
    """A BAL SlotTime: the client's, echoed in canonical form, with the confirmation mode the lookup answers."""
    return _slot_fields({"service_id": spec.service_id}, spec, "resource_ids", confirmation_mode)


def slot(spec: SlotSpec) -> dict:
    """A Slot."""
    out = {"merchant_id": spec.merchant_id, "service_id": spec.service_id}
    return _slot_fields(out, spec, "resources", spec.confirmation_mode)


def _slot_fields(out: dict, spec: SlotSpec, resources_key: str, confirmation_mode: str) -> dict:
    """The fields SlotTime and Slot share (their resources differ only in name); confirmation_mode last."""
    out["start_sec"] = str(spec.start_sec)
    if spec.duration_sec is not None:
        out["duration_sec"] = str(spec.duration_sec)
    if spec.availability_tag:
        out["availability_tag"] = spec.availability_tag
    if spec.has_resources:
        out[resources_key] = resources(spec)
    if confirmation_mode:
        out["confirmation_mode"] = confirmation_mode
    return out


def user_information(user: UserInformation) -> dict:
    """A UserInformation, empty fields omitted."""
    out: dict[str, str | dict] = {"user_id": user.user_id}
    for name in ("given_name", "family_name"):
        if getattr(user, name):
            out[name] = getattr(user, name)
    if user.address:
        out["address"] = dict(user.address)
    for name in ("telephone", "email", "language_code"):
        if getattr(user, name):
            out[name] = getattr(user, name)
    return out


def booking(b: Booking) -> dict:
    """A full Booking."""
    out = {
        "booking_id": b.booking_id,
        "slot": slot(b.slot),
        "user_information": user_information(b.user),
        "status": b.status,
    }
    if b.payment_information:
        out["payment_information"] = b.payment_information
    if b.offer_id:
        out["offer_info"] = {"offer_id": b.offer_id}
    return out


def marketing_preference(preference: MarketingPreference) -> dict:
    """A SetMarketingPreferenceResponse (`user_to_receive_marketing` always printed, as `available` is)."""
    return {
        "user_information": user_information(preference.user),
        "user_to_receive_marketing": preference.user_to_receive_marketing,
    }


def booking_failure(exc: BookingFailed) -> dict:
    """A BookingFailure with the cause-specific fields the spec requires."""
    out: dict[str, object] = {"cause": exc.cause}
    out.update(exc.extra)
    if exc.description:
        out["description"] = exc.description
    return out


def wait_estimate(estimate: Estimate) -> dict:
    """A WaitEstimate: an empty wait_length when nobody is ahead and the table is ready (as Google's sample has it)."""
    length: dict[str, object] = {}
    if estimate.turn_sec:
        half = estimate.turn_sec // 2
        start = max(estimate.ready_sec - half, 0)
        length = {
            "parties_ahead_count": estimate.parties_ahead,
            "estimated_seat_time_range": {
                "start_seconds": str(start),
                "end_seconds": str(max(start, estimate.ready_sec + half)),
            },
        }
        if not estimate.parties_ahead:
            del length["parties_ahead_count"]  # proto3 omits a 0
    return {
        "party_size": estimate.party_size,
        "wait_length": length,
        "waitlist_confirmation_mode": estimate.confirmation_mode,
    }


def waitlist_entry(entry: WaitlistEntry, estimate: Estimate, now: int) -> dict:
    """A WaitlistEntry at `now`: its state, the times of the states it reached, its current estimate."""
    return {
        "waitlist_entry_state": entry.state_at(now),
        "waitlist_entry_state_times": entry.state_times(now),
        "wait_estimate": wait_estimate(estimate),
    }


def waitlist_failure(exc: WaitlistFailed) -> dict:
    """A WaitlistBusinessLogicFailure."""
    return {"cause": exc.cause, "description": exc.description}
