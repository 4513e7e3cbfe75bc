"""Bookings and inventory pages: bookings with user and merchant actions, a merchant's day of slots."""

from __future__ import annotations

from collections import deque
from datetime import date, timedelta

from flask import request

from ... import notify
from ...domain.errors import BookingFailed, InvalidRequest, NotFound
from ...domain.models import BOOKING_STATUSES, Slot
from ...recording import markers
from ...runtime import get_runtime
from . import timefmt
from .blueprint import back, bp, flash, render


@bp.route("/bookings", methods=["GET"])
def bookings():
    """Every booking (newest first) with filters, and cancel / confirm / decline buttons."""
    runtime = get_runtime()
    inventory = runtime.bookings.inventory
    status = request.args.get("status", "").strip()
    merchant_id = request.args.get("merchant_id", "").strip()
    user_id = request.args.get("user_id", "").strip()
    rows = []
    for booking in reversed(runtime.bookings.all_bookings()):
        if (
            (status and booking.status != status)
            or (merchant_id and booking.slot.merchant_id != merchant_id)
            or (user_id and booking.user.user_id != user_id)
        ):
            continue
        merchant = inventory.merchants.get(booking.slot.merchant_id)
        service = inventory.services.get((booking.slot.merchant_id, booking.slot.service_id))
        rows.append(
            {
                "booking": booking,
                "merchant": merchant,
                "service": service,
                "tz": merchant.timezone if merchant else "UTC",
            }
        )
    return render(
        "ui_bookings.html",
        page="bookings",
        rows=rows,
        statuses=BOOKING_STATUSES,
        merchants=list(inventory.merchants.values()),
        filters={"status": status, "merchant_id": merchant_id, "user_id": user_id},
        counts=runtime.bookings.counts(),
    )


@bp.route("/bookings/<booking_id>/cancel", methods=["POST"])
def cancel_booking(booking_id):
    """Cancel as the user would (UpdateBooking's rules); a business failure is shown, not raised."""
    try:
        outcome = get_runtime().bookings.cancel(booking_id)
    except BookingFailed as exc:
        flash(f"{booking_id} not cancelled: {exc.cause} — {exc.description}", "error")
    except NotFound as exc:
        flash(exc.message, "error")
    else:
        markers.mark(markers.BOOKING_CANCELLED, {"booking_id": booking_id}, "dashboard")
        flash(f"{outcome.booking.booking_id} cancelled; its spot is open again.", "success")
    return back("dashboard.bookings")


@bp.route("/bookings/<booking_id>/decision", methods=["POST"])
def merchant_decision(booking_id):
    """Confirm or decline a pending booking, as the merchant would."""
    decision = request.form.get("decision", "")
    if decision not in ("confirm", "decline"):
        flash("decision must be confirm or decline", "error")
        return back("dashboard.bookings")
    try:
        outcome = get_runtime().bookings.merchant_decision(booking_id, decision == "confirm")
    except (InvalidRequest, NotFound) as exc:
        flash(exc.message, "error")
    else:
        markers.mark(
            markers.MERCHANT_ACTION,
            markers.merchant_action_detail("merchant-decision", outcome.booking, {"decision": decision}),
            "dashboard",
        )
        notify.booking_changed(outcome)
        flash(f"{booking_id} is now {outcome.booking.status}.", "success")
    return back("dashboard.bookings")


@bp.route("/inventory", methods=["GET"])
def inventory():
    """One merchant's slots on one calendar day of its own time zone: spots open of total."""
    runtime = get_runtime()
    inventory = runtime.bookings.inventory
    merchants = list(inventory.merchants.values())
    merchant = inventory.merchants.get(request.args.get("merchant_id", "")) or (merchants[0] if merchants else None)
    if merchant is None:
        return render("ui_inventory.html", page="inventory", merchant=None, merchants=[])
    tz = merchant.timezone
    first, last = _span(inventory, merchant.merchant_id, tz)
    today = timefmt.day_of(runtime.clock.now(), tz)
    at = request.args.get("at", "").strip()
    # ASCII digits only (str.isdigit() also takes '²', which int() refuses), at most 11: up to the year 5138.
    target = int(at) if at.isascii() and at.isdigit() and len(at) <= 11 else None
    default = timefmt.day_of(target, tz) if target is not None else _default_day(today, first, last)
    day, problem = _day(request.args.get("day", ""), default=default)
    start, end = timefmt.day_bounds(day, tz)
    now = runtime.clock.now()
    groups: dict[str, list[tuple[Slot, int]]] = {}  # service_id -> (slot, spots open), in start order
    day_slots = list(inventory.slots(merchant.merchant_id, start, end))
    spots_open = runtime.bookings.spots_open_each(day_slots)
    for slot in day_slots:
        groups.setdefault(slot.service_id, []).append((slot, spots_open[slot]))
    services = [(inventory.services.get((merchant.merchant_id, sid)), sid, slots) for sid, slots in groups.items()]
    totals = {
        "open": sum(spots for _, _, slots in services for _, spots in slots),
        "total": sum(s.spots_total for _, _, slots in services for s, _ in slots),
    }
    return render(
        "ui_inventory.html",
        page="inventory",
        merchant=merchant,
        merchants=merchants,
        day=day,
        today=today,
        first=first,
        last=last,
        prev_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        services=services,
        totals=totals,
        now=now,
        problem=problem,
        tz=tz,
        target=target,
        target_service=request.args.get("service_id", ""),
    )


def _span(inventory, merchant_id: str, tz: str) -> tuple[date | None, date | None]:
    """First and last day with slots (one pass, nothing kept)."""
    tail = deque(inventory.slots(merchant_id), maxlen=1)
    if not tail:
        return None, None
    head = next(inventory.slots(merchant_id))
    return timefmt.day_of(head.start_sec, tz), timefmt.day_of(tail[0].start_sec, tz)


def _default_day(today: date, first: date | None, last: date | None) -> date:
    """Today in the merchant's zone, else the nearest day that has slots."""
    if first is None or last is None or first <= today <= last:  # _span gives both or neither
        return today
    return first if today < first else last


def _day(text: str, default: date) -> tuple[date, str | None]:
    text = text.strip()
    if not text:
        return default, None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return default, f"day {text!r} ignored: use YYYY-MM-DD"
    if not timefmt.FIRST_DAY <= day <= timefmt.LAST_DAY:  # keeps previous/next day and epoch arithmetic in range
        return default, f"day {text!r} ignored: out of range"
    return day, None
