"""Markers in a replay against a sandbox: each admin action of the session, made again through the target's /_admin."""

from __future__ import annotations

import time
import urllib.error
from dataclasses import dataclass
from urllib.parse import quote

from . import markers

# Endpoints every rwg-sandbox has: a 404 from one of them means the target is no sandbox (a real booking server).
_ALWAYS_THERE = frozenset(
    {markers.RESET, markers.CLOCK, markers.SETTINGS, markers.FAULTS_ADDED, markers.FAULTS_CLEARED}
)
NOT_REPRODUCIBLE = {
    markers.STATE_RESTORED: "the restored document is not in the journal: restore it on the target yourself",
    markers.BOOKING_CANCELLED: "the dashboard's cancel has no admin API call",
}


class AdminError(RuntimeError):
    """The target's /_admin refused a call."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class MarkerOutcome:
    """What a replay did with one marker."""

    seq: int
    kind: str
    summary: str
    applied: bool
    note: str = ""  # why it was not applied, or a warning about it


class MarkerPlayer:
    """Makes a recording's markers again on the target, in order; or only reports them (`apply` False)."""

    def __init__(self, target, id_map: dict[str, str], apply: bool = True, skip_faulted: bool = False):
        self.target = target
        self.id_map = id_map
        self.apply = apply
        self.skip_faulted = skip_faulted

    def play(self, record: dict) -> MarkerOutcome:
        """Apply one marker record; never raises (a failure is the outcome's note)."""
        kind = str(record.get("marker"))
        outcome = MarkerOutcome(record.get("seq", 0), kind, markers.summary(record), False)
        if not self.apply:
            outcome.note = "reported only"
        elif kind in NOT_REPRODUCIBLE:
            outcome.note = f"not reproducible: {NOT_REPRODUCIBLE[kind]}"
        elif self.skip_faulted and kind in markers.FAULT_MARKERS:
            outcome.note = "skipped (--skip-faulted)"
        else:
            try:
                outcome.note = self._apply(kind, record.get("detail") or {})
                outcome.applied = True
            except AdminError as exc:
                outcome.note = str(exc)
                if exc.status == 404 and kind in _ALWAYS_THERE:
                    self.apply = False
                    outcome.note += "; the target has no sandbox /_admin API: later markers are reported only"
            except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError) as exc:
                outcome.note = f"could not apply: {exc}"
        return outcome

    def _apply(self, kind: str, detail: dict) -> str:
        """Make one admin action again; a warning, or ''."""
        admin = self.target.admin
        if kind == markers.RESET:
            health = admin("POST", "/_admin/reset")
            self.id_map.clear()  # both numberings start again
            return anchor_warning(detail.get("anchor_sec"), health.get("anchor_sec"))
        if kind == markers.CLOCK:
            clock = detail["clock"]
            if clock["frozen"]:
                admin("POST", "/_admin/clock", {"freeze_at_sec": clock["now_sec"]})
            else:  # running: as far ahead of the wall clock as it was (the wall clock has moved on since)
                state = admin("POST", "/_admin/clock", {})
                if state.get("offset_sec") != clock["offset_sec"]:
                    admin("POST", "/_admin/clock", {"advance_sec": clock["offset_sec"] - state["offset_sec"]})
            return ""
        if kind == markers.FAULTS_ADDED:
            for rule in detail["rules"]:
                admin("POST", "/_admin/faults", markers.rule_request(rule))
            return ""
        if kind == markers.FAULT_REMOVED:
            admin("DELETE", f"/_admin/faults/{quote(str(detail['rule_id']), safe='')}")
            return ""
        if kind == markers.FAULTS_CLEARED:
            admin("DELETE", "/_admin/faults")
            return ""
        if kind == markers.SETTINGS:
            admin("PATCH", "/_admin/settings", detail["settings"])
            return ""
        if kind == markers.MERCHANT_ACTION:
            booking_id = self.id_map.get(detail["booking_id"], detail["booking_id"])
            path = f"/_admin/bookings/{quote(str(booking_id), safe='')}/{quote(str(detail['action']), safe='')}"
            admin("POST", path, detail.get("body") or {})
            return ""
        if kind == markers.WAITLIST_ACTION:
            entry_id = self.id_map.get(detail["waitlist_entry_id"], detail["waitlist_entry_id"])
            path = f"/_admin/waitlist/{quote(str(entry_id), safe='')}/{quote(str(detail['action']), safe='')}"
            admin("POST", path, {})
            return ""
        raise ValueError(f"unknown marker kind {kind!r}")


def anchor_warning(recorded: object, anchor: object) -> str:
    """A warning when the target's slots sit on another day than the recording's (then slot answers differ)."""
    if not isinstance(recorded, int) or not isinstance(anchor, int) or recorded // 86400 == anchor // 86400:
        return ""
    day = time.strftime("%Y-%m-%d", time.gmtime(recorded))
    return (
        f"the recording was made on sandbox day {day} but the target's slots are anchored to "
        f"{time.strftime('%Y-%m-%d', time.gmtime(anchor))}: answers about slots will differ; start the "
        f"target with MOCK_CLOCK={recorded} to replay against the same inventory"
    )
