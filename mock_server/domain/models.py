"""Domain records: merchants, services, inventory slots, bookings and the v3 enums."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeAlias

# A JSON value as the wire and the fixtures carry it. Mapping and Sequence are read-only, hence covariant: a
# dict[str, str] is a JsonValue too, which a dict[str, JsonValue] member would refuse.
JsonValue: TypeAlias = "str | int | float | bool | None | Sequence[JsonValue] | Mapping[str, JsonValue]"
JsonObject: TypeAlias = dict[str, JsonValue]

# Enum names exactly as they travel on the wire (proto3 JSON uses the names).
CONFIRMED = "CONFIRMED"
PENDING_MERCHANT_CONFIRMATION = "PENDING_MERCHANT_CONFIRMATION"
CANCELED = "CANCELED"
DECLINED_BY_MERCHANT = "DECLINED_BY_MERCHANT"
FAILED = "FAILED"
NO_SHOW = "NO_SHOW"
NO_SHOW_PENALIZED = "NO_SHOW_PENALIZED"
BOOKING_STATUSES = (
    "BOOKING_STATUS_UNSPECIFIED",
    CONFIRMED,
    PENDING_MERCHANT_CONFIRMATION,
    CANCELED,
    NO_SHOW,
    NO_SHOW_PENALIZED,
    FAILED,
    DECLINED_BY_MERCHANT,
)
# A booking in one of these states holds a spot and shows up in ListBookings.
ACTIVE_STATUSES = frozenset({CONFIRMED, PENDING_MERCHANT_CONFIRMATION})

SYNCHRONOUS = "CONFIRMATION_MODE_SYNCHRONOUS"
ASYNCHRONOUS = "CONFIRMATION_MODE_ASYNCHRONOUS"
CONFIRMATION_MODES = ("CONFIRMATION_MODE_UNSPECIFIED", SYNCHRONOUS, ASYNCHRONOUS)

PREPAYMENT_PROVIDED = "PREPAYMENT_PROVIDED"
PREPAYMENT_NOT_PROVIDED = "PREPAYMENT_NOT_PROVIDED"
PREPAYMENT_REFUNDED = "PREPAYMENT_REFUNDED"
PREPAYMENT_STATUSES = (
    "PREPAYMENT_STATUS_UNSPECIFIED",
    PREPAYMENT_PROVIDED,
    PREPAYMENT_NOT_PROVIDED,
    PREPAYMENT_REFUNDED,
    "PREPAYMENT_CREDITED",
)

FAILURE_CAUSES = (
    "CAUSE_UNSPECIFIED",
    "SLOT_UNAVAILABLE",
    "SLOT_ALREADY_BOOKED_BY_USER",
    "LEASE_EXPIRED",
    "OUTSIDE_CANCELLATION_WINDOW",
    "PAYMENT_ERROR_CARD_TYPE_REJECTED",
    "PAYMENT_ERROR_CARD_DECLINED",
    "PAYMENT_OPTION_NOT_VALID",
    "PAYMENT_ERROR",
    "USER_CANNOT_USE_PAYMENT_OPTION",
    "BOOKING_ALREADY_CANCELLED",
    "BOOKING_NOT_CANCELLABLE",
    "OVERLAPPING_RESERVATION",
    "USER_OVER_BOOKING_LIMIT",
    "DEAL_UNAVAILABLE",
    "PAYMENT_REQUIRES_3DS1",
    "OFFER_UNAVAILABLE",
)
CREDIT_CARD_TYPES = (
    "CREDIT_CARD_TYPE_UNSPECIFIED",
    "VISA",
    "MASTERCARD",
    "AMERICAN_EXPRESS",
    "DISCOVER",
    "JCB",
)


@dataclass(slots=True)
class Merchant:
    """A bookable business, as listed in the merchants feed."""

    merchant_id: str
    name: str
    vertical: str  # dining | appointments | classes
    timezone: str
    category: str = ""
    telephone: str = ""
    url: str = ""
    address: dict[str, str] = field(default_factory=dict)  # PostalAddress fields: street_address, country, ...
    geo: dict[str, float] = field(default_factory=dict)  # latitude, longitude
    business_hours: list[dict[str, str]] = field(default_factory=list)  # [{"open": "HH:MM", "close": "HH:MM"}]
    confirmation_mode: str = SYNCHRONOUS


@dataclass(slots=True)
class Service:
    """A service of a merchant, with the policies that drive failure causes."""

    merchant_id: str
    service_id: str
    name: str
    vertical: str
    duration_sec: int
    description: str = ""
    price_micros: int = 0
    currency_code: str = "USD"
    prepayment_required: bool = False
    # Cancelling later than this many seconds before the start is refused (0 = any time before start).
    cancellation_window_sec: int = 0
    # Google's RefundCondition steps: {"min_duration_before_start_sec", "refund_percent"}; none = not refundable.
    refund_conditions: list[dict[str, int]] = field(default_factory=list)
    staff: list[dict[str, str]] = field(default_factory=list)  # staff_id, staff_name
    rooms: list[dict[str, str | int]] = field(default_factory=list)  # room_id, room_name, capacity
    # Dining: {"party_size": seats, "count": tables}; a party sits at the smallest size that seats it (resources.py).
    tables: list[dict[str, int]] = field(default_factory=list)
    # Dining: the service's waitlist rules (domain/waitlist.py; fixturegen.waitlist_rules); empty: no waitlist.
    waitlist: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Slot:
    """One inventory entry: a start time, its resources and its spot count; never changed once built.

    Shared by every tenant on the same fixture and day, so it holds no state: the spots a tenant took are its
    BookingService's. eq=False keeps identity hashing, which makes an entry a cheap dict key. Not frozen: a
    frozen dataclass is built ~6x slower, and materialising builds one per fixture slot.
    """

    merchant_id: str
    service_id: str
    start_sec: int
    duration_sec: int
    spots_total: int
    staff_id: str = ""
    room_id: str = ""
    party_size: int = 0
    availability_tag: str = ""
    confirmation_mode: str = SYNCHRONOUS
    staff_name: str = ""
    room_name: str = ""


class SlotSpec(NamedTuple):
    """A slot as a client names it (BAL SlotTime, Booking.slot); empty fields mean 'any'.

    A NamedTuple rather than a frozen dataclass: a lookup builds one per slot_time, and a tuple is
    built several times faster than a frozen dataclass (which sets every field through object.__setattr__).
    """

    merchant_id: str
    service_id: str
    start_sec: int
    duration_sec: int | None = None
    staff_id: str = ""
    room_id: str = ""
    party_size: int = 0
    availability_tag: str = ""
    confirmation_mode: str = ""
    has_resources: bool = False

    def matches(self, slot: Slot) -> bool:
        """True when the inventory entry satisfies every constraint this spec gives."""
        return (
            (self.duration_sec is None or self.duration_sec == slot.duration_sec)
            and (not self.staff_id or self.staff_id == slot.staff_id)
            and (not self.room_id or self.room_id == slot.room_id)
            and (not self.party_size or self.party_size == slot.party_size)
        )


# A lookup's answer for one requested slot: (bookable now, confirmation mode). A plain tuple: a NamedTuple is
# built several times slower, and a lookup builds one per slot_time.
SlotAnswer: TypeAlias = tuple[bool, str]


@dataclass(slots=True, frozen=True)
class UserInformation:
    """The user a booking is for; address is kept as the client sent it."""

    user_id: str
    given_name: str = ""
    family_name: str = ""
    telephone: str = ""
    email: str = ""
    language_code: str = ""
    address: tuple[tuple[str, str], ...] = ()  # sorted (key, value) pairs, so the record stays hashable


@dataclass(slots=True)
class Booking:
    """A booking; `slot` is the spec the client booked, `held` the inventory entry it holds."""

    booking_id: str
    slot: SlotSpec
    user: UserInformation
    status: str
    held: Slot | None
    payment_information: JsonObject | None = None
    idempotency_token: str = ""
    offer_id: str = ""
    created_sec: int = 0
    updated_sec: int = 0

    @property
    def prepayment_status(self) -> str:
        """The prepayment status, defaulting as the spec says to NOT_PROVIDED."""
        status = (self.payment_information or {}).get("prepayment_status")
        # The contract only lets an enum name through; anything else counts as not given.
        if not isinstance(status, str) or not status or status == "PREPAYMENT_STATUS_UNSPECIFIED":
            return PREPAYMENT_NOT_PROVIDED
        return status

    @property
    def is_active(self) -> bool:
        """True while the booking holds its spot."""
        return self.status in ACTIVE_STATUSES


@dataclass(slots=True, frozen=True)
class MarketingPreference:
    """A user's consent (or not) to the partner's marketing, as the last SetMarketingPreference gave it."""

    user: UserInformation
    user_to_receive_marketing: bool
    updated_sec: int = 0
