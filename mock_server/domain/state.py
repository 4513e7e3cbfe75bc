"""Where booking state lives: the rules (BookingService) read it, decide, and hand it one change to apply whole.

A change is a booking before and after (for a new booking, no before, and its idempotency token). What it does to the
spots taken and to the user's holds follows from the two (`Change.take`, `Change.free`, ...), so every state applies
the same rules' decision the same way. A state refuses a change (commit answers None) when what the rules read is no
longer so: another process booked the last spot, used the token, or changed the booking first. The rules then read
and decide again. The in-memory state never refuses: BookingService holds its lock around read, decide and commit.
A shared store (storage/redis_store.py) checks instead, in one atomic script.

The same state keeps each user's marketing preference (SetMarketingPreference): one value per user, set whole, so a
tenant's reset forgets it with the bookings; and the waitlist entries (domain/waitlist.py), each changed whole.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from .models import Booking, MarketingPreference, Slot
from .waitlist import WaitlistChange, WaitlistEntry, WaitlistRecord

# (user_id, merchant_id, service_id, start_sec): one user's claim on one start of one service.
UserSlotKey = tuple[str, str, str, int]


@dataclass(slots=True)
class IdempotencyRecord:
    """The first successful answer to a token, and the payload it answered."""

    fingerprint: str
    booking: Booking


@dataclass(slots=True)
class StateContent:
    """A tenant's booking state whole, as a state snapshot saves it (GET /_admin/state): the spots taken and the
    users' claims follow from the bookings."""

    bookings: list[Booking]  # by booking id
    tokens: dict[str, IdempotencyRecord]
    next_seq: int  # the number the next booking id takes
    preferences: list[MarketingPreference]  # by user id
    waitlist: list[WaitlistEntry] = dataclasses.field(default_factory=list)  # by entry id
    waitlist_tokens: dict[str, WaitlistRecord] = dataclasses.field(default_factory=dict)


class BookingListener:
    """Receives every change before it is made (persistence implements this); the default does nothing."""

    def commit(self, booking: Booking, token: str | None = None, record: IdempotencyRecord | None = None) -> None:
        """Make this change durable (a booking's new state, and the token that answers it), or raise.

        Called before memory changes: if it raises (StoreFailed), the change is not made.
        """

    def marketing(self, preference: MarketingPreference) -> None:
        """Make a user's new marketing preference durable, or raise (as commit does)."""

    def waitlist(self, entry: WaitlistEntry, token: str = "", record: WaitlistRecord | None = None) -> None:
        """Make a waitlist entry's new state durable (a new one's with the token that made it), or raise."""


def user_slot_key(booking: Booking) -> UserSlotKey:
    """The user's claim a booking makes while active."""
    s = booking.slot
    return (booking.user.user_id, s.merchant_id, s.service_id, s.start_sec)


def _holding(booking: Booking | None) -> Slot | None:
    return booking.held if booking is not None and booking.is_active else None


@dataclass(slots=True, frozen=True)
class Change:
    """One booking's move from `before` (None: it is new) to `after`; a new booking's token and payload digest."""

    before: Booking | None
    after: Booking
    token: str = ""
    fingerprint: str = ""

    @property
    def take(self) -> Slot | None:
        """The inventory entry a spot is taken from (None: none)."""
        held, was = _holding(self.after), _holding(self.before)
        return held if held is not None and held is not was else None

    @property
    def free(self) -> Slot | None:
        """The inventory entry a spot goes back to (None: none)."""
        held, was = _holding(self.after), _holding(self.before)
        return was if was is not None and was is not held else None

    @property
    def claim(self) -> UserSlotKey | None:
        """The user's claim this change makes anew (a state refuses it when the user holds it already)."""
        if not self.after.is_active:
            return None
        key = user_slot_key(self.after)
        if self.before is not None and self.before.is_active and user_slot_key(self.before) == key:
            return None
        return key


class BookingState(Protocol):
    """What BookingService needs of the place its state lives (see the module docstring)."""

    listener: BookingListener  # told of every change before it is made; may refuse it (StoreFailed)

    @property
    def lock(self) -> AbstractContextManager[object]:
        """Held by the rules around read, decide, commit."""
        ...

    def spots_taken(self, slots: Iterable[Slot]) -> Mapping[Slot, int]:
        """Spots held of these entries (an entry absent: none); may answer for more entries than asked."""
        ...

    def record(self, token: str) -> IdempotencyRecord | None:
        """The answer a successful CreateBooking with this token gave."""
        ...

    def booking(self, booking_id: str) -> Booking | None:
        """The booking as stored (the caller copies before handing it out)."""
        ...

    def holds(self, key: UserSlotKey) -> bool:
        """Whether the user has an active booking on that start of that service."""
        ...

    def user_bookings(self, user_id: str) -> list[Booking]:
        """Every booking of the user, in any status."""
        ...

    def all_bookings(self) -> list[Booking]:
        """Every booking, oldest first."""
        ...

    def counts(self) -> dict[str, int]:
        """{"bookings": n, "active_bookings": m}."""
        ...

    def commit(self, change: Change) -> Booking | None:
        """Apply the change whole and answer the booking as stored (a new one gets its id), or None: re-decide."""
        ...

    def marketing_preferences(self) -> list[MarketingPreference]:
        """Every user's marketing preference, in no particular order."""
        ...

    def content(self) -> StateContent:
        """The whole state at one moment (what a state snapshot saves)."""
        ...

    def set_marketing_preference(self, preference: MarketingPreference) -> None:
        """Keep the user's preference in place of any earlier one (StoreFailed: it was not kept)."""
        ...

    def waitlist_entries(self) -> list[WaitlistEntry]:
        """Every waitlist entry, in no particular order."""
        ...

    def waitlist_entry(self, entry_id: str) -> WaitlistEntry | None:
        """The waitlist entry as stored."""
        ...

    def waitlist_record(self, token: str) -> WaitlistRecord | None:
        """The entry a successful CreateWaitlistEntry with this token made."""
        ...

    def commit_waitlist(self, change: WaitlistChange) -> WaitlistEntry | None:
        """Keep the entry's change (a new one gets its id) and answer it as stored, or None: re-decide."""
        ...


class MemoryState:
    """Booking state in this process's memory: dicts and indexes, one re-entrant lock; never refuses a change."""

    def __init__(self, next_seq: int = 1, listener: BookingListener | None = None):
        self.lock = threading.RLock()  # re-entrant: the persistence listener may snapshot under it
        self.listener = listener or BookingListener()
        self._bookings: dict[str, Booking] = {}
        self._tokens: dict[str, IdempotencyRecord] = {}
        self._by_user: dict[str, dict[str, Booking]] = {}
        self._claims: dict[UserSlotKey, set[str]] = {}  # active bookings of a user on one start
        self._taken: dict[Slot, int] = {}  # inventory entry -> spots held by active bookings (absent: none)
        self._marketing: dict[str, MarketingPreference] = {}  # user id -> the user's last preference
        self._waitlist: dict[str, WaitlistEntry] = {}
        self._waitlist_tokens: dict[str, WaitlistRecord] = {}
        self.next_seq = next_seq

    def spots_taken(self, slots: Iterable[Slot]) -> Mapping[Slot, int]:
        """The live map itself: asking costs nothing, whatever the slots."""
        return self._taken

    def record(self, token: str) -> IdempotencyRecord | None:
        """The answer a token gave."""
        return self._tokens.get(token)

    def booking(self, booking_id: str) -> Booking | None:
        """The stored booking."""
        return self._bookings.get(booking_id)

    def holds(self, key: UserSlotKey) -> bool:
        """Whether the user holds that start."""
        return bool(self._claims.get(key))

    def user_bookings(self, user_id: str) -> list[Booking]:
        """The user's bookings."""
        return list(self._by_user.get(user_id, {}).values())

    def all_bookings(self) -> list[Booking]:
        """Every booking, oldest first."""
        return list(self._bookings.values())

    def counts(self) -> dict[str, int]:
        """Booking counts."""
        bookings = list(self._bookings.values())
        return {"bookings": len(bookings), "active_bookings": sum(b.is_active for b in bookings)}

    def tokens(self) -> dict[str, IdempotencyRecord]:
        """A copy of the idempotency table (for snapshots)."""
        return dict(self._tokens)

    def commit(self, change: Change) -> Booking:
        """Write ahead to the listener, then apply (the caller holds the lock: nothing can have moved)."""
        after = change.after
        record = None
        if change.before is None:
            after = dataclasses.replace(after, booking_id=f"B{self.next_seq:07d}")
            record = IdempotencyRecord(change.fingerprint, dataclasses.replace(after))
            # One record carries the booking and its token: both are kept, or neither.
            self.listener.commit(after, change.token, record)
            self.next_seq += 1
        else:
            self.listener.commit(dataclasses.replace(after))
        self._apply(change.before, after, change.take, change.free)
        if record is not None:
            self._tokens[change.token] = record
        return after

    def marketing_preferences(self) -> list[MarketingPreference]:
        """Every user's preference."""
        return list(self._marketing.values())

    def set_marketing_preference(self, preference: MarketingPreference) -> None:
        """Write ahead to the listener, then keep it (the caller holds the lock)."""
        self.listener.marketing(preference)
        self._marketing[preference.user.user_id] = preference

    def waitlist_entries(self) -> list[WaitlistEntry]:
        """Every waitlist entry."""
        return list(self._waitlist.values())

    def waitlist_entry(self, entry_id: str) -> WaitlistEntry | None:
        """The stored entry."""
        return self._waitlist.get(entry_id)

    def waitlist_record(self, token: str) -> WaitlistRecord | None:
        """The entry a token made."""
        return self._waitlist_tokens.get(token)

    def commit_waitlist(self, change: WaitlistChange) -> WaitlistEntry:
        """Keep the change (the caller holds the lock: nothing can have moved); a new entry is numbered W0000001..."""
        after = change.after
        record = None
        if change.before is None:
            after = dataclasses.replace(after, entry_id=f"W{len(self._waitlist) + 1:07d}")
            if change.token:
                record = WaitlistRecord(change.fingerprint, after.entry_id)
        # Written ahead, the entry with its token: both are kept, or neither.
        self.listener.waitlist(after, change.token if record is not None else "", record)
        if record is not None:
            self._waitlist_tokens[change.token] = record
        self._waitlist[after.entry_id] = after
        return after

    def content(self) -> StateContent:
        """The whole state, read under the lock."""
        with self.lock:
            return StateContent(
                sorted(self._bookings.values(), key=lambda b: b.booking_id),
                dict(sorted(self._tokens.items())),
                self.next_seq,
                sorted(self._marketing.values(), key=lambda p: p.user.user_id),
                sorted(self._waitlist.values(), key=lambda e: e.entry_id),
                dict(sorted(self._waitlist_tokens.items())),
            )

    def held(self) -> tuple[dict[Slot, int], dict[UserSlotKey, int]]:
        """The spots taken per inventory entry and the active bookings per user claim (a shared store's restore
        copies them: they are derived here, once, from the bookings)."""
        with self.lock:
            return dict(self._taken), {key: len(ids) for key, ids in self._claims.items()}

    def restore(
        self,
        bookings: list[Booking],
        tokens: dict[str, IdempotencyRecord],
        next_seq: int,
        preferences: Iterable[MarketingPreference] = (),
        waitlist: Iterable[WaitlistEntry] = (),
        waitlist_tokens: Mapping[str, WaitlistRecord] | None = None,
    ) -> None:
        """Load persisted state (bookings, tokens, preferences, waitlist entries and their tokens); spots held by
        active bookings are taken again."""
        with self.lock:
            for booking in bookings:
                self._apply(None, booking, _holding(booking), None)
            self._tokens.update(tokens)
            self.next_seq = max(self.next_seq, next_seq)
            self._marketing.update((p.user.user_id, p) for p in preferences)
            self._waitlist.update((e.entry_id, e) for e in waitlist)
            self._waitlist_tokens.update(waitlist_tokens or {})

    def _apply(self, before: Booking | None, after: Booking, take: Slot | None, free: Slot | None) -> None:
        booking_id = after.booking_id
        self._bookings[booking_id] = after
        self._by_user.setdefault(after.user.user_id, {})[booking_id] = after
        if before is not None and before.is_active:
            key = user_slot_key(before)
            holders = self._claims.get(key)
            if holders is not None:
                holders.discard(booking_id)
                if not holders:
                    del self._claims[key]
        if after.is_active:
            self._claims.setdefault(user_slot_key(after), set()).add(booking_id)
        if free is not None:
            left = self._taken[free] - 1
            if left:
                self._taken[free] = left
            else:
                del self._taken[free]
        if take is not None:
            self._taken[take] = self._taken.get(take, 0) + 1
