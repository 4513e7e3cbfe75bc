"""Markers: journal lines for what changed the sandbox between exchanges (a reset, the clock, fault rules, ...).

A QA session that resets the sandbox, arms a fault or moves the clock cannot be understood, or replayed, from its
exchanges alone. Each such admin action (through /_admin or the dashboard) that succeeded is journalled as a marker
line, in order with the exchanges: `{"seq", "ts", "clock_sec", "marker": <kind>, "via", "detail"}`. The readers show
them (the listing, the dashboard, HAR's `_markers`) and a replay against a sandbox applies them (replay_target).
"""

from __future__ import annotations

RESET = "reset"
CLOCK = "clock"
FAULTS_ADDED = "faults_added"
FAULT_REMOVED = "fault_removed"
FAULTS_CLEARED = "faults_cleared"
SETTINGS = "settings"
STATE_RESTORED = "state_restored"
MERCHANT_ACTION = "merchant_action"
BOOKING_CANCELLED = "booking_cancelled"
WAITLIST_ACTION = "waitlist_action"
KINDS = (
    RESET,
    CLOCK,
    FAULTS_ADDED,
    FAULT_REMOVED,
    FAULTS_CLEARED,
    SETTINGS,
    STATE_RESTORED,
    MERCHANT_ACTION,
    BOOKING_CANCELLED,
    WAITLIST_ACTION,
)
FAULT_MARKERS = frozenset({FAULTS_ADDED, FAULT_REMOVED, FAULTS_CLEARED})
INDEX_RPC = "marker"  # what the listing's `method` filter matches a marker line by
# What a rule's description holds besides the request that made it (counters, times, where it came from).
_RULE_STATE = frozenset({"created_sec", "expires_at_sec", "fired", "remaining", "source", "retired"})


def is_marker(record: dict) -> bool:
    """A marker line's record (not an exchange)."""
    return isinstance(record.get("marker"), str)


def mark(kind: str, detail: dict, via: str = "api", recording=None) -> None:
    """Journal a marker in the current tenant's journal (or `recording`'s), when recording is on."""
    if recording is None:
        from . import get_state

        recording = get_state()
    recording.recorder.mark(kind, detail, via)


def merchant_action_detail(action: str, booking, body: dict) -> dict:
    """A merchant action marker's detail: the action (/_admin/bookings/{id}/<action>), its body, the status after."""
    return {"booking_id": booking.booking_id, "action": action, "body": body, "status": booking.status}


def waitlist_action_detail(action: str, entry_id: str, state: str) -> dict:
    """A waitlist action marker's detail: the action (/_admin/waitlist/{id}/<action>) and the entry's state after."""
    return {"waitlist_entry_id": entry_id, "action": action, "state": state}


def reset_detail(runtime, recordings_cleared: bool) -> dict:
    """A reset marker's detail: the day the slots are anchored to, the clock after it, whether the log was emptied."""
    return {"anchor_sec": runtime.anchor_sec, "clock": runtime.clock.state(), "recordings_cleared": recordings_cleared}


def rule_request(rule: dict) -> dict:
    """The POST /_admin/faults body that makes a rule again, from its description (counters and times left out)."""
    return {
        key: value
        for key, value in rule.items()
        if key not in _RULE_STATE and value is not None and not (key == "match" and not value)
    }


def summary(record: dict) -> str:
    """A marker in a few words, for the dashboard and the replay's report."""
    kind, detail = record.get("marker"), record.get("detail") or {}
    if kind == RESET:
        return "sandbox reset" + (", exchange log emptied" if detail.get("recordings_cleared") else "")
    if kind == CLOCK:
        clock = detail.get("clock") or {}
        state = "frozen" if clock.get("frozen") else "running"
        return f"clock {state} at {clock.get('now_sec')} (offset {clock.get('offset_sec')} s)"
    if kind == FAULTS_ADDED:
        rules = detail.get("rules") or []
        names = ", ".join(f"{r.get('id')} {r.get('kind')} on {r.get('method')}" for r in rules if isinstance(r, dict))
        scenario = f"scenario {detail['scenario']}: " if detail.get("scenario") else ""
        return f"fault rule{'s' if len(rules) != 1 else ''} armed: {scenario}{names}"
    if kind == FAULT_REMOVED:
        return f"fault rule {detail.get('rule_id')} removed"
    if kind == FAULTS_CLEARED:
        return f"fault rules cleared ({detail.get('removed')} removed)"
    if kind == SETTINGS:
        settings = detail.get("settings") or {}
        return f"settings: strict {settings.get('strict')}, response profile {settings.get('response_profile')}"
    if kind == STATE_RESTORED:
        counts = detail.get("counts") or {}
        return f"state restored from a document ({counts.get('bookings')} bookings)"
    if kind == MERCHANT_ACTION:
        body = detail.get("body") or {}
        said = ", ".join(f"{key} {value}" for key, value in body.items())
        action = f"{detail.get('action')} on {detail.get('booking_id')}" + (f" ({said})" if said else "")
        return f"{action}: {detail.get('status')}"
    if kind == WAITLIST_ACTION:
        return f"waitlist {detail.get('action')} on {detail.get('waitlist_entry_id')}: {detail.get('state')}"
    if kind == BOOKING_CANCELLED:
        return f"{detail.get('booking_id')} cancelled from the dashboard"
    return f"marker {kind}"
