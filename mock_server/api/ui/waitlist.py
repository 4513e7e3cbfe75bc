"""Waitlist page: each dining merchant's waitlist now (status, queue, every entry) and the merchant's actions."""

from __future__ import annotations

from flask import request

from ...domain.errors import InvalidRequest, NotFound
from ...domain.waitlist import ACTIONS, QUEUED
from ...recording import markers
from ...runtime import get_runtime
from .blueprint import back, bp, flash, render


@bp.route("/waitlist", methods=["GET"])
def waitlist():
    """Each merchant's waitlist at the sandbox clock: its status, the parties queued, and every entry's state."""
    runtime = get_runtime()
    service = runtime.bookings.waitlist
    inventory = runtime.bookings.inventory
    now = runtime.clock.now()
    chosen = request.args.get("merchant_id", "").strip()
    merchants = []
    for (merchant_id, service_id), offered in inventory.services.items():
        if not offered.waitlist or (chosen and merchant_id != chosen):
            continue
        merchant = inventory.merchants[merchant_id]
        status, merchant_open = service.status(merchant_id, service_id, now)
        rows = [
            {"entry": e, "state": e.state_at(now), "estimate": service.entry_estimate(e, now)}
            for e in service.entries(merchant_id)
            if e.service_id == service_id
        ]
        merchants.append(
            {
                "merchant": merchant,
                "service": offered,
                "status": status,
                "open": merchant_open,
                "queued": sum(row["state"] in QUEUED for row in rows),
                "rows": rows,
            }
        )
    return render("ui_waitlist.html", page="waitlist", merchants=merchants, actions=ACTIONS, now=now)


@bp.route("/waitlist/<entry_id>/<action>", methods=["POST"])
def waitlist_action(entry_id, action):
    """Move an entry now, as the merchant (or the user, for cancel) would."""
    if action not in ACTIONS:
        flash(f"no waitlist action {action!r}", "error")
        return back("dashboard.waitlist")
    try:
        entry = get_runtime().bookings.waitlist.act(entry_id, action)
    except (InvalidRequest, NotFound) as exc:
        flash(exc.message, "error")
    else:
        state = entry.state_at(get_runtime().clock.now())
        markers.mark(markers.WAITLIST_ACTION, markers.waitlist_action_detail(action, entry_id, state), "dashboard")
        flash(f"{entry_id} is now {state}.", "success")
    return back("dashboard.waitlist")
