"""/_admin: readiness, reset, bookings and merchant actions, marketing preferences, clock, settings. Never faulted;
a change that succeeded is journalled as a marker line (recording/markers.py), never as an exchange (a merchant
action's notification is journalled too: notify/)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, request
from flask_smorest import abort

from ... import metrics as sandbox_metrics
from ... import notify
from ...domain.bookings import BookingService, Outcome
from ...domain.clock import ClockRangeError
from ...domain.errors import BookingFailed, InvalidRequest, NotFound
from ...domain.waitlist import ACTIONS
from ...recording import markers
from ...runtime import get_runtime
from ...storage import snapshot
from ...tenancy import current_tenant
from ...v3 import wire
from .. import auth
from ..common import json_object_body, json_response
from . import schemas

blp = auth.admin_blueprint(
    "Admin",
    __name__,
    "/_admin",
    "Control plane: health, reset, state snapshots, bookings, marketing preferences, the sandbox clock and the "
    "fidelity settings.",
)


@blp.route("/health", methods=["GET"])
@blp.response(200, schemas.HealthSchema, description="Ready: fixtures loaded, with counts")
def health():
    """Readiness: fixtures loaded, counts of merchants, slots and bookings, clock."""
    return json_response(get_runtime().health())


@blp.route("/reset", methods=["POST"])
@blp.response(200, schemas.HealthSchema, description="Back to the fixture state")
def reset():
    """Back to the fixture state: bookings and idempotency forgotten, slots re-anchored to today.

    `{"recordings": true}` empties the journal too; `{"all_tenants": true}` (un-prefixed only) resets every tenant.
    """
    # The body is optional, but a broken one is a 400/415, not a reset.
    body = json_object_body(request) if request.get_data(cache=True) else {}
    clear = body.get("recordings") is True
    if body.get("all_tenants") is True:
        from ...tenancy import ENVIRON_KEY, TENANTS_KEY

        if request.environ.get(ENVIRON_KEY) is not None:
            abort(400, message="all_tenants resets every tenant: send it without a /t/{tenant}/ prefix")
        for tenant in current_app.extensions[TENANTS_KEY].all():
            tenant.runtime.reset(clear_recordings=clear)
            markers.mark(markers.RESET, markers.reset_detail(tenant.runtime, clear), recording=tenant.recording)
    runtime = get_runtime()
    if body.get("all_tenants") is not True:
        runtime.reset(clear_recordings=clear)
        markers.mark(markers.RESET, markers.reset_detail(runtime, clear))
    return json_response(runtime.health())


@blp.route("/metrics", methods=["GET"])
@blp.response(200, description="Prometheus text format (OpenMetrics when the Accept header asks for it)")
def metrics():
    """Prometheus metrics: /v3 requests, latency, faults fired, booking outcomes, journal lag, per tenant.

    Un-prefixed: every tenant's series; under /t/{tenant}/: that tenant's only (none when it does not exist yet).
    """
    from ...tenancy import ENVIRON_KEY, TENANTS_KEY

    name = request.environ.get(ENVIRON_KEY)
    if name is None:
        registry = current_app.extensions[sandbox_metrics.REGISTRY_KEY]
    else:  # a tenant's own control plane (its own credentials may open it) shows nobody else's figures
        registry = sandbox_metrics.tenant_registry(current_app.extensions[TENANTS_KEY].find(name))
    body, content_type = sandbox_metrics.exposition(registry, request.headers.get("Accept"))
    return Response(body, content_type=content_type)


@blp.route("/state", methods=["GET"])
@blp.response(200, schemas.StateDocumentSchema, description="The tenant's state as one document")
def state_save():
    """A snapshot of the tenant's state: bookings, idempotency tokens, the id sequence, marketing preferences, the
    clock and the fault rules with their counters, on the inventory it was saved on (PUT restores it)."""
    tenant = current_tenant()
    return json_response(snapshot.save(tenant.runtime, tenant.engine))


@blp.route("/state", methods=["PUT"])
@blp.response(200, schemas.HealthSchema, description="The state was replaced by the document's")
@blp.alt_response(400, description="A bad document, or one saved on another inventory: nothing was restored")
def state_load():
    """Replace the tenant's state with a snapshot (GET's document), whole: every server on a shared store sees the
    old state or the new one, never half."""
    # A saved state is far larger than any /v3 request (~2 KB a booking): GET's document must always come back.
    request.max_content_length = max(request.max_content_length or 0, snapshot.MAX_DOCUMENT_BYTES)
    body = json_object_body(request)
    tenant = current_tenant()
    try:
        restored = snapshot.load(body, tenant.runtime)
    except snapshot.StateDocumentError as exc:
        abort(400, message=f"invalid state document: {exc}; nothing was restored")
    tenant.runtime.restore(restored, tenant.engine)
    health = tenant.runtime.health()
    # The document itself is not journalled (it can be 256 MiB, and holds the users' details): a replay reports it.
    markers.mark(markers.STATE_RESTORED, {"anchor_sec": health["anchor_sec"], "counts": health["counts"]})
    return json_response(health)


@blp.route("/bookings", methods=["GET"])
@blp.arguments(schemas.BookingFilterSchema, location="query")
@blp.response(200, schemas.BookingListSchema, description="Bookings, oldest first")
def bookings(query):
    """Current bookings (all statuses), with optional filters."""
    rows = []
    for b in get_runtime().bookings.all_bookings():
        if query.get("user_id") not in (None, b.user.user_id):
            continue
        if query.get("merchant_id") not in (None, b.slot.merchant_id):
            continue
        if query.get("status") not in (None, b.status):
            continue
        rows.append(admin_booking(b))
        if len(rows) >= query["limit"]:
            break
    return json_response({"bookings": rows, "count": len(rows)})


@blp.route("/bookings/<booking_id>/merchant-decision", methods=["POST"])
@blp.arguments(schemas.MerchantDecisionSchema, example={"decision": "confirm"})
@blp.response(200, schemas.AdminBookingSchema, description="The booking after the merchant's decision")
def merchant_decision(body, booking_id):
    """Confirm or decline a PENDING_MERCHANT_CONFIRMATION booking, as the merchant would (notified)."""
    return _merchant_action(
        "merchant-decision",
        body,
        lambda bookings: bookings.merchant_decision(booking_id, body["decision"] == "confirm"),
    )


@blp.route("/bookings/<booking_id>/merchant-cancel", methods=["POST"])
@blp.response(200, schemas.AdminBookingSchema, description="The booking, CANCELED")
@blp.alt_response(409, description="The booking holds no spot (it is not CONFIRMED or pending)")
def merchant_cancel(booking_id):
    """The merchant cancels an active booking at any time: its spot freed, a prepayment refunded whole (notified)."""
    return _merchant_action("merchant-cancel", {}, lambda bookings: bookings.merchant_cancel(booking_id))


@blp.route("/bookings/<booking_id>/merchant-move", methods=["POST"])
@blp.arguments(schemas.MerchantMoveSchema, example={"start_sec": 1767268800})
@blp.response(200, schemas.AdminBookingSchema, description="The booking at its new time")
@blp.alt_response(409, description="The new time is not available (the cause named); nothing changed")
def merchant_move(body, booking_id):
    """The merchant moves a booking to another start (duration, party size) of the same service, as UpdateBooking
    would, less the cancellation window (notified)."""
    return _merchant_action(
        "merchant-move",
        body,
        lambda bookings: bookings.merchant_move(
            booking_id, body["start_sec"], body.get("duration_sec"), body.get("party_size")
        ),
    )


@blp.route("/bookings/<booking_id>/no-show", methods=["POST"])
@blp.arguments(schemas.NoShowSchema, example={"penalized": True})
@blp.response(200, schemas.AdminBookingSchema, description="The booking, NO_SHOW or NO_SHOW_PENALIZED")
@blp.alt_response(409, description="Not CONFIRMED, or its start has not come yet")
def no_show(body, booking_id):
    """The user did not come to a CONFIRMED booking that has started: NO_SHOW (NO_SHOW_PENALIZED with
    `penalized`) (notified)."""
    return _merchant_action("no-show", body, lambda bookings: bookings.mark_no_show(booking_id, body["penalized"]))


@blp.route("/bookings/<booking_id>/fail", methods=["POST"])
@blp.arguments(schemas.FailSchema, example={"cause": "SLOT_UNAVAILABLE"})
@blp.response(200, schemas.AdminBookingSchema, description="The booking, FAILED")
@blp.alt_response(409, description="The booking is not PENDING_MERCHANT_CONFIRMATION")
def fail(body, booking_id):
    """A pending booking fails: its spot freed, a prepayment refunded; the notification carries
    `bookingFailure.cause` (default SLOT_UNAVAILABLE)."""
    return _merchant_action("fail", body, lambda bookings: bookings.fail(booking_id), cause=body["cause"])


def _merchant_action(action: str, body: dict, change: Callable[[BookingService], Outcome], cause: str = "") -> Response:
    """Run a merchant action (`action`: its path's last part, `body` as loaded) on the tenant's bookings, journal it
    as a marker, notify Google of what it changed, answer the booking."""
    try:
        outcome = change(get_runtime().bookings)
    except NotFound as exc:
        abort(404, message=exc.message)
    except InvalidRequest as exc:
        abort(409, message=exc.message)
    except BookingFailed as exc:
        abort(409, message=f"{exc.cause}: {exc.description}")
    markers.mark(markers.MERCHANT_ACTION, markers.merchant_action_detail(action, outcome.booking, body))
    notify.booking_changed(outcome, cause)
    return json_response(admin_booking(outcome.booking))


def admin_waitlist_entry(entry) -> dict:
    """A waitlist entry for the admin API and the dashboard."""
    waitlist = get_runtime().bookings.waitlist
    now = waitlist.clock.now()
    return {
        "waitlist_entry_id": entry.entry_id,
        "merchant_id": entry.merchant_id,
        "service_id": entry.service_id,
        "party_size": entry.party_size,
        "user_information": wire.user_information(entry.user),
        "additional_request": entry.additional_request,
        "waitlist_entry": wire.waitlist_entry(entry, waitlist.entry_estimate(entry, now), now),
        "timeline": [{"state": state, "at_sec": sec} for state, sec in entry.timeline()],
    }


@blp.route("/waitlist", methods=["GET"])
@blp.arguments(schemas.WaitlistFilterSchema, location="query")
@blp.response(200, schemas.WaitlistListSchema, description="Every waitlist entry (of a merchant), by id")
def waitlist_entries(query):
    """The waitlist entries, each with its state now and its course over the sandbox clock."""
    rows = [admin_waitlist_entry(e) for e in get_runtime().bookings.waitlist.entries(query.get("merchant_id"))]
    return json_response({"waitlist_entries": rows, "count": len(rows)})


@blp.route("/waitlist/<entry_id>/<action>", methods=["POST"])
@blp.response(200, schemas.AdminWaitlistEntrySchema, description="The entry after the action")
@blp.alt_response(404, description="No such entry, or no such action")
@blp.alt_response(409, description="The entry's state does not allow the action")
def waitlist_action(entry_id, action):
    """Move a waitlist entry now, as the merchant (or the user) would: confirm or decline (an asynchronous
    waitlist's pending entry), ready, check_in, seat, no_show, cancel (notified)."""
    if action not in ACTIONS:
        abort(404, message=f"no waitlist action {action!r}; actions: {', '.join(ACTIONS)}")
    try:
        entry = get_runtime().bookings.waitlist.act(entry_id, action)
    except NotFound as exc:
        abort(404, message=exc.message)
    except InvalidRequest as exc:
        abort(409, message=exc.message)
    state = entry.state_at(get_runtime().clock.now())
    markers.mark(markers.WAITLIST_ACTION, markers.waitlist_action_detail(action, entry_id, state))
    return json_response(admin_waitlist_entry(entry))


@blp.route("/marketing-preferences", methods=["GET"])
@blp.arguments(schemas.MarketingFilterSchema, location="query")
@blp.response(200, schemas.MarketingPreferenceListSchema, description="Each user's preference, by user id")
def marketing_preferences(query):
    """The users' marketing preferences, as SetMarketingPreference last set them (optional `user_id` filter)."""
    rows = [
        {**wire.marketing_preference(p), "updated_sec": p.updated_sec}
        for p in get_runtime().bookings.marketing.all()
        if query.get("user_id") in (None, p.user.user_id)
    ]
    return json_response({"marketing_preferences": rows, "count": len(rows)})


@blp.route("/clock", methods=["GET"])
@blp.response(200, schemas.ClockStateSchema, description="The sandbox clock")
def clock_state():
    """The sandbox clock: now, frozen or running, offset from wall time."""
    return json_response(get_runtime().clock.state())


@blp.route("/clock", methods=["POST"])
@blp.arguments(schemas.ClockChangeSchema, example={"advance_sec": 3600})
@blp.response(200, schemas.ClockStateSchema, description="The clock after the change")
@blp.alt_response(400, description="A change that would take the clock outside 0 to 2^40 epoch seconds")
def clock_change(body):
    """Freeze (now or at an epoch second), advance by seconds, or unfreeze."""
    clock = get_runtime().clock
    try:
        if "freeze_at_sec" in body:
            clock.freeze(body["freeze_at_sec"])
        elif body.get("freeze"):
            clock.freeze()
        elif "advance_sec" in body:
            clock.advance(body["advance_sec"])
        else:
            clock.unfreeze()
    except ClockRangeError as exc:  # an advance past either end: the clock refuses, unchanged
        abort(400, message=f"invalid request: {exc}")
    markers.mark(markers.CLOCK, {"clock": clock.state(), "change": body})
    get_runtime().bookings.waitlist.notify_moves()  # the waitlist moves the clock made, notified once
    return json_response(clock.state())


@blp.route("/settings", methods=["GET"])
@blp.response(200, schemas.SettingsSchema, description="The tenant's fidelity settings")
def settings_state():
    """The tenant's strict mode and response profile (a reset puts back MOCK_STRICT and MOCK_RESPONSE_PROFILE)."""
    return json_response(get_runtime().fidelity.state())


@blp.route("/settings", methods=["PATCH"])
@blp.arguments(schemas.SettingsSchema, example={"strict": True, "response_profile": "minimal"})
@blp.response(200, schemas.SettingsSchema, description="The settings after the change")
@blp.alt_response(400, description="An unknown setting or a bad value, named")
def settings_change(body):
    """Change the tenant's strict mode and/or response profile; what the body does not name stays as it is."""
    fidelity = get_runtime().fidelity
    fidelity.change(body)
    markers.mark(markers.SETTINGS, {"settings": fidelity.state()})
    return json_response(fidelity.state())


def admin_booking(b) -> dict:
    """The v3 booking plus what only the sandbox knows."""
    held = b.held
    return {
        **wire.booking(b),
        "prepayment_status": b.prepayment_status,
        "created_sec": b.created_sec,
        "updated_sec": b.updated_sec,
        "idempotency_token": b.idempotency_token,
        "inventory_entry": None
        if held is None
        else {
            "start_sec": held.start_sec,
            "duration_sec": held.duration_sec,
            "staff_id": held.staff_id,
            "room_id": held.room_id,
            "party_size": held.party_size,
        },
    }
