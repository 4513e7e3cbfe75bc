"""Booking rules: availability, create (idempotent), update, status and list."""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass, field

from .clock import SandboxClock
from .errors import BookingFailed, InvalidRequest, NotFound
from .inventory import Inventory
from .models import (
    ASYNCHRONOUS,
    CANCELED,
    CONFIRMED,
    DECLINED_BY_MERCHANT,
    PENDING_MERCHANT_CONFIRMATION,
    PREPAYMENT_PROVIDED,
    Booking,
    JsonObject,
    Slot,
    SlotSpec,
    UserInformation,
)

# (user_id, merchant_id, service_id, start_sec): one user's claim on one start of one service.
UserSlotKey = tuple[str, str, str, int]


@dataclass(slots=True)
class Outcome:
    """What a mutation answered, plus notes for the exchange record."""

    booking: Booking
    warnings: list[str] = field(default_factory=list)
    replayed: bool = False


@dataclass(slots=True)
class IdempotencyRecord:
    """The first successful answer to a token, and the payload it answered."""

    fingerprint: str
    booking: Booking


class BookingListener:
    """Receives every change before it is made (persistence implements this); the default does nothing."""

    def commit(self, booking: Booking, token: str | None = None, record: IdempotencyRecord | None = None) -> None:
        """Make this change durable (a booking's new state, and the token that answers it), or raise.

        Called before memory changes: if it raises (StoreFailed), the change is not made.
        """


class BookingService:
    """All booking state and rules; one lock around every mutation.

    Each mutation decides its change, hands it to the listener (write-ahead), and only then applies it
    in memory: a change the store could not keep is never made, so a retry never finds it done.

    The inventory may be shared with other tenants and is never changed: the spots this service's bookings
    hold are counted in `_taken`, so a tenant costs what it booked, not a copy of the inventory.
    """

    def __init__(
        self, inventory: Inventory, clock: SandboxClock, listener: BookingListener | None = None, next_seq: int = 1
    ):
        self.inventory = inventory
        self.clock = clock
        self.listener = listener or BookingListener()
        self.lock = threading.RLock()  # re-entrant: the persistence listener may snapshot under it
        self._bookings: dict[str, Booking] = {}
        self._tokens: dict[str, IdempotencyRecord] = {}
        self._by_user: dict[str, dict[str, Booking]] = {}
        # (user_id, merchant_id, service_id, start_sec) -> active bookings of that user on that start.
        self._user_slot: dict[UserSlotKey, set[str]] = {}
        self._taken: dict[Slot, int] = {}  # inventory entry -> spots held by active bookings (absent: none)
        self._seq = next_seq

    # ---- reads (no lock: each reads one consistent attribute at a time) ----

    def availability(self, merchant_id: str, specs: list[SlotSpec]) -> list[bool]:
        """For each requested slot, whether it can be booked right now."""
        inventory = self.inventory
        inventory.merchant(merchant_id)
        now = self.clock.now()
        answers = []
        services = inventory.services
        for spec in specs:
            if (merchant_id, spec.service_id) not in services:
                inventory.service(merchant_id, spec.service_id)  # raises the error that names what is unknown
            answers.append(spec.start_sec > now and inventory.has_open(spec, self._taken))
        return answers

    def count_available(self, spec: SlotSpec) -> int:
        """Open spots across the entries matching the spec (legacy CheckAvailability)."""
        self.inventory.service(spec.merchant_id, spec.service_id)
        if spec.start_sec <= self.clock.now():
            return 0
        return sum(self.spots_open(s) for s in self.inventory.candidates(spec))

    def spots_open(self, slot: Slot) -> int:
        """Spots of this inventory entry no active booking holds."""
        return slot.spots_total - self._taken.get(slot, 0)

    def answered(self, token: str) -> bool:
        """True when a CreateBooking with this idempotency token succeeded (a retry answers its booking)."""
        return token in self._tokens

    def get(self, booking_id: str) -> Booking:
        """A copy of the booking, or NotFound."""
        return dataclasses.replace(self._existing(booking_id))

    def list_for_user(self, user_id: str) -> list[Booking]:
        """The user's future bookings that still hold a spot, soonest first."""
        now = self.clock.now()
        mine = [b for b in list(self._by_user.get(user_id, {}).values()) if b.is_active and b.slot.start_sec > now]
        mine.sort(key=lambda b: (b.slot.start_sec, b.booking_id))
        return [dataclasses.replace(b) for b in mine]

    def all_bookings(self) -> list[Booking]:
        """Every booking, oldest first."""
        return [dataclasses.replace(b) for b in list(self._bookings.values())]

    def counts(self) -> dict[str, int]:
        """Booking counts for health."""
        bookings = list(self._bookings.values())
        return {"bookings": len(bookings), "active_bookings": sum(b.is_active for b in bookings)}

    # ---- mutations ----

    def create(
        self,
        spec: SlotSpec,
        user: UserInformation,
        payment: JsonObject | None,
        token: str,
        payment_token_given: bool = False,
        offer_id: str = "",
    ) -> Outcome:
        """Book a spot; the same token after a success answers the original booking again."""
        fingerprint = _fingerprint(spec, user, payment)
        with self.lock:
            record = self._tokens.get(token)
            if record is not None:
                warnings = []
                if record.fingerprint != fingerprint:
                    warnings.append("idempotency_token reused with a different payload; original booking returned")
                return Outcome(dataclasses.replace(record.booking), warnings, replayed=True)

            service = self.inventory.service(spec.merchant_id, spec.service_id)
            if spec.duration_sec is None:
                raise InvalidRequest("slot.duration_sec is required", field="slot.duration_sec")
            now = self.clock.now()
            entries = self.inventory.candidates(spec)
            if not entries:
                raise BookingFailed("SLOT_UNAVAILABLE", "no such slot in the merchant's inventory")
            if spec.start_sec <= now:
                raise BookingFailed("SLOT_UNAVAILABLE", "the slot starts in the past")
            if self._user_slot.get((user.user_id, spec.merchant_id, spec.service_id, spec.start_sec)):
                raise BookingFailed("SLOT_ALREADY_BOOKED_BY_USER", "this user already holds this slot")
            if service.prepayment_required and not (
                payment_token_given or (payment or {}).get("prepayment_status") == PREPAYMENT_PROVIDED
            ):
                raise BookingFailed("PAYMENT_ERROR", "prepayment required: this service must be paid when booking")
            slot = self._first_open(entries)
            if slot is None:
                raise BookingFailed("SLOT_UNAVAILABLE", "no spot left in this slot")

            status = PENDING_MERCHANT_CONFIRMATION if slot.confirmation_mode == ASYNCHRONOUS else CONFIRMED
            booking = Booking(
                booking_id=f"B{self._seq:07d}",
                slot=spec,
                user=user,
                status=status,
                held=slot,
                payment_information=payment,
                idempotency_token=token,
                offer_id=offer_id,
                created_sec=now,
                updated_sec=now,
            )
            record = IdempotencyRecord(fingerprint, dataclasses.replace(booking))
            # One record carries the booking and its token: both are kept, or neither.
            self.listener.commit(booking, token, record)
            self._seq += 1
            self._take(slot)
            self._index(booking)
            self._tokens[token] = record
            return Outcome(dataclasses.replace(booking))

    def cancel(self, booking_id: str) -> Outcome:
        """Cancel on the user's behalf and free the spot."""
        with self.lock:
            booking = self._existing(booking_id)
            if booking.status == CANCELED:
                raise BookingFailed("BOOKING_ALREADY_CANCELLED", "this booking is already cancelled")
            if not booking.is_active:
                raise BookingFailed("BOOKING_NOT_CANCELLABLE", f"a {booking.status} booking cannot be cancelled")
            now = self.clock.now()
            self._check_window(booking, now, "cancellation closes")
            self._set_status(booking, CANCELED, now)
            return Outcome(dataclasses.replace(booking))

    def modify(
        self,
        booking_id: str,
        start_sec: int | None = None,
        duration_sec: int | None = None,
        party_size: int | None = None,
    ) -> Outcome:
        """Reschedule and/or change the party size; on SLOT_UNAVAILABLE nothing changes."""
        with self.lock:
            booking = self._existing(booking_id)
            if booking.status == CANCELED:
                raise BookingFailed("BOOKING_ALREADY_CANCELLED", "a cancelled booking cannot be changed")
            if not booking.is_active:
                raise BookingFailed("SLOT_UNAVAILABLE", f"a {booking.status} booking cannot be changed")
            old = booking.slot
            target = moved_slot(old, start_sec, duration_sec, party_size)
            if target == old:
                return Outcome(dataclasses.replace(booking))  # a repeated update changes nothing
            now = self.clock.now()
            # Moving a booking late is cancelling it late: the same policy window applies.
            self._check_window(booking, now, "changes close")
            if target.start_sec <= now:
                raise BookingFailed("SLOT_UNAVAILABLE", "the new time is in the past")
            if target.start_sec != old.start_sec and self._user_slot.get(
                (booking.user.user_id, target.merchant_id, target.service_id, target.start_sec)
            ):
                raise BookingFailed("SLOT_ALREADY_BOOKED_BY_USER", "this user already holds the new slot")
            entries = self.inventory.candidates(target)
            slot = booking.held if booking.held in entries else self._first_open(entries)
            if slot is None:
                raise BookingFailed("SLOT_UNAVAILABLE", "the requested new slot is not available")
            self.listener.commit(dataclasses.replace(booking, slot=target, held=slot, updated_sec=now))
            self._unindex_user_slot(booking)
            if slot is not booking.held:
                if booking.held is not None:
                    self._free(booking.held)
                self._take(slot)
                booking.held = slot
            booking.slot = target
            booking.updated_sec = now
            self._index(booking)
            return Outcome(dataclasses.replace(booking))

    def merchant_decision(self, booking_id: str, confirm: bool) -> Outcome:
        """The merchant confirms or declines a pending (asynchronous) booking."""
        with self.lock:
            booking = self._existing(booking_id)
            if booking.status != PENDING_MERCHANT_CONFIRMATION:
                raise InvalidRequest(f"booking {booking_id} is {booking.status}, not pending", field="booking_id")
            self._set_status(booking, CONFIRMED if confirm else DECLINED_BY_MERCHANT, self.clock.now())
            return Outcome(dataclasses.replace(booking))

    # ---- persistence support ----

    def restore(self, bookings: list[Booking], tokens: dict[str, IdempotencyRecord], next_seq: int) -> None:
        """Load persisted state; spots held by active bookings are taken out of inventory again."""
        with self.lock:
            for booking in bookings:
                if booking.is_active and booking.held is not None:
                    self._take(booking.held)
                self._bookings[booking.booking_id] = booking
                self._index(booking)
            self._tokens.update(tokens)
            self._seq = max(self._seq, next_seq)

    @property
    def next_seq(self) -> int:
        """The sequence number the next booking id will use."""
        return self._seq

    def tokens(self) -> dict[str, IdempotencyRecord]:
        """A copy of the idempotency table (for snapshots)."""
        return dict(self._tokens)

    # ---- internals ----

    def _check_window(self, booking: Booking, now: int, closing: str) -> None:
        """OUTSIDE_CANCELLATION_WINDOW once the service's window before the start has begun."""
        window = self.inventory.service(booking.slot.merchant_id, booking.slot.service_id).cancellation_window_sec
        if now >= booking.slot.start_sec - window:
            raise BookingFailed(
                "OUTSIDE_CANCELLATION_WINDOW",
                f"{closing} {window} s before the start" if window else "the booking has started",
            )

    def _existing(self, booking_id: str) -> Booking:
        booking = self._bookings.get(booking_id)
        if booking is None:
            raise NotFound(f"unknown booking_id {booking_id!r}")
        return booking

    def _set_status(self, booking: Booking, status: str, now: int) -> None:
        self.listener.commit(dataclasses.replace(booking, status=status, updated_sec=now))
        was_active = booking.is_active
        booking.status = status
        booking.updated_sec = now
        if was_active and not booking.is_active:
            if booking.held is not None:
                self._free(booking.held)
            self._unindex_user_slot(booking)

    def _first_open(self, entries: list[Slot]) -> Slot | None:
        return next((s for s in entries if s.spots_total > self._taken.get(s, 0)), None)

    def _take(self, slot: Slot) -> None:
        self._taken[slot] = self._taken.get(slot, 0) + 1

    def _free(self, slot: Slot) -> None:
        left = self._taken[slot] - 1
        if left:
            self._taken[slot] = left
        else:
            del self._taken[slot]

    def _user_slot_key(self, booking: Booking) -> UserSlotKey:
        s = booking.slot
        return (booking.user.user_id, s.merchant_id, s.service_id, s.start_sec)

    def _index(self, booking: Booking) -> None:
        self._bookings[booking.booking_id] = booking
        self._by_user.setdefault(booking.user.user_id, {})[booking.booking_id] = booking
        if booking.is_active:
            self._user_slot.setdefault(self._user_slot_key(booking), set()).add(booking.booking_id)

    def _unindex_user_slot(self, booking: Booking) -> None:
        key = self._user_slot_key(booking)
        holders = self._user_slot.get(key)
        if holders is not None:
            holders.discard(booking.booking_id)
            if not holders:
                del self._user_slot[key]


def moved_slot(old: SlotSpec, start_sec: int | None, duration_sec: int | None, party_size: int | None) -> SlotSpec:
    """The slot an UpdateBooking asks for: each change given, the rest as booked."""
    return old._replace(
        start_sec=old.start_sec if start_sec is None else start_sec,
        duration_sec=old.duration_sec if duration_sec is None else duration_sec,
        party_size=old.party_size if party_size is None else party_size,
        has_resources=old.has_resources or bool(party_size),
    )


def _fingerprint(spec: SlotSpec, user: UserInformation, payment: JsonObject | None) -> str:
    """A stable digest of what a CreateBooking asked for, to spot token reuse."""
    return json.dumps([repr(spec), repr(user), payment], sort_keys=True, default=str)
