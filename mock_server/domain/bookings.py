"""Booking rules: availability, create (idempotent), update, status and list."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from . import payments
from .clock import SandboxClock
from .commits import until_committed
from .errors import BookingFailed, InvalidRequest, NotFound
from .inventory import Inventory
from .marketing import MarketingPreferences
from .models import (
    ASYNCHRONOUS,
    CANCELED,
    CONFIRMED,
    DECLINED_BY_MERCHANT,
    FAILED,
    NO_SHOW,
    NO_SHOW_PENALIZED,
    PENDING_MERCHANT_CONFIRMATION,
    PREPAYMENT_PROVIDED,
    Booking,
    JsonObject,
    MarketingPreference,
    Slot,
    SlotAnswer,
    SlotSpec,
    UserInformation,
)
from .state import BookingListener, BookingState, Change, IdempotencyRecord, MemoryState
from .waitlist import WaitlistEntry, WaitlistRecord, WaitlistService

__all__ = ["BookingListener", "BookingService", "IdempotencyRecord", "Outcome", "moved_slot"]

# Why a slot whose own spots are not all taken is full (SLOT_UNAVAILABLE's description).
OVERLAPPED = "its staff member or table is booked over part of this slot's time"


@dataclass(slots=True)
class Outcome:
    """What a mutation answered, plus notes for the exchange record."""

    booking: Booking
    warnings: list[str] = field(default_factory=list)
    replayed: bool = False
    before: Booking | None = None  # the booking as it was, when this call changed it (notifications diff the two)


class BookingService:
    """The booking rules, over a BookingState (memory by default; see domain/state.py).

    Each mutation reads the state, decides one Change and commits it under the state's lock. The state writes it
    ahead (persistence) and applies it whole, or refuses it when another process changed what was read: the
    mutation then decides again. A change the store could not keep is never made, so a retry never finds it done.

    The inventory may be shared with other tenants and is never changed: the spots taken are the state's.
    """

    def __init__(
        self,
        inventory: Inventory,
        clock: SandboxClock,
        listener: BookingListener | None = None,
        next_seq: int = 1,
        state: BookingState | None = None,
    ):
        self.inventory = inventory
        self.clock = clock
        self.state: BookingState = MemoryState(next_seq, listener) if state is None else state
        # The users' marketing preferences live in the same state: the same store, the same reset.
        self.marketing = MarketingPreferences(self.state, clock)
        # The waitlist entries too (Reservations Waitlists): one store, one reset, one snapshot.
        self.waitlist = WaitlistService(inventory, clock, self.state)

    @property
    def lock(self) -> AbstractContextManager[object]:
        """The state's lock (held around each mutation)."""
        return self.state.lock

    @property
    def listener(self) -> BookingListener:
        """Told of every change before it is made (persistence; a forgotten tenant's refuses)."""
        return self.state.listener

    @listener.setter
    def listener(self, listener: BookingListener) -> None:
        self.state.listener = listener

    # ---- reads ----

    def availability(self, merchant_id: str, specs: list[SlotSpec]) -> list[SlotAnswer]:
        """For each requested slot, whether it can be booked right now and the confirmation mode to answer.

        The mode is the inventory's (of the entry a booking would take; of a full one if none is open), whatever
        the request said, as a partner answers from its own data. A slot not in inventory keeps the mode as sent.
        """
        inventory = self.inventory
        inventory.merchant(merchant_id)
        now = self.clock.now()
        services = inventory.services
        for spec in specs:
            if (merchant_id, spec.service_id) not in services:
                inventory.service(merchant_id, spec.service_id)  # raises the error that names what is unknown
        # One read of the spots taken for every entry asked about, and those overlapping it on its resource (a
        # shared store: one round trip).
        taken = self.state.spots_taken(inventory.affecting(specs))
        answers = []
        for spec in specs:
            entry, has_open = inventory.lookup(spec, taken)
            mode = spec.confirmation_mode if entry is None else entry.confirmation_mode
            answers.append((has_open and spec.start_sec > now, mode))
        return answers

    def count_available(self, spec: SlotSpec) -> int:
        """Open spots across the entries matching the spec (legacy CheckAvailability); entries sharing a resource
        (party sizes seated at one table size) count its open spots once."""
        self.inventory.service(spec.merchant_id, spec.service_id)
        if spec.start_sec <= self.clock.now():
            return 0
        entries = self.inventory.candidates(spec)
        resources = self.inventory.resources
        open_by_resource: dict[object, int] = {}
        for slot, spots in self.spots_open_each(entries).items():
            key = resources.key(slot)
            open_by_resource[slot if key is None else key] = spots
        return sum(open_by_resource.values())

    def spots_open(self, slot: Slot) -> int:
        """Spots of this inventory entry that no active booking's hold overlapping it takes."""
        return self.spots_open_each([slot])[slot]

    def spots_open_each(self, slots: list[Slot]) -> dict[Slot, int]:
        """Open spots of each of these entries (what no overlapping hold takes), read at once (feeds, pages)."""
        resources = self.inventory.resources
        taken = self.state.spots_taken(other for slot in slots for other in resources.overlapping(slot))
        return {slot: resources.spots_open(slot, taken) for slot in slots}

    def answered(self, token: str) -> bool:
        """True when a CreateBooking with this idempotency token succeeded (a retry answers its booking)."""
        return self.state.record(token) is not None

    def get(self, booking_id: str) -> Booking:
        """A copy of the booking, or NotFound."""
        return dataclasses.replace(self._existing(booking_id))

    def list_for_user(self, user_id: str) -> list[Booking]:
        """The user's future bookings that still hold a spot, soonest first."""
        now = self.clock.now()
        mine = [b for b in self.state.user_bookings(user_id) if b.is_active and b.slot.start_sec > now]
        mine.sort(key=lambda b: (b.slot.start_sec, b.booking_id))
        return [dataclasses.replace(b) for b in mine]

    def all_bookings(self) -> list[Booking]:
        """Every booking, oldest first."""
        return [dataclasses.replace(b) for b in self.state.all_bookings()]

    def counts(self) -> dict[str, int]:
        """Booking counts for health."""
        return self.state.counts()

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

        def decide() -> Outcome | None:
            record = self.state.record(token)
            if record is not None:
                warnings = []
                if record.fingerprint != fingerprint:
                    warnings.append("idempotency_token reused with a different payload; original booking returned")
                return Outcome(dataclasses.replace(record.booking), warnings, replayed=True)
            try:
                return book()
            except BookingFailed:
                # A retry of this token, served by another thread or process, may have booked since it was read:
                # then this call answers that booking (decide again), not the failure its own booking caused.
                if self.state.record(token) is not None:
                    return None
                raise

        def book() -> Outcome | None:
            service = self.inventory.service(spec.merchant_id, spec.service_id)
            if spec.duration_sec is None:
                raise InvalidRequest("slot.duration_sec is required", field="slot.duration_sec")
            now = self.clock.now()
            entries = self.inventory.candidates(spec)
            if not entries:
                raise BookingFailed("SLOT_UNAVAILABLE", "no such slot in the merchant's inventory")
            if spec.start_sec <= now:
                raise BookingFailed("SLOT_UNAVAILABLE", "the slot starts in the past")
            if self.state.holds((user.user_id, spec.merchant_id, spec.service_id, spec.start_sec)):
                raise BookingFailed("SLOT_ALREADY_BOOKED_BY_USER", "this user already holds this slot")
            if service.prepayment_required and not (
                payment_token_given or (payment or {}).get("prepayment_status") == PREPAYMENT_PROVIDED
            ):
                raise BookingFailed("PAYMENT_ERROR", "prepayment required: this service must be paid when booking")
            payments.check_price(service, payment)
            slot = self._first_open(entries)
            if slot is None:
                raise BookingFailed(
                    "SLOT_UNAVAILABLE", OVERLAPPED if self._overlapped(entries) else "no spot left in this slot"
                )
            # The partner charges a token it is given (the mock's charge always succeeds; faults simulate declines).
            paid = payments.paid_by_token(service, payment, token) if payment_token_given else payment

            status = PENDING_MERCHANT_CONFIRMATION if slot.confirmation_mode == ASYNCHRONOUS else CONFIRMED
            booking = Booking(
                booking_id="",  # the state numbers it when it commits
                slot=spec,
                user=user,
                status=status,
                held=slot,
                payment_information=paid,
                idempotency_token=token,
                offer_id=offer_id,
                created_sec=now,
                updated_sec=now,
            )
            return self._committed(Change(None, booking, token, fingerprint))

        return self._until_committed(decide)

    def cancel(self, booking_id: str) -> Outcome:
        """Cancel on the user's behalf, free the spot and refund a prepayment the service's refund rule allows."""

        def decide() -> Outcome | None:
            booking = self._existing(booking_id)
            if booking.status == CANCELED:
                raise BookingFailed("BOOKING_ALREADY_CANCELLED", "this booking is already cancelled")
            if not booking.is_active:
                raise BookingFailed("BOOKING_NOT_CANCELLABLE", f"a {booking.status} booking cannot be cancelled")
            now = self.clock.now()
            self._check_window(booking, now, "cancellation closes")
            service = self.inventory.service(booking.slot.merchant_id, booking.slot.service_id)
            payment = payments.after_cancel(service, booking.payment_information, booking.slot.start_sec - now)
            cancelled = dataclasses.replace(booking, status=CANCELED, payment_information=payment, updated_sec=now)
            return self._committed(Change(booking, cancelled))

        return self._until_committed(decide)

    def modify(
        self,
        booking_id: str,
        start_sec: int | None = None,
        duration_sec: int | None = None,
        party_size: int | None = None,
    ) -> Outcome:
        """Reschedule and/or change the party size; on SLOT_UNAVAILABLE nothing changes."""
        return self._reschedule(booking_id, start_sec, duration_sec, party_size, by_merchant=False)

    def merchant_move(
        self,
        booking_id: str,
        start_sec: int | None = None,
        duration_sec: int | None = None,
        party_size: int | None = None,
    ) -> Outcome:
        """The merchant moves a booking to another time of the same service: UpdateBooking's availability rules,
        without the cancellation window (that policy binds the user, not the merchant)."""
        return self._reschedule(booking_id, start_sec, duration_sec, party_size, by_merchant=True)

    def _reschedule(
        self,
        booking_id: str,
        start_sec: int | None,
        duration_sec: int | None,
        party_size: int | None,
        by_merchant: bool,
    ) -> Outcome:
        def decide() -> Outcome | None:
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
            if not by_merchant:
                # Moving a booking late is cancelling it late: the same policy window applies.
                self._check_window(booking, now, "changes close")
            if target.start_sec <= now:
                raise BookingFailed("SLOT_UNAVAILABLE", "the new time is in the past")
            if target.start_sec != old.start_sec and self.state.holds(
                (booking.user.user_id, target.merchant_id, target.service_id, target.start_sec)
            ):
                raise BookingFailed("SLOT_ALREADY_BOOKED_BY_USER", "this user already holds the new slot")
            entries = self.inventory.candidates(target)
            slot = booking.held if booking.held in entries else self._first_open(entries, leaving=booking.held)
            if slot is None:
                why = f": {OVERLAPPED}" if self._overlapped(entries, booking.held) else ""
                raise BookingFailed("SLOT_UNAVAILABLE", f"the requested new slot is not available{why}")
            if target.availability_tag:
                # The tag names an inventory entry: the booking now holds `slot`, so it carries that entry's tag.
                target = target._replace(availability_tag=slot.availability_tag)
            moved = dataclasses.replace(booking, slot=target, held=slot, updated_sec=now)
            return self._committed(Change(booking, moved))

        return self._until_committed(decide)

    def merchant_decision(self, booking_id: str, confirm: bool) -> Outcome:
        """The merchant confirms or declines a pending (asynchronous) booking (a decline refunds a prepayment)."""

        def decide() -> Outcome | None:
            booking = self._existing(booking_id)
            if booking.status != PENDING_MERCHANT_CONFIRMATION:
                raise InvalidRequest(f"booking {booking_id} is {booking.status}, not pending", field="booking_id")
            if confirm:
                decided = dataclasses.replace(booking, status=CONFIRMED, updated_sec=self.clock.now())
            else:  # a declined booking gives a prepayment back whole, as a failed one does
                decided = self._ended_by_merchant(booking, DECLINED_BY_MERCHANT)
            return self._committed(Change(booking, decided))

        return self._until_committed(decide)

    def merchant_cancel(self, booking_id: str) -> Outcome:
        """The merchant cancels an active booking, at any time, and refunds a prepayment whole (it was not the
        user's doing, so the service's refund conditions do not apply)."""

        def decide() -> Outcome | None:
            booking = self._existing(booking_id)
            if not booking.is_active:
                raise InvalidRequest(f"booking {booking_id} is {booking.status}: it holds no spot to cancel")
            return self._committed(Change(booking, self._ended_by_merchant(booking, CANCELED)))

        return self._until_committed(decide)

    def mark_no_show(self, booking_id: str, penalized: bool) -> Outcome:
        """The user did not come: a CONFIRMED booking whose start has passed becomes NO_SHOW (NO_SHOW_PENALIZED:
        the merchant charged its no-show fee)."""

        def decide() -> Outcome | None:
            booking = self._existing(booking_id)
            if booking.status != CONFIRMED:
                raise InvalidRequest(f"booking {booking_id} is {booking.status}: only a CONFIRMED one can be a no-show")
            now = self.clock.now()
            if booking.slot.start_sec > now:
                raise InvalidRequest(f"booking {booking_id} has not started yet (at {booking.slot.start_sec})")
            status = NO_SHOW_PENALIZED if penalized else NO_SHOW
            return self._committed(Change(booking, dataclasses.replace(booking, status=status, updated_sec=now)))

        return self._until_committed(decide)

    def fail(self, booking_id: str) -> Outcome:
        """A pending (asynchronous) booking could not be completed: FAILED, its spot freed, a prepayment refunded."""

        def decide() -> Outcome | None:
            booking = self._existing(booking_id)
            if booking.status != PENDING_MERCHANT_CONFIRMATION:
                raise InvalidRequest(f"booking {booking_id} is {booking.status}, not pending: it cannot fail now")
            return self._committed(Change(booking, self._ended_by_merchant(booking, FAILED)))

        return self._until_committed(decide)

    def _ended_by_merchant(self, booking: Booking, status: str) -> Booking:
        """`booking` ended by the merchant's side (declined, cancelled, failed): a prepayment given back whole."""
        return dataclasses.replace(
            booking,
            status=status,
            payment_information=payments.refunded(booking.payment_information),
            updated_sec=self.clock.now(),
        )

    # ---- persistence support (the memory state's) ----

    def restore(
        self,
        bookings: list[Booking],
        tokens: dict[str, IdempotencyRecord],
        next_seq: int,
        preferences: list[MarketingPreference] | None = None,
        waitlist: list[WaitlistEntry] | None = None,
        waitlist_tokens: dict[str, WaitlistRecord] | None = None,
    ) -> None:
        """Load persisted state; spots held by active bookings are taken out of inventory again."""
        assert isinstance(self.state, MemoryState), "only the memory state is persisted to MOCK_DB_PATH"
        self.state.restore(bookings, tokens, next_seq, preferences or (), waitlist or (), waitlist_tokens)

    @property
    def next_seq(self) -> int:
        """The sequence number the next booking id will use (memory state)."""
        assert isinstance(self.state, MemoryState)
        return self.state.next_seq

    def tokens(self) -> dict[str, IdempotencyRecord]:
        """A copy of the idempotency table (for snapshots; memory state)."""
        assert isinstance(self.state, MemoryState)
        return self.state.tokens()

    # ---- internals ----

    def _until_committed(self, decide: Callable[[], Outcome | None]) -> Outcome:
        """Read, decide and commit under the state's lock; again while the state refuses the change."""
        return until_committed(self.state.lock, decide)

    def _committed(self, change: Change) -> Outcome | None:
        booking = self.state.commit(change)
        return None if booking is None else Outcome(dataclasses.replace(booking), before=change.before)

    def _first_open(self, entries: list[Slot], leaving: Slot | None = None) -> Slot | None:
        """The first entry with a spot open; `leaving`: the entry a moving booking gives back as it takes another."""
        resources = self.inventory.resources
        taken = self.state.spots_taken(other for slot in entries for other in resources.overlapping(slot))
        return next((s for s in entries if resources.spots_open(s, taken, leaving)), None)

    def _overlapped(self, entries: list[Slot], leaving: Slot | None = None) -> bool:
        """Whether some entry without a spot open has spots of its own left: bookings of other entries overlapping
        it hold its staff member or table (domain/resources.py)."""
        taken = self.state.spots_taken(entries)
        return any(s.spots_total > taken.get(s, 0) - (s is leaving) for s in entries)

    def _check_window(self, booking: Booking, now: int, closing: str) -> None:
        """OUTSIDE_CANCELLATION_WINDOW once the service's window before the start has begun."""
        window = self.inventory.service(booking.slot.merchant_id, booking.slot.service_id).cancellation_window_sec
        if now >= booking.slot.start_sec - window:
            raise BookingFailed(
                "OUTSIDE_CANCELLATION_WINDOW",
                f"{closing} {window} s before the start" if window else "the booking has started",
            )

    def _existing(self, booking_id: str) -> Booking:
        booking = self.state.booking(booking_id)
        if booking is None:
            raise NotFound(f"unknown booking_id {booking_id!r}")
        return booking


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
