"""Waitlist rules (Reservations Waitlists): wait estimates, entries and how the queue moves with the sandbox clock.

A dining service's `waitlist` rules come from the fixture (fixturegen.waitlist_rules): a status per time of day, the
party sizes served, a capacity, and a wait model per party size (walk-in parties ahead, minutes per table turn).

An entry is stored with the times its automatic course was planned at creation (confirmed, service ready, seated or
no-show) plus any explicit change (the user's cancel, an admin action); its state at any sandbox second is read from
those, so the queue moves with the clock without a background job, the same on every server and store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from .clock import SandboxClock
from .commits import until_committed
from .errors import InvalidRequest, NotFound
from .inventory import Inventory
from .models import Service, UserInformation

if TYPE_CHECKING:
    from .state import BookingState

# A service's waitlist rules as the fixture gives them (fixturegen.waitlist_rules documents the keys).
Rules = dict[str, Any]

# WaitlistStatus, WaitlistConfirmationMode, WaitlistEntryState, WaitlistBusinessLogicFailure.Cause: wire names.
OPEN, CLOSED_NO_WAIT, CLOSED_OTHER = "OPEN", "CLOSED_NO_WAIT", "CLOSED_OTHER"
WAITLIST_STATUSES = ("WAITLIST_STATUS_UNSPECIFIED", OPEN, CLOSED_NO_WAIT, CLOSED_OTHER)
SYNCHRONOUS = "WAITLIST_CONFIRMATION_MODE_SYNCHRONOUS"
ASYNCHRONOUS = "WAITLIST_CONFIRMATION_MODE_ASYNCHRONOUS"
CONFIRMATION_MODES = ("WAITLIST_CONFIRMATION_MODE_UNSPECIFIED", SYNCHRONOUS, ASYNCHRONOUS)
WAITING, CANCELED, SERVICE_READY, CHECKED_IN, SEATED, NO_SHOW = (
    "WAITING",
    "CANCELED",
    "SERVICE_READY",
    "CHECKED_IN",
    "SEATED",
    "NO_SHOW",
)
DECLINED_BY_MERCHANT, PENDING_MERCHANT_CONFIRMATION = "DECLINED_BY_MERCHANT", "PENDING_MERCHANT_CONFIRMATION"
ENTRY_STATES = (
    "WAITLIST_ENTRY_STATE_UNSPECIFIED",
    WAITING,
    CANCELED,
    SERVICE_READY,
    CHECKED_IN,
    SEATED,
    NO_SHOW,
    DECLINED_BY_MERCHANT,
    PENDING_MERCHANT_CONFIRMATION,
)
CAUSES = (
    "CAUSE_UNSPECIFIED",
    "EXISTING_WAITLIST_ENTRY",
    "BELOW_MIN_PARTY_SIZE",
    "ABOVE_MAX_PARTY_SIZE",
    "MERCHANT_CLOSED",
    "NO_WAIT",
    "WAITLIST_FULL",
    "PHONE_NUMBER_COUNTRY_UNSUPPORTED",
    "WAITLIST_CLOSED",
)
QUEUED = frozenset({WAITING, PENDING_MERCHANT_CONFIRMATION})  # in the queue, ahead of later parties
LIVE = QUEUED | {SERVICE_READY, CHECKED_IN}  # the user's entry is not over yet (EXISTING_WAITLIST_ENTRY)
# The times field of each state in WaitlistEntryStateTimes (created_time_seconds is the entry's creation).
STATE_TIME_FIELDS = {
    CANCELED: "canceled_time_seconds",
    SERVICE_READY: "service_readied_time_seconds",
    CHECKED_IN: "checked_in_time_seconds",
    SEATED: "seated_time_seconds",
    NO_SHOW: "marked_no_show_time_seconds",
}
# Admin actions (POST /_admin/waitlist/<id>/<action>): the state each moves an entry to, and the states it may leave.
ACTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "confirm": (WAITING, frozenset({PENDING_MERCHANT_CONFIRMATION})),
    "decline": (DECLINED_BY_MERCHANT, frozenset({PENDING_MERCHANT_CONFIRMATION})),
    "ready": (SERVICE_READY, QUEUED),
    "check_in": (CHECKED_IN, frozenset({SERVICE_READY})),
    "seat": (SEATED, frozenset({SERVICE_READY, CHECKED_IN})),
    "no_show": (NO_SHOW, frozenset({SERVICE_READY, CHECKED_IN})),
    "cancel": (CANCELED, LIVE),
}
RETENTION_SEC = 30 * 86400  # Google polls an entry for up to 30 days after its creation
T = TypeVar("T")


class WaitlistFailed(Exception):
    """A waitlist business failure: CreateWaitlistEntry answers HTTP 200 with `waitlist_business_logic_failure`."""

    def __init__(self, cause: str, description: str):
        super().__init__(f"{cause}: {description}")
        self.cause = cause
        self.description = description


@dataclass(slots=True)
class WaitlistEntry:
    """One party in a merchant's waitlist, with its planned course (see the module docstring)."""

    entry_id: str
    merchant_id: str
    service_id: str
    party_size: int
    user: UserInformation
    created_sec: int
    confirmation_mode: str
    confirm_sec: int  # asynchronous: when the merchant confirms on its own (0: synchronous)
    ready_sec: int  # when the merchant is ready to serve the party
    turn_sec: int  # the wait model's seconds per table turn, at creation
    walk_ins_ahead: int  # walk-in parties ahead at creation (one is seated per turn)
    outcome: str  # SEATED or NO_SHOW: how the party's visit ends on its own
    settle_sec: int  # seconds after ready_sec that outcome lands
    additional_request: str = ""
    idempotency_token: str = ""
    events: list[tuple[str, int]] = field(default_factory=list)  # explicit changes, in order: (state, second)
    # The moves up to this second were told to Google (or were the client's own): kept with the entry, so the
    # store's compare-and-set lets one server, once, tell each move (0: none past its creation yet).
    notified_sec: int = 0

    def timeline(self) -> list[tuple[str, int]]:
        """Every (state, second) of the entry's course: planned, cut at the first explicit change, then those."""
        planned = [(PENDING_MERCHANT_CONFIRMATION if self.confirm_sec else WAITING, self.created_sec)]
        if self.confirm_sec:
            planned.append((WAITING, self.confirm_sec))
        planned += [(SERVICE_READY, self.ready_sec), (self.outcome, self.ready_sec + self.settle_sec)]
        if not self.events:
            return planned
        first = self.events[0][1]
        return [planned[0]] + [step for step in planned[1:] if step[1] < first] + list(self.events)

    def state_at(self, now: int) -> str:
        """The entry's state at sandbox second `now`."""
        state = WAITING
        for step, sec in self.timeline():
            if sec > now:
                break
            state = step
        return state

    def state_times(self, now: int) -> dict[str, str]:
        """WaitlistEntryStateTimes at `now`: each state's time once reached (int64 as strings)."""
        out = {"created_time_seconds": str(self.created_sec)}
        for step, sec in self.timeline():
            name = STATE_TIME_FIELDS.get(step)
            if sec <= now and name is not None and name not in out:
                out[name] = str(sec)
        return out


@dataclass(slots=True)
class WaitlistRecord:
    """The first successful CreateWaitlistEntry of an idempotency token: its payload digest and its entry."""

    fingerprint: str
    entry_id: str


@dataclass(slots=True, frozen=True)
class WaitlistChange:
    """One entry's move from `before` (None: new) to `after`; a new entry's token, digest and the count of entries
    the rules read (a shared store refuses the change when another entry was made meanwhile: decide again)."""

    before: WaitlistEntry | None
    after: WaitlistEntry
    token: str = ""
    fingerprint: str = ""
    seen: int = 0


@dataclass(slots=True)
class Estimate:
    """A WaitEstimate for one party size at one moment."""

    party_size: int
    parties_ahead: int
    ready_sec: int
    turn_sec: int  # 0: no wait (the wire's empty wait_length)
    confirmation_mode: str


# ---- the rules of a service's waitlist (the fixture's `waitlist` object) ----


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def local_minute(now: int, timezone: str) -> int:
    """Minutes since local midnight at `now` in the zone (past the calendar's year 9999, the UTC minute: the clock
    may be set that far, and the sandbox must still answer)."""
    try:
        local = dt.datetime.fromtimestamp(now, _zone(timezone))
    except (ValueError, OverflowError, OSError):
        return now // 60 % 1440
    return local.hour * 60 + local.minute


def _within(periods: list[dict[str, str]], minute: int) -> dict[str, str] | None:
    return next((p for p in periods if _minutes(p["from"]) <= minute < _minutes(p["to"])), None)


def status_at(rules: Rules, business_hours: list[dict[str, str]], timezone: str, now: int) -> tuple[str, bool]:
    """(WaitlistStatus, whether the merchant itself is open) at `now`: the schedule's period, CLOSED_OTHER outside
    every period; the merchant is open within its business hours."""
    minute = local_minute(now, timezone)
    hours = [{"from": h["open"], "to": h["close"]} for h in business_hours]
    merchant_open = _within(hours, minute) is not None
    period = _within(rules["schedule"], minute)
    status = period["status"] if period is not None and merchant_open else CLOSED_OTHER
    return status, merchant_open


def model_for(rules: Rules, party_size: int) -> dict[str, int] | None:
    """The wait model of a party size (None: the waitlist does not seat it)."""
    return next((m for m in rules["wait_model"] if m["party_size"] == party_size), None)


def phone_supported(rules: Rules, telephone: str) -> bool:
    """Whether the telephone's country calling code is one the merchant texts (a number without + is local)."""
    text = telephone.strip()
    if not text.startswith("+"):
        return True
    digits = "".join(ch for ch in text if ch.isdigit())
    return any(digits.startswith(code) for code in rules["phone_country_codes"])


class WaitlistService:
    """The waitlist rules over the tenant's state (domain/state.py keeps the entries with the bookings)."""

    def __init__(self, inventory: Inventory, clock: SandboxClock, state: BookingState):
        self.inventory = inventory
        self.clock = clock
        self.state = state
        # Told of the moves of an entry the client did not make itself: (entry, [(state, second), ...]) -> None.
        # The runtime hooks the notifier (mock_server/notify) here each time it builds the service.
        self.on_change: Callable[[WaitlistEntry, list[tuple[str, int]]], None] | None = None

    # ---- reads ----

    def rules(self, merchant_id: str, service_id: str) -> tuple[Service, Rules]:
        """The service and its waitlist rules; InvalidRequest (400) for an unknown one or one without a waitlist."""
        service = self.inventory.service(merchant_id, service_id)
        rules = service.waitlist
        if not rules:
            raise InvalidRequest(
                f"service {service_id!r} of merchant {merchant_id!r} has no waitlist (dining services do)",
                field="service_id",
            )
        return service, rules

    def status(self, merchant_id: str, service_id: str, now: int | None = None) -> tuple[str, bool]:
        """The waitlist's status at `now` (default: the sandbox clock) and whether the merchant is open."""
        merchant = self.inventory.merchant(merchant_id)
        _, rules = self.rules(merchant_id, service_id)
        at = self.clock.now() if now is None else now
        return status_at(rules, merchant.business_hours, merchant.timezone, at)

    def estimates(self, merchant_id: str, service_id: str, party_sizes: list[int]) -> tuple[str, list[Estimate]]:
        """BatchGetWaitEstimates: the status, and (OPEN only) one estimate per party size the waitlist seats."""
        status, _ = self.status(merchant_id, service_id)
        if status != OPEN:
            return status, []
        _, rules = self.rules(merchant_id, service_id)
        now = self.clock.now()
        queue = self.queue(merchant_id, service_id, now)
        out = []
        for size in party_sizes:
            estimate = self._estimate(rules, queue, size, now)
            if estimate is not None:
                out.append(estimate)
        return status, out

    def queue(self, merchant_id: str, service_id: str, now: int) -> list[WaitlistEntry]:
        """The entries still queued (waiting, or pending the merchant) at `now`, by their ready time."""
        mine = [
            e
            for e in self.state.waitlist_entries()
            if e.merchant_id == merchant_id and e.service_id == service_id and e.state_at(now) in QUEUED
        ]
        return sorted(mine, key=lambda e: (e.ready_sec, e.entry_id))

    def entries(self, merchant_id: str | None = None) -> list[WaitlistEntry]:
        """Every entry (of a merchant), by id."""
        found = [e for e in self.state.waitlist_entries() if merchant_id is None or e.merchant_id == merchant_id]
        return sorted(found, key=lambda e: e.entry_id)

    def get(self, entry_id: str) -> WaitlistEntry:
        """The entry; NotFound (404) when unknown or older than the 30 days Google may poll it for."""
        entry = self.state.waitlist_entry(entry_id)
        if entry is None or self.clock.now() - entry.created_sec > RETENTION_SEC:
            raise NotFound(f"unknown waitlist_entry_id {entry_id!r}")
        return entry

    def entry_estimate(self, entry: WaitlistEntry, now: int) -> Estimate:
        """The entry's current WaitEstimate: parties still ahead of it and its seat time (none once served)."""
        if entry.state_at(now) not in QUEUED:
            return Estimate(entry.party_size, 0, now, 0, entry.confirmation_mode)
        _, rules = self.rules(entry.merchant_id, entry.service_id)
        bucket = _bucket(rules, entry.party_size)
        ahead = sum(
            1
            for other in self.queue(entry.merchant_id, entry.service_id, now)
            if _bucket(rules, other.party_size) == bucket
            and (other.ready_sec, other.entry_id) < (entry.ready_sec, entry.entry_id)
        )
        walk_ins = max(0, entry.walk_ins_ahead - (now - entry.created_sec) // max(entry.turn_sec, 1))
        return Estimate(
            entry.party_size, ahead + walk_ins, max(entry.ready_sec, now), entry.turn_sec, entry.confirmation_mode
        )

    # ---- changes ----

    def create(self, request: dict[str, Any], token: str) -> tuple[WaitlistEntry, bool, list[str]]:
        """CreateWaitlistEntry: (the entry, whether it answers an earlier request with this token, warnings);
        WaitlistFailed for a business failure (checked in the order a host would: open, party size, phone, the
        user, the room)."""
        merchant_id, service_id, size = request["merchant_id"], request["service_id"], request["party_size"]
        user: UserInformation = request["user_information"]
        fingerprint = json.dumps([merchant_id, service_id, size, repr(user), request.get("additional_request", "")])

        def decide() -> tuple[WaitlistEntry, bool, list[str]] | None:
            record = self.state.waitlist_record(token)
            if record is not None:
                entry = self.state.waitlist_entry(record.entry_id)
                if entry is not None:
                    warnings = []
                    if record.fingerprint != fingerprint:
                        warnings.append("idempotency_token reused with a different payload; original entry returned")
                    return entry, True, warnings
            try:
                return join()
            except WaitlistFailed:
                # A retry of this token, served by another thread or process, may have made the entry since it was
                # read (its own entry is then the user's EXISTING_WAITLIST_ENTRY): answer that entry, decide again.
                if self.state.waitlist_record(token) is not None:
                    return None
                raise

        def join() -> tuple[WaitlistEntry, bool, list[str]] | None:
            merchant = self.inventory.merchant(merchant_id)
            _, rules = self.rules(merchant_id, service_id)
            now = self.clock.now()
            status, merchant_open = status_at(rules, merchant.business_hours, merchant.timezone, now)
            if not merchant_open:
                raise WaitlistFailed("MERCHANT_CLOSED", "the merchant is closed now")
            if status == CLOSED_NO_WAIT:
                raise WaitlistFailed("NO_WAIT", "there is no wait now: walk in")
            if status != OPEN:
                raise WaitlistFailed("WAITLIST_CLOSED", "the waitlist has closed for new parties")
            if size < rules["min_party_size"]:
                raise WaitlistFailed("BELOW_MIN_PARTY_SIZE", f"the smallest party is {rules['min_party_size']}")
            if size > rules["max_party_size"]:
                raise WaitlistFailed("ABOVE_MAX_PARTY_SIZE", f"the largest party is {rules['max_party_size']}")
            if not phone_supported(rules, user.telephone):
                codes = ", ".join(f"+{c}" for c in rules["phone_country_codes"])
                raise WaitlistFailed("PHONE_NUMBER_COUNTRY_UNSUPPORTED", f"the merchant texts {codes} numbers only")
            every = self.state.waitlist_entries()
            if any(e.user.user_id == user.user_id and e.state_at(now) in LIVE for e in every):
                raise WaitlistFailed("EXISTING_WAITLIST_ENTRY", "the user already has an entry in a waitlist")
            queue = self.queue(merchant_id, service_id, now)
            if len(queue) >= rules["capacity"]:
                raise WaitlistFailed("WAITLIST_FULL", f"the waitlist holds {rules['capacity']} parties")
            estimate = self._estimate(rules, queue, size, now)
            if estimate is None:  # a size between min and max the model has no tables for
                raise WaitlistFailed("ABOVE_MAX_PARTY_SIZE", f"no table seats a party of {size}")
            model = model_for(rules, size) or {}
            confirm = (
                now + int(rules.get("confirm_after_sec") or 0) if rules["confirmation_mode"] == ASYNCHRONOUS else 0
            )
            no_show_every = int(rules["no_show_every"])
            # Every n-th entry of the tenant does not show up (the entry number decides: a rerun gives the same).
            no_show = no_show_every > 0 and (len(every) + 1) % no_show_every == 0
            entry = WaitlistEntry(
                entry_id="",
                merchant_id=merchant_id,
                service_id=service_id,
                party_size=size,
                user=user,
                created_sec=now,
                confirmation_mode=str(rules["confirmation_mode"]),
                confirm_sec=confirm,
                ready_sec=max(estimate.ready_sec, confirm),
                turn_sec=estimate.turn_sec,
                walk_ins_ahead=int(model.get("walk_ins_ahead", 0)),
                outcome=NO_SHOW if no_show else SEATED,
                settle_sec=int(rules["no_show_after_sec" if no_show else "seat_after_sec"]),
                additional_request=request.get("additional_request", ""),
                idempotency_token=token,
            )
            made = self.state.commit_waitlist(WaitlistChange(None, entry, token, fingerprint, len(every)))
            return None if made is None else (made, False, [])

        return self._until_committed(decide)  # the client's own change: nothing to notify

    def cancel(self, entry_id: str) -> WaitlistEntry:
        """DeleteWaitlistEntry: the user leaves the waitlist (CANCELED); an entry already over stays as it is."""
        return self.act(entry_id, "cancel", by_client=True)

    def act(self, entry_id: str, action: str, by_client: bool = False) -> WaitlistEntry:
        """Move the entry by an admin action (ACTIONS) now; InvalidRequest when its state does not allow it.
        on_change hears of the move and of the clock's moves before it not told yet; `by_client` (the user's
        DeleteWaitlistEntry): the move itself is not told, and an entry already over is left as it is."""
        target, allowed = ACTIONS[action]

        def decide() -> tuple[WaitlistEntry, list[tuple[str, int]]] | None:
            entry = self.get(entry_id)
            now = self.clock.now()
            current = entry.state_at(now)
            if current not in allowed:
                if by_client:
                    return entry, []
                raise InvalidRequest(f"waitlist entry {entry_id} is {current}: {action} applies to {sorted(allowed)}")
            move = (target, max(now, entry.created_sec))
            after = dataclasses.replace(
                entry, events=[*entry.events, move], notified_sec=max(entry.notified_sec, move[1])
            )
            # The clock's moves before this one (on the new course), then this one unless the client made it.
            before = unnotified(dataclasses.replace(after, notified_sec=entry.notified_sec), now)
            due = [step for step in before if step != move] + ([] if by_client else [move])
            made = self.state.commit_waitlist(WaitlistChange(entry, after))
            return None if made is None else (made, due)

        entry, due = self._until_committed(decide)
        self._tell(entry, due)
        return entry

    def notify_moves(self) -> int:
        """Tell on_change of the moves the sandbox clock made that nobody told yet, up to now (called when the clock
        is changed through /_admin/clock); how many. Each entry's `notified_sec` is moved first, through the store's
        compare-and-set: of several servers (or a clock set back and forward again), one tells each move, once."""
        if self.on_change is None:
            return 0
        told = 0
        # Only the entries with a move due are read again and changed: the rest (most, once over) cost nothing more.
        now = self.clock.now()
        for entry_id in sorted(e.entry_id for e in self.state.waitlist_entries() if unnotified(e, now)):

            def decide(entry_id: str = entry_id) -> tuple[WaitlistEntry | None, list[tuple[str, int]]] | None:
                entry = self.state.waitlist_entry(entry_id)
                now = self.clock.now()
                due = unnotified(entry, now) if entry is not None else []
                if entry is None or not due:
                    return entry, []
                made = self.state.commit_waitlist(WaitlistChange(entry, dataclasses.replace(entry, notified_sec=now)))
                return None if made is None else (made, due)

            entry, due = self._until_committed(decide)
            if entry is not None and due:
                self._tell(entry, due)
                told += len(due)
        return told

    # ---- internals ----

    def _estimate(self, rules: Rules, queue: list[WaitlistEntry], size: int, now: int) -> Estimate | None:
        """The wait a new party of `size` faces now: the walk-ins of its model plus the queued parties sharing its
        table size; None when the waitlist does not seat that size."""
        if not rules["min_party_size"] <= size <= rules["max_party_size"]:
            return None
        model = model_for(rules, size)
        if model is None:
            return None
        bucket = model["table_size"]
        mine = [e for e in queue if _bucket(rules, e.party_size) == bucket]
        turn = int(model["turn_sec"])
        walk_ins = int(model["walk_ins_ahead"])
        ready = now + walk_ins * turn
        if mine:
            ready = max(ready, max(e.ready_sec for e in mine) + turn)
        mode = str(rules["confirmation_mode"])
        if not walk_ins and not mine:
            return Estimate(size, 0, now, 0, mode)  # no wait: a table is free now
        return Estimate(size, walk_ins + len(mine), ready, turn, mode)

    def _until_committed(self, decide: Callable[[], T | None]) -> T:
        return until_committed(self.state.lock, decide)

    def _tell(self, entry: WaitlistEntry, moves: list[tuple[str, int]]) -> None:
        if self.on_change is not None and moves:
            self.on_change(entry, moves)


def _bucket(rules: Rules, party_size: int) -> int:
    """The table size that seats a party (parties queue per table size)."""
    model = model_for(rules, party_size)
    return int(model["table_size"]) if model is not None else party_size


def changed_since(entry: WaitlistEntry, since: int, now: int) -> list[tuple[str, int]]:
    """The states the entry reached in (since, now], in order."""
    return [(state, sec) for state, sec in entry.timeline() if since < sec <= now]


def unnotified(entry: WaitlistEntry, now: int) -> list[tuple[str, int]]:
    """The moves up to `now` not told yet (never its creation: the client made that)."""
    return changed_since(entry, max(entry.notified_sec, entry.created_sec), now)
