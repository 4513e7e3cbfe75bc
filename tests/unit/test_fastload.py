"""The compiled fast loader gives marshmallow's result for valid input and declines everything else."""

import copy

import pytest
from flask import Flask
from marshmallow import ValidationError

from mock_server.api import fastload
from mock_server.v3 import contract as schemas
from mock_server.v3 import examples

from ..helpers import broken_variants

VALID = [
    (schemas.BatchAvailabilityLookupRequestSchema, examples.BAL_REQUEST),
    (schemas.BatchAvailabilityLookupRequestSchema,
     {"merchantId": "m", "slotTime": [{"serviceId": "s", "startSec": 1767279600, "durationSec": "60"}]}),
    (schemas.CheckAvailabilityRequestSchema, examples.CHECK_REQUEST),
    (schemas.CreateBookingRequestSchema, examples.CREATE_REQUEST),
    (schemas.CreateBookingRequestSchema, {
        **examples.CREATE_REQUEST, "payment_information": {"prepayment_status": "PREPAYMENT_PROVIDED",
                                                           "price": {"price_micros": 5, "currency_code": "USD"}},
        "payment_processing_parameters": {"unparsed_payment_method_token": "tok"}, "offer_id": "o",
        "user_information": {**examples.CREATE_REQUEST["user_information"], "address": {"country": "US"}},
        "extra": 1}),
    (schemas.UpdateBookingRequestSchema, examples.UPDATE_REQUEST),
    (schemas.UpdateBookingRequestSchema, {"booking": {"booking_id": "b", "status": "CANCELED"}, "update_mask": "x"}),
    (schemas.GetBookingStatusRequestSchema, {"booking_id": "b"}),
    (schemas.ListBookingsRequestSchema, {"user_id": "u", "ignored": None}),
]


@pytest.fixture
def context():
    with Flask(__name__).test_request_context():
        yield


@pytest.mark.parametrize("schema_cls,body", VALID)
def test_valid_bodies_take_the_fast_path_with_the_same_result(context, schema_cls, body):
    schema = schema_cls()
    assert fastload.compile_schema(schema)(copy.deepcopy(body)) == schema.load(copy.deepcopy(body))


@pytest.mark.parametrize("schema_cls,body", VALID)
def test_every_broken_variant_is_declined_or_loads_the_same(context, schema_cls, body):
    schema = schema_cls()
    fast = fastload.compile_schema(schema)
    checked = 0
    for variant in broken_variants(body):
        try:
            expected = schema.load(copy.deepcopy(variant))
        except ValidationError:
            with pytest.raises(fastload.Fallback):
                fast(copy.deepcopy(variant))
            checked += 1
            continue
        try:
            assert fast(copy.deepcopy(variant)) == expected
        except fastload.Fallback:
            pass  # declining is always allowed: marshmallow then answers
    assert checked > 0


def test_non_object_bodies_are_declined():
    fast = fastload.compile_schema(schemas.ListBookingsRequestSchema())
    for body in ([], "x", 1, None):
        with pytest.raises(fastload.Fallback):
            fast(body)


def test_unknown_fields_of_a_raise_schema_are_declined():
    from marshmallow import RAISE, Schema, fields

    class Strict(Schema):
        class Meta:
            unknown = RAISE

        times = fields.Integer()

    fast = fastload.compile_schema(Strict())
    assert fast({"times": 1}) == {"times": 1}
    with pytest.raises(fastload.Fallback):
        fast({"tims": 1})
