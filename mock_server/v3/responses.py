"""v3 response messages as marshmallow schemas: the OpenAPI document and conformance tests use them.

Answers themselves are encoded by wire.py (cheaper than dumping through marshmallow).
"""

from __future__ import annotations

from marshmallow import fields

from ..api.common import BaseSchema, Int32, Int64, enum_field
from ..domain import models as m
from ..domain import waitlist as w
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


class EstimatedSeatTimeRangeSchema(BaseSchema):
    """EstimatedSeatTimeRange: epoch seconds."""

    start_seconds = Int64(required=True)
    end_seconds = Int64(required=True)


class WaitLengthSchema(BaseSchema):
    """WaitLength: parties ahead and the estimated seat time range (empty: no wait)."""

    parties_ahead_count = Int32()
    estimated_seat_time_range = fields.Nested(EstimatedSeatTimeRangeSchema)


class WaitEstimateSchema(BaseSchema):
    """WaitEstimate of one party size."""

    party_size = Int32(required=True)
    wait_length = fields.Nested(WaitLengthSchema)
    waitlist_confirmation_mode = enum_field(w.CONFIRMATION_MODES)


class BatchGetWaitEstimatesResponseSchema(BaseSchema):
    """BatchGetWaitEstimatesResponse: the status; estimates only while OPEN."""

    waitlist_status = enum_field(w.WAITLIST_STATUSES, required=True)
    wait_estimate = fields.List(fields.Nested(WaitEstimateSchema))


class WaitlistBusinessLogicFailureSchema(BaseSchema):
    """WaitlistBusinessLogicFailure: a business failure, sent with HTTP 200."""

    cause = enum_field(w.CAUSES, required=True)
    description = fields.String()


class CreateWaitlistEntryResponseSchema(BaseSchema):
    """CreateWaitlistEntryResponse: the new entry's id or a waitlist_business_logic_failure."""

    waitlist_entry_id = fields.String()
    waitlist_business_logic_failure = fields.Nested(WaitlistBusinessLogicFailureSchema)


class WaitlistEntryStateTimesSchema(BaseSchema):
    """WaitlistEntryStateTimes: epoch seconds of each state reached."""

    created_time_seconds = Int64(required=True)
    canceled_time_seconds = Int64()
    service_readied_time_seconds = Int64()
    checked_in_time_seconds = Int64()
    seated_time_seconds = Int64()
    marked_no_show_time_seconds = Int64()


class WaitlistEntrySchema(BaseSchema):
    """WaitlistEntry: its state, the times of its states, and its current wait estimate."""

    waitlist_entry_state = enum_field(w.ENTRY_STATES, required=True)
    waitlist_entry_state_times = fields.Nested(WaitlistEntryStateTimesSchema, required=True)
    wait_estimate = fields.Nested(WaitEstimateSchema)


class GetWaitlistEntryResponseSchema(BaseSchema):
    """GetWaitlistEntryResponse."""

    waitlist_entry = fields.Nested(WaitlistEntrySchema, required=True)


class EmptySchema(BaseSchema):
    """google.protobuf.Empty (DeleteWaitlistEntry's answer)."""
