"""Admin request schemas."""

from marshmallow import Schema, ValidationError, fields, validates_schema
from marshmallow.validate import OneOf, Range

from ...domain.models import BOOKING_STATUSES


class ClockChangeSchema(Schema):
    """Freeze at an epoch second, advance by seconds, or unfreeze (one at a time)."""

    freeze_at_sec = fields.Integer(strict=True, validate=Range(min=0, max=2**40), metadata={"example": 1767225600})
    freeze = fields.Boolean(metadata={"description": "freeze at the current sandbox time"})
    advance_sec = fields.Integer(strict=True, validate=Range(min=-(2**40), max=2**40), metadata={"example": 3600})
    unfreeze = fields.Boolean()

    @validates_schema
    def _one_action(self, data, **kwargs):
        actions = [k for k in ("freeze_at_sec", "freeze", "advance_sec", "unfreeze") if data.get(k) not in (None, False)]
        if len(actions) != 1:
            raise ValidationError("give exactly one of freeze_at_sec, freeze, advance_sec, unfreeze")


class BookingFilterSchema(Schema):
    """Filters for the admin bookings list."""

    user_id = fields.String()
    merchant_id = fields.String()
    status = fields.String(validate=OneOf(BOOKING_STATUSES))
    limit = fields.Integer(load_default=1000, validate=Range(min=1, max=100_000))


class MerchantDecisionSchema(Schema):
    """A merchant's answer to a pending booking."""

    decision = fields.String(required=True, validate=OneOf(("confirm", "decline")))


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


class HealthSchema(Schema):
    """Readiness and sizes."""

    status = fields.String(metadata={"example": "ready"})
    seed = fields.Integer(metadata={"example": 42})
    fixture = fields.String(metadata={"example": "fixtures/default.json"})
    persistent = fields.Boolean()
    anchor_sec = fields.Integer()
    counts = fields.Nested(CountsSchema)
    clock = fields.Nested(ClockStateSchema)


class HeldSlotSchema(Schema):
    """The inventory entry a booking holds."""

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
    held_slot = fields.Nested(HeldSlotSchema, allow_none=True)


class BookingListSchema(Schema):
    """Admin bookings list."""

    bookings = fields.List(fields.Nested(AdminBookingSchema))
    count = fields.Integer()
