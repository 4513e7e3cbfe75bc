"""Would the /v3 method accept this request, and would it change anything? Asked before a rule draws or spends.

The checks are the method's own, in its order: the exchange's loaded request (the same 400/415, loaded once),
then the lookups and rules the method and the domain apply before any business decision. A business failure
answered where the server would have said 400 or 404, or answered to a retry that the server would have
answered with the original booking, breaks the contract the fault simulates.
"""

from __future__ import annotations

from collections.abc import Callable

from ..domain.bookings import moved_slot
from ..domain.errors import InvalidRequest, NotFound
from ..v3.exchange import BodyRefused
from ..v3.loader import RequestInvalid
from ..v3.methods import plan_update

INVALID = "invalid"  # the server answers 4xx; nothing happens
REPLAY = "replay"  # the server answers what it answered before; nothing changes
FRESH = "fresh"  # the server goes on to its business decision


def standing(method: str, load: Callable[[], object], runtime) -> str:
    """INVALID, REPLAY or FRESH for this request to this v3 method (methods not checked here are FRESH).

    `load` gives the request as the method gets it: the same Content-Type, JSON and schema checks, so the same
    verdict (and the request is loaded once for both).
    """
    check = _CHECKS.get(method)
    if check is None:
        return FRESH
    try:
        return check(load(), runtime)
    except (BodyRefused, RequestInvalid, InvalidRequest, NotFound):
        return INVALID


def _create(data, runtime) -> str:
    bookings = runtime.bookings
    # The domain looks the token up first: a token that succeeded answers its booking, whatever else the body says.
    if bookings.answered(data["idempotency_token"]):
        return REPLAY
    spec = data["slot"]
    bookings.inventory.service(spec.merchant_id, spec.service_id)
    return INVALID if spec.duration_sec is None else FRESH


def _update(data: dict, runtime) -> str:
    change = data["booking"]
    current = runtime.bookings.get(change["booking_id"])
    plan, changes = plan_update(change, current)  # the view's own decision (InvalidRequest: a 400)
    if plan == "cancel":
        return FRESH  # already cancelled is the domain's own business failure, not a 400
    # A change to what the booking already is changes nothing: the domain answers the booking as it stands.
    return REPLAY if current.is_active and moved_slot(current.slot, *changes) == current.slot else FRESH


def _lookup(data: dict, runtime) -> str:
    if len(data["specs"]) > runtime.settings.max_slot_times:
        return INVALID
    inventory = runtime.bookings.inventory
    inventory.merchant(data["merchant_id"])
    for spec in data["specs"]:
        inventory.service(data["merchant_id"], spec.service_id)
    return FRESH


def _check(data: dict, runtime) -> str:
    spec = data["slot"]
    runtime.bookings.inventory.service(spec.merchant_id, spec.service_id)
    return FRESH


def _join(data: dict, runtime) -> str:
    waitlist = runtime.bookings.waitlist
    # The token first, as the domain does: a token that made an entry answers it again, whatever else is sent.
    if waitlist.state.waitlist_record(data["idempotency_token"]) is not None:
        return REPLAY
    waitlist.rules(data["merchant_id"], data["service_id"])
    return FRESH


_CHECKS = {
    "CreateWaitlistEntry": _join,
    "CreateBooking": _create,
    "UpdateBooking": _update,
    "BatchAvailabilityLookup": _lookup,
    "CheckAvailability": _check,
}
