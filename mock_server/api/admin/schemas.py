"""Admin request schemas."""

from marshmallow import Schema, ValidationError, fields, validates_schema
from marshmallow.validate import OneOf, Range

from ...config import RESPONSE_PROFILES
from ...domain.clock import EARLIEST_SEC, LATEST_SEC
from ...domain.models import BOOKING_STATUSES, FAILURE_CAUSES
from ..common import Bool


class ClockChangeSchema(Schema):
    """Freeze at an epoch second, advance by seconds, or unfreeze (one at a time)."""

    freeze_at_sec = fields.Integer(
        strict=True, validate=Range(min=EARLIEST_SEC, max=LATEST_SEC), metadata={"example": 1767225600}
    )
    # JSON booleans only: marshmallow's Boolean would also take "true", "yes", "on".
    freeze = fields.Boolean(
        truthy={True}, falsy={False}, metadata={"description": "freeze at the current sandbox time"}
    )
    # The sum must stay in range too: the clock refuses (400) an advance past either end.
    advance_sec = fields.Integer(
        strict=True, validate=Range(min=-LATEST_SEC, max=LATEST_SEC), metadata={"example": 3600}
    )
    unfreeze = fields.Boolean(truthy={True}, falsy={False})

    @validates_schema
    def _one_action(self, data, **kwargs):
        # `is not False`, not `not in (None, False)`: 0 == False, and freeze_at_sec 0 / advance_sec 0 are actions.
        actions = [
            k
            for k in ("freeze_at_sec", "freeze", "advance_sec", "unfreeze")
            if data.get(k) is not None and data.get(k) is not False
        ]
        if len(actions) != 1:
            raise ValidationError("give exactly one of freeze_at_sec, freeze, advance_sec, unfreeze")


class BookingFilterSchema(Schema):
    """Filters for the admin bookings list."""

    user_id = fields.String()
    merchant_id = fields.String()
    status = fields.String(validate=OneOf(BOOKING_STATUSES))
    limit = fields.Integer(load_default=1000, validate=Range(min=1, max=100_000))


class MarketingFilterSchema(Schema):
    """Filter of the admin marketing-preferences list."""

    user_id = fields.String()


class MerchantDecisionSchema(Schema):
    """A merchant's answer to a pending booking."""

    decision = fields.String(required=True, validate=OneOf(("confirm", "decline")))


class MerchantMoveSchema(Schema):
    """Where the merchant moves a booking: another start (and optionally duration, party size) of its service."""

    start_sec = fields.Integer(strict=True, required=True, validate=Range(min=0, max=2**40))
    duration_sec = fields.Integer(strict=True, validate=Range(min=1, max=2**40))
    party_size = fields.Integer(strict=True, validate=Range(min=1, max=2**31 - 1))


class NoShowSchema(Schema):
    """A no-show, with or without the merchant's penalty."""

    penalized = Bool(load_default=False, metadata={"description": "true: NO_SHOW_PENALIZED"})


class FailSchema(Schema):
    """Why a pending booking failed (sent as the notification's bookingFailure.cause)."""

    cause = fields.String(load_default="SLOT_UNAVAILABLE", validate=OneOf(FAILURE_CAUSES[1:]))


class WaitlistFilterSchema(Schema):
    """Optional filter of the admin waitlist listing."""

    merchant_id = fields.String()


# ---- responses (documentation) ----


class CountsSchema(Schema):
    """Sizes of the state."""

    merchants = fields.Integer()
    services = fields.Integer()
    slots = fields.Integer()
    bookings = fields.Integer()
    active_bookings = fields.Integer()


class ClockStateSchema(Schema):
    """The sandbox clock."""

    now_sec = fields.Integer(metadata={"example": 1767225600})
    frozen = fields.Boolean()
    offset_sec = fields.Integer()


class SettingsSchema(Schema):
    """A tenant's fidelity settings; a PATCH names only those it changes (an unknown name is a 400)."""

    strict = Bool(  # JSON true/false only: truthy={True} would also take 1 (1 == True)
        metadata={"description": "unknown /v3 request fields, impossible updates and contradictions are 400s"},
    )
    response_profile = fields.String(
        validate=OneOf(RESPONSE_PROFILES),
        metadata={
            "enum": list(RESPONSE_PROFILES),
            "description": "canonical (as Google's samples), minimal (defaults omitted), numbers (int64 as numbers)",
        },
    )


class StoreStateSchema(Schema):
    """The persistence log: writable, or why it takes no more changes until restart."""

    path = fields.String()
    fsync = fields.Boolean(metadata={"description": "MOCK_DB_FSYNC: each change fdatasync'd before its answer"})
    log_lines = fields.Integer(metadata={"description": "changes in the log since the last snapshot"})
    writable = fields.Boolean()
    error = fields.String(metadata={"description": "why changes are refused (only when writable is false)"})


class RecordingStateSchema(Schema):
    """The exchange journal: lines numbered, and lines a failed write left out."""

    journal = fields.String(metadata={"description": "the file (with MOCK_STORE on Redis: the tenant's stream)"})
    recorded = fields.Integer(metadata={"description": "exchanges numbered so far (the last seq)"})
    dropped = fields.Integer(metadata={"description": "lines not written because the disk (or Redis) failed"})
    error = fields.String(metadata={"description": "the last write error, if any"})
    file = fields.Nested(
        lambda: RecordingStateSchema(), metadata={"description": "With MOCK_STORE on Redis: this server's own file"}
    )


class LogStateSchema(Schema):
    """The serving process's log lines: written by their own thread from a bounded buffer."""

    dropped_lines = fields.Integer(metadata={"description": "lines dropped because stderr was not being read"})


class HealthSchema(Schema):
    """Readiness and sizes."""

    status = fields.String(metadata={"example": "ready"})
    tenant = fields.String(metadata={"description": "A tenant other than the default: its name"})
    seed = fields.Integer(metadata={"example": 42, "description": "The tenant's seed of the fault dice"})
    fixture = fields.String(metadata={"example": "fixtures/default.json"})
    persistent = fields.Boolean()
    state = fields.String(
        metadata={"example": "memory", "description": "Where booking state lives (MOCK_STORE): memory or redis"}
    )
    anchor_sec = fields.Integer()
    counts = fields.Nested(CountsSchema)
    clock = fields.Nested(ClockStateSchema)
    store = fields.Nested(StoreStateSchema, metadata={"description": "With MOCK_DB_PATH: the persistence log"})
    recording = fields.Nested(RecordingStateSchema, metadata={"description": "With MOCK_RECORD=1: the journal"})
    logs = fields.Nested(LogStateSchema, metadata={"description": "When served (not as a library): the log buffer"})


class InventoryEntrySchema(Schema):
    """The inventory entry a booking holds (or held, once cancelled)."""

    start_sec = fields.Integer()
    duration_sec = fields.Integer()
    staff_id = fields.String()
    room_id = fields.String()
    party_size = fields.Integer()


class AdminBookingSchema(Schema):
    """A v3 Booking plus what only the sandbox knows."""

    booking_id = fields.String()
    slot = fields.Dict()
    user_information = fields.Dict()
    status = fields.String(validate=OneOf(BOOKING_STATUSES))
    payment_information = fields.Dict()
    offer_info = fields.Dict()
    prepayment_status = fields.String()
    created_sec = fields.Integer()
    updated_sec = fields.Integer()
    idempotency_token = fields.String()
    inventory_entry = fields.Nested(InventoryEntrySchema, allow_none=True)


class BookingListSchema(Schema):
    """Admin bookings list."""

    bookings = fields.List(fields.Nested(AdminBookingSchema))
    count = fields.Integer()


class AdminMarketingPreferenceSchema(Schema):
    """A user's marketing preference, as the last SetMarketingPreference set it."""

    user_information = fields.Dict()
    user_to_receive_marketing = fields.Boolean()
    updated_sec = fields.Integer(metadata={"description": "sandbox time of the SetMarketingPreference"})


class MarketingPreferenceListSchema(Schema):
    """Admin marketing-preferences list."""

    marketing_preferences = fields.List(fields.Nested(AdminMarketingPreferenceSchema))
    count = fields.Integer()


class StateDocumentSchema(Schema):
    """A tenant's state snapshot (storage/snapshot.py): PUT /_admin/state takes back what GET answers."""

    format = fields.Integer(metadata={"example": 1, "description": "the document's format version"})
    inventory = fields.Dict(metadata={"description": "fixture_digest and anchor_sec: the inventory it was saved on"})
    clock = fields.Dict(metadata={"description": "frozen_at (epoch second or null) and offset (seconds)"})
    next_seq = fields.Integer(metadata={"description": "the number the next booking id takes"})
    bookings = fields.List(fields.Dict())
    idempotency = fields.List(fields.Dict(), metadata={"description": "token, fingerprint and the booking answered"})
    marketing_preferences = fields.List(fields.Dict())
    fault_rules = fields.Dict(metadata={"description": "rules (with fired counts), retired and next_id"})
    settings = fields.Dict(metadata={"description": "the fidelity settings: strict and response_profile"})
    waitlist_entries = fields.List(fields.Dict(), metadata={"description": "the waitlist entries (optional)"})
    waitlist_idempotency = fields.List(
        fields.Dict(),
        metadata={"description": "token, fingerprint and entry_id of each CreateWaitlistEntry (optional)"},
    )


class AdminWaitlistEntrySchema(Schema):
    """A waitlist entry as the admin API shows it: the wire's WaitlistEntry plus who, where and the planned course."""

    waitlist_entry_id = fields.String()
    merchant_id = fields.String()
    service_id = fields.String()
    party_size = fields.Integer()
    user_information = fields.Dict()
    additional_request = fields.String()
    waitlist_entry = fields.Dict(metadata={"description": "as GetWaitlistEntry answers it now"})
    timeline = fields.List(fields.Dict(), metadata={"description": "every (state, at_sec) of its course"})


class WaitlistListSchema(Schema):
    """Admin waitlist listing."""

    waitlist_entries = fields.List(fields.Nested(AdminWaitlistEntrySchema))
    count = fields.Integer()
