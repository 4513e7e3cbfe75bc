"""v3 response messages as marshmallow schemas: the OpenAPI document and conformance tests use them.

Answers themselves are encoded by wire.py (cheaper than dumping through marshmallow).
"""

from __future__ import annotations

from marshmallow import fields

from ..api.common import BaseSchema, enum_field
from ..domain import models as m
from .contract import (
    PaymentInformationSchema,
    SlotSchema,
    SlotTimeSchema,
    UserInformationSchema,
)


class SlotTimeAvailabilitySchema(BaseSchema):
    """One answer of a BatchAvailabilityLookup."""

    slot_time = fields.Nested(SlotTimeSchema, required=True)
    available = fields.Boolean(required=True)


class BatchAvailabilityLookupResponseSchema(BaseSchema):
    """BatchAvailabilityLookupResponse: one entry per requested slot_time, in order."""

    slot_time_availability = fields.List(fields.Nested(SlotTimeAvailabilitySchema), required=True)


class CheckAvailabilityResponseSchema(BaseSchema):
    """CheckAvailabilityResponse (legacy)."""

    slot = fields.Nested(SlotSchema, required=True)
    count_available = fields.Integer(required=True)


class OfferInfoSchema(BaseSchema):
    """OfferInfo."""

    offer_id = fields.String()


class BookingSchema(BaseSchema):
    """Booking."""

    booking_id = fields.String(required=True)
    slot = fields.Nested(SlotSchema)
    user_information = fields.Nested(UserInformationSchema)
    status = enum_field(m.BOOKING_STATUSES)
    payment_information = fields.Nested(PaymentInformationSchema)
    offer_info = fields.Nested(OfferInfoSchema)


class ThreeDS1ParametersSchema(BaseSchema):
    """3-D Secure 1 challenge parameters."""

    acs_url = fields.String()
    pa_req = fields.String()
    transaction_id = fields.String()
    md_merchant_data = fields.String()


class PaymentFailureInformationSchema(BaseSchema):
    """PaymentFailureInformation."""

    threeds1_parameters = fields.Nested(ThreeDS1ParametersSchema)


class BookingFailureSchema(BaseSchema):
    """BookingFailure: a business failure, sent with HTTP 200."""

    cause = enum_field(m.FAILURE_CAUSES, required=True)
    rejected_card_type = enum_field(m.CREDIT_CARD_TYPES)
    description = fields.String()
    payment_failure = fields.Nested(PaymentFailureInformationSchema)


class BookingResultSchema(BaseSchema):
    """CreateBookingResponse / UpdateBookingResponse: a booking or a booking_failure."""

    booking = fields.Nested(BookingSchema)
    user_payment_option = fields.Dict()
    booking_failure = fields.Nested(BookingFailureSchema)


class GetBookingStatusResponseSchema(BaseSchema):
    """GetBookingStatusResponse."""

    booking_id = fields.String(required=True)
    booking_status = enum_field(m.BOOKING_STATUSES, required=True)
    prepayment_status = enum_field(m.PREPAYMENT_STATUSES, required=True)


class ListBookingsResponseSchema(BaseSchema):
    """ListBookingsResponse."""

    bookings = fields.List(fields.Nested(BookingSchema), required=True)


class SetMarketingPreferenceResponseSchema(BaseSchema):
    """SetMarketingPreferenceResponse: the user and the preference, as kept."""

    user_information = fields.Nested(UserInformationSchema, required=True)
    user_to_receive_marketing = fields.Boolean(required=True)
