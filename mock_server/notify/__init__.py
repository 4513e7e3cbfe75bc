"""Booking notifications: what a partner tells Google when a booking changes without the client's call (issue 17).

A merchant action (/_admin/bookings/{id}/...) changes a booking through BookingService; `booking_changed` then queues
a Maps Booking API `PATCH /v1alpha/notification/partners/{partner}/bookings/{id}?updateMask=...` to MOCK_NOTIFY_URL.
A waitlist entry's move the client did not make (an admin action, or a move the sandbox clock made: at a change
through /_admin/clock, or as a running clock reaches it) queues `PATCH .../partners/{partner}/waitlistEntries/{id}`
the same way (`waitlist_changed`, hooked to WaitlistService.on_change by the runtime; a served app's notifier looks
for the running clock's moves every second, `watch_clock`). `send` is the generic way in.
"""

from __future__ import annotations

import functools

from flask import Flask, current_app

from ..domain.bookings import Outcome
from ..domain.errors import StoreFailed
from ..domain.models import FAILED
from ..domain.waitlist import WaitlistEntry, WaitlistService
from ..faults.engine import Effect
from .body import WAITLIST_MASK, booking_body, booking_path, update_mask, waitlist_entry_body, waitlist_entry_path
from .sender import METHOD, Delivery, Notifier

EXTENSION_KEY = "mock_server.notify"

__all__ = [
    "EXTENSION_KEY",
    "Notifier",
    "booking_changed",
    "install",
    "notifier",
    "send",
    "tell_clock_moves",
    "waitlist_changed",
    "watch_clock",
]


def install(app: Flask, settings) -> None:
    """Make the app's notifier when MOCK_NOTIFY_URL is set (its thread starts with the first notification)."""
    if settings.notify_url:
        app.extensions[EXTENSION_KEY] = Notifier(
            settings.notify_url, settings.notify_attempts, settings.notify_backoff_s, settings.notify_timeout_s
        )


def watch_clock(app: Flask) -> None:
    """Have a served app's notifier tell, every second, the waitlist moves a running sandbox clock made (a waiting
    party's table ready, its seating): a partner tells Google when that happens, not when somebody next asks."""
    sender = app.extensions.get(EXTENSION_KEY)
    if sender is not None:
        sender.watch(functools.partial(tell_clock_moves, app))


def tell_clock_moves(app: Flask) -> int:
    """Notify the waitlist moves that each tenant's running clock made and nobody told yet; how many.

    A frozen clock makes none (its changes through /_admin/clock tell theirs). Of several servers on one store, one
    tells each move (WaitlistService.notify_moves). A tenant that fails (its store unreachable) leaves the others
    told; the failures are raised together at the end.
    """
    from ..tenancy import TENANTS_KEY, acting_for

    told, failed = 0, []
    with app.app_context():
        for tenant in app.extensions[TENANTS_KEY].all():
            try:
                # A shared store: the clock as another server may have set it; a tenant deleted there is left alone
                # (not brought back).
                if tenant.gone or not tenant.runtime.sync(claim=False) or tenant.runtime.clock.frozen:
                    continue
                with acting_for(tenant):
                    told += tenant.runtime.bookings.waitlist.notify_moves()
            except Exception as exc:  # noqa: BLE001 - one tenant's failure must not silence the others
                failed.append(f"tenant {tenant.name}: {exc}")
    if failed:
        raise RuntimeError("; ".join(failed))
    return told


def notifier() -> Notifier | None:
    """The current app's notifier (None: notifications are off)."""
    return current_app.extensions.get(EXTENSION_KEY)


def send(path: str, body: dict, mask: list[str], facts: dict[str, str] | None = None, extra_query=()) -> bool:
    """Queue a notification for the current request's tenant; False when notifications are off (or the queue is
    full). `facts` are the match keys fault rules may name (merchant_id, service_id, user_id, booking_id)."""
    from ..tenancy import current_tenant

    sender = notifier()
    if sender is None:
        return False
    delivery = Delivery(path, body, mask, TenantChannel(current_tenant()), dict(facts or {}), list(extra_query))
    return sender.send(delivery)


def booking_changed(outcome: Outcome, cause: str = "") -> bool:
    """Notify the change a merchant action made (nothing when it changed nothing); `cause`: a FAILED booking's
    bookingFailure.cause."""
    from ..runtime import get_runtime

    booking = outcome.booking
    mask = update_mask(outcome.before, booking) if outcome.before is not None else []
    if not mask:
        return False
    partner = get_runtime().settings.partner_id
    extra = [("bookingFailure.cause", cause)] if booking.status == FAILED and cause else []
    facts = {
        "merchant_id": booking.slot.merchant_id,
        "service_id": booking.slot.service_id,
        "user_id": booking.user.user_id,
        "booking_id": booking.booking_id,
    }
    return send(booking_path(partner, booking.booking_id), booking_body(booking, partner), mask, facts, extra)


def waitlist_changed(waitlist: WaitlistService, entry: WaitlistEntry, moves: list[tuple[str, int]]) -> None:
    """Notify each move of a waitlist entry, in order, each with the entry as it was at that second (nothing when
    notifications are off)."""
    from ..runtime import get_runtime

    if notifier() is None:
        return
    partner = get_runtime().settings.partner_id
    facts = {"merchant_id": entry.merchant_id, "service_id": entry.service_id, "user_id": entry.user.user_id}
    path = waitlist_entry_path(partner, entry.entry_id)
    for _, sec in moves:
        body = waitlist_entry_body(entry, waitlist.entry_estimate(entry, sec), partner, sec)
        send(path, body, list(WAITLIST_MASK), facts)


class TenantChannel:
    """One tenant's fault rules and journal, as a notification's attempts use them; for the state it was queued in."""

    def __init__(self, tenant):
        self.tenant = tenant
        self.state = tenant.runtime.bookings  # a reset (here or on another server of a shared store) replaces it

    def live(self) -> bool:
        """The tenant is still served and has not been reset since the notification was queued."""
        return not self.tenant.gone and self.tenant.runtime.bookings is self.state

    def fault(self, facts: dict[str, str]) -> Effect | None:
        """The first notification_failure rule that fires (spent as any rule is), of the rules as the tenant has them
        now: on a shared store, with those another server armed or spent since (no request synced this thread)."""
        runtime = self.tenant.runtime
        try:
            runtime.sync(counts=True, claim=False)  # a tenant deleted through another server is not brought back
        except StoreFailed:
            pass  # Redis is down: this server's copy of the rules decides, as the sending would have anyway
        decision = self.tenant.engine.decide(METHOD, _Facts(facts), runtime.rng, runtime.clock.now())
        return None if decision is None else decision.outcome

    def journal(self, record: dict, status: int | None) -> None:
        """A line of the tenant's journal, on its sandbox clock (none once it was reset or deleted meanwhile: the line
        would land in the emptied journal, or reopen a deleted tenant's file)."""
        if not self.live():
            return
        record["clock_sec"] = self.tenant.runtime.clock.now()
        self.tenant.recording.recorder.record_outbound(record, status)


class _Facts:
    """A notification's match keys, as the fault engine asks for them."""

    def __init__(self, values: dict[str, str]):
        self.values = values

    def get(self, key: str) -> frozenset:
        value = self.values.get(key)
        return frozenset() if value is None else frozenset((value,))

    def admits(self, kind: str) -> bool:
        return True
