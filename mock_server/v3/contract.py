"""v3 request messages as marshmallow schemas: one per proto message, names as in the spec."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Length, Range

from ..api.common import BaseSchema, Bool, Int32, Int64, ProtoEnum, enum_field
from ..domain import models as m

NON_EMPTY = Length(min=1, error="must not be empty")

# A schema method's part in loading, as the request loader (v3/loader.py) finds it: decorate with
# @builds or @checks only (never marshmallow's bare post_load/validates_schema), so that no hook is hidden from it.
ROLE = "contract_role"
BUILDS, CHECKS = "builds", "checks"


def builds(method: Callable[..., Any]) -> Callable[..., Any]:
    """Marks the method that turns the loaded fields into the message's value (marshmallow's post_load)."""
    setattr(method, ROLE, BUILDS)
    return post_load(method)


def checks(method: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a check across fields that raises ValidationError (marshmallow's validates_schema)."""
    setattr(method, ROLE, CHECKS)
    return validates_schema(method)


def _required_str(**kwargs):
    return fields.String(required=True, validate=NON_EMPTY, **kwargs)


class ResourceIdsSchema(BaseSchema):
    """ResourceIds: staff, room, or (dining) party size."""

    staff_id = fields.String()
    room_id = fields.String()
    party_size = Int32(validate=Range(min=0, max=10_000), metadata={"example": 2})


class SlotTimeSchema(BaseSchema):
    """SlotTime of a BatchAvailabilityLookup request."""

    service_id = _required_str(metadata={"example": "dinner"})
    start_sec = Int64(required=True, minimum=0)
    duration_sec = Int64(minimum=0, metadata={"example": "5400"})
    availability_tag = fields.String()
    resource_ids = fields.Nested(ResourceIdsSchema)
    confirmation_mode = enum_field(m.CONFIRMATION_MODES)


class SlotSchema(BaseSchema):
    """Slot: the bookable unit (merchant, service, start, duration, resources)."""

    merchant_id = fields.String(metadata={"example": "dining-001"})
    service_id = fields.String(metadata={"example": "dinner"})
    start_sec = Int64(minimum=0)
    duration_sec = Int64(minimum=0, metadata={"example": "5400"})
    availability_tag = fields.String()
    resources = fields.Nested(ResourceIdsSchema)
    confirmation_mode = enum_field(m.CONFIRMATION_MODES)


class BookableSlotSchema(SlotSchema):
    """A Slot that must name everything CreateBooking and CheckAvailability need."""

    merchant_id = _required_str(metadata={"example": "dining-001"})
    service_id = _required_str(metadata={"example": "dinner"})
    start_sec = Int64(required=True, minimum=0)
    duration_sec = Int64(required=True, minimum=0, metadata={"example": "5400"})

    @builds
    def _to_spec(self, data, **kwargs):
        return slot_spec(data["merchant_id"], data, "resources")


class PostalAddressSchema(BaseSchema):
    """PostalAddress of a user."""

    country = fields.String()
    locality = fields.String()
    region = fields.String()
    postal_code = fields.String()
    street_address = fields.String()


class UserInformationSchema(BaseSchema):
    """UserInformation; CreateBooking requires ids, names, telephone and email."""

    user_id = _required_str(metadata={"example": "4242424242424242424"})
    given_name = _required_str(metadata={"example": "Ada"})
    family_name = _required_str(metadata={"example": "Lovelace"})
    address = fields.Nested(PostalAddressSchema)
    telephone = _required_str(metadata={"example": "+1 555-010-0101"})
    email = _required_str(metadata={"example": "ada@example.com"})
    language_code = fields.String()

    @builds
    def _to_user(self, data, **kwargs):
        return user_information(data)


class PriceSchema(BaseSchema):
    """Price in micros of a currency."""

    price_micros = Int64(metadata={"example": "45000000"})
    currency_code = fields.String(metadata={"example": "USD"})
    pricing_option_tag = fields.String()


class DepositSchema(BaseSchema):
    """Deposit charged or held."""

    deposit = fields.Nested(PriceSchema)
    min_advance_cancellation_sec = Int64()
    deposit_type = enum_field(("FIXED_RATE_DEFAULT", "PER_PERSON"))


class NoShowFeeSchema(BaseSchema):
    """Fee charged on a no-show."""

    fee = fields.Nested(PriceSchema)
    fee_type = enum_field(("FIXED_RATE_DEFAULT", "PER_PERSON"))


class PaymentInformationSchema(BaseSchema):
    """PaymentInformation; echoed back in the booking."""

    prepayment_status = enum_field(m.PREPAYMENT_STATUSES, metadata={"example": "PREPAYMENT_NOT_PROVIDED"})
    payment_transaction_id = fields.String()
    price = fields.Nested(PriceSchema)
    tax_amount = fields.Nested(PriceSchema)
    fees = fields.Nested(PriceSchema)
    fees_and_taxes = fields.Nested(PriceSchema)
    deposit = fields.Nested(DepositSchema)
    no_show_fee = fields.Nested(NoShowFeeSchema)
    payment_processed_by = enum_field(
        ("PAYMENT_PROCESSED_BY_UNSPECIFIED", "PROCESSED_BY_GOOGLE", "PROCESSED_BY_PARTNER")
    )
    payment_option_id = fields.String()
    user_payment_option_id = fields.String()
    fraud_signals = fields.String()
    pa_response = fields.String()
    md_merchant_data = fields.String()


class PaymentProcessingParametersSchema(BaseSchema):
    """Payment token data when the partner processes the payment."""

    processor = enum_field(("PAYMENT_PROCESSOR_UNSPECIFIED", "PROCESSOR_STRIPE", "PROCESSOR_BRAINTREE"))
    payment_method_token = fields.String()
    unparsed_payment_method_token = fields.String()
    version = fields.String()
    payment_processor = fields.String()
    tokenization_config = fields.Dict()


class LeaseReferenceSchema(BaseSchema):
    """Legacy lease reference (accepted, not enforced)."""

    lease_id = fields.String()


class BatchAvailabilityLookupRequestSchema(BaseSchema):
    """BatchAvailabilityLookupRequest."""

    merchant_id = _required_str(metadata={"example": "dining-001"})
    slot_time = fields.List(
        fields.Nested(SlotTimeSchema), required=True, validate=Length(min=1, error="must list at least one slot_time")
    )

    @builds
    def _to_specs(self, data, **kwargs):
        return {
            "merchant_id": data["merchant_id"],
            "specs": [slot_spec(data["merchant_id"], st, "resource_ids") for st in data["slot_time"]],
        }


class CheckAvailabilityRequestSchema(BaseSchema):
    """CheckAvailabilityRequest (legacy)."""

    slot = fields.Nested(BookableSlotSchema, required=True)


class CreateBookingRequestSchema(BaseSchema):
    """CreateBookingRequest."""

    slot = fields.Nested(BookableSlotSchema, required=True)
    lease_ref = fields.Nested(LeaseReferenceSchema)
    user_information = fields.Nested(UserInformationSchema, required=True)
    payment_information = fields.Nested(PaymentInformationSchema)
    payment_processing_parameters = fields.Nested(PaymentProcessingParametersSchema)
    idempotency_token = _required_str(metadata={"example": "7700112233445566778"})
    additional_request = fields.String()
    offer_id = fields.String()
    deal_id = fields.String()

    @builds
    def _canonical_payment(self, data, **kwargs):
        if "payment_information" in data:
            # Stored in canonical wire form (int64 as strings) so the echo is exact.
            data["payment_information"] = wire_form(data["payment_information"])
        params = data.get("payment_processing_parameters") or {}
        data["payment_token_given"] = bool(
            params.get("unparsed_payment_method_token") or params.get("payment_method_token")
        )
        return data


def wire_form(value: dict) -> dict:
    """A loaded PaymentInformation as PaymentInformationSchema().dump writes it: its numbers are all int64s,
    which go back to strings (dump takes ~15 µs, longer than loading the whole CreateBooking)."""
    out = {}
    for key, item in value.items():
        if type(item) is dict:
            item = wire_form(item)
        elif type(item) is int:
            item = str(item)
        out[key] = item
    return out


def _only_int64_numbers(schema) -> bool:
    """Are the schema's fields strings, int64s and messages of the same (what wire_form relies on)?"""
    return all(
        type(field) in (fields.String, ProtoEnum, Int64)
        or (type(field) is fields.Nested and not field.many and _only_int64_numbers(field.schema))
        for field in schema.fields.values()
    )


if not _only_int64_numbers(PaymentInformationSchema()):
    raise RuntimeError("PaymentInformation has a field wire_form does not write as dump does: update it")


class BookingUpdateSchema(BaseSchema):
    """The Booking of an UpdateBookingRequest: its id plus only the fields that change."""

    booking_id = _required_str(metadata={"example": "B0000001"})
    slot = fields.Nested(SlotSchema)
    status = enum_field(m.BOOKING_STATUSES)
    # Booking fields UpdateBooking does not change: a whole booking echoed back carries them (strict mode objects
    # only to a different value: methods.unsupported_changes).
    user_information = fields.Dict()
    payment_information = fields.Dict()
    offer_info = fields.Dict()
    virtual_session_info = fields.Dict()

    @checks
    def _something_to_do(self, data, **kwargs):
        if "status" not in data and "slot" not in data:
            raise ValidationError("give a status (to cancel) or a slot (to reschedule)", "booking")


class UpdateBookingRequestSchema(BaseSchema):
    """UpdateBookingRequest (a legacy update_mask is accepted and ignored)."""

    booking = fields.Nested(BookingUpdateSchema, required=True)
    update_mask = fields.Raw(load_only=True)


class GetBookingStatusRequestSchema(BaseSchema):
    """GetBookingStatusRequest."""

    booking_id = _required_str(metadata={"example": "B0000001"})


class ListBookingsRequestSchema(BaseSchema):
    """ListBookingsRequest."""

    user_id = _required_str(metadata={"example": "4242424242424242424"})


class SetMarketingPreferenceRequestSchema(BaseSchema):
    """SetMarketingPreferenceRequest (an add-on Google enables per integration)."""

    user_information = fields.Nested(UserInformationSchema, required=True)
    # Required in the doc, but a proto3 bool: a printer that omits defaults sends `false` as no field at all.
    user_to_receive_marketing = Bool(load_default=False, metadata={"example": True})


class WaitlistUserInformationSchema(UserInformationSchema):
    """UserInformation of a waitlist entry: the email is not required for waitlists."""

    email = fields.String(metadata={"example": "ada@example.com"})


class BatchGetWaitEstimatesRequestSchema(BaseSchema):
    """BatchGetWaitEstimatesRequest: the party sizes to estimate the wait of (no duplicates)."""

    merchant_id = _required_str(metadata={"example": "dining-001"})
    service_id = _required_str(metadata={"example": "dinner"})
    party_size = fields.List(
        Int32(validate=Range(min=1, max=10_000)),
        required=True,
        validate=Length(min=1, max=100),
        metadata={"example": [2, 4]},
    )

    @checks
    def _distinct(self, data, **kwargs):
        sizes = data.get("party_size") or []
        if len(set(sizes)) != len(sizes):
            raise ValidationError("must not repeat a party size", "party_size")


class CreateWaitlistEntryRequestSchema(BaseSchema):
    """CreateWaitlistEntryRequest."""

    merchant_id = _required_str(metadata={"example": "dining-001"})
    service_id = _required_str(metadata={"example": "dinner"})
    party_size = Int32(required=True, validate=Range(min=1, max=10_000), metadata={"example": 3})
    user_information = fields.Nested(WaitlistUserInformationSchema, required=True)
    additional_request = fields.String()
    idempotency_token = _required_str(metadata={"example": "wl-token-1"})


class WaitlistEntryIdRequestSchema(BaseSchema):
    """GetWaitlistEntryRequest and DeleteWaitlistEntryRequest: the entry's id."""

    waitlist_entry_id = _required_str(metadata={"example": "W0000001"})


_SLOT_SPEC_FIELDS = (
    "merchant_id",
    "service_id",
    "start_sec",
    "duration_sec",
    "staff_id",
    "room_id",
    "party_size",
    "availability_tag",
    "confirmation_mode",
    "has_resources",
)
if m.SlotSpec._fields != _SLOT_SPEC_FIELDS:
    raise RuntimeError("slot_spec builds SlotSpec field by field, in this order: update it with the model")
_new_tuple = tuple.__new__


def slot_spec(merchant_id: str, data: dict, resources_key: str) -> m.SlotSpec:
    """A domain SlotSpec from a loaded SlotTime or Slot."""
    get = data.get
    resources = get(resources_key)
    if resources is None:
        staff, room, party = "", "", 0
    else:
        staff, room, party = resources.get("staff_id", ""), resources.get("room_id", ""), resources.get("party_size", 0)
    # tuple.__new__ with every field: a lookup builds one per slot_time, and the NamedTuple's __new__ is 3x slower.
    return _new_tuple(
        m.SlotSpec,
        (
            merchant_id,
            data["service_id"],
            data["start_sec"],
            get("duration_sec"),
            staff,
            room,
            party,
            get("availability_tag", ""),
            get("confirmation_mode", ""),
            resources is not None,
        ),
    )


def user_information(data: dict) -> m.UserInformation:
    """A domain UserInformation from a loaded UserInformation message."""
    address = tuple(sorted((k, v) for k, v in (data.get("address") or {}).items() if v))
    return m.UserInformation(
        user_id=data["user_id"],
        given_name=data["given_name"],
        family_name=data["family_name"],
        telephone=data["telephone"],
        email=data.get("email", ""),
        language_code=data.get("language_code", ""),
        address=address,
    )
