"""The fast path's readers return the schema's exact result, or None; never a different answer."""

import copy

import pytest
from flask import Flask, request
from marshmallow import ValidationError

from mock_server.api.booking_v3 import fastread
from mock_server.api.common import NOTES_KEY
from mock_server.v3 import contract as schemas
from mock_server.v3 import examples

from ..helpers import broken_variants

USER = {"user_id": "u-1", "given_name": "Ada", "family_name": "Lovelace", "telephone": "+1 555-010-0101",
        "email": "ada@example.com"}
SLOT = {"merchant_id": "m", "service_id": "s", "start_sec": "1767279600", "duration_sec": "5400"}


def _lookup(body):
    return fastread.batch_availability_lookup(body, max_slot_times=1000)


READERS = {"lookup": (_lookup, schemas.BatchAvailabilityLookupRequestSchema),
           "create": (fastread.create_booking, schemas.CreateBookingRequestSchema),
           "cancel": (fastread.cancel_booking, schemas.UpdateBookingRequestSchema)}

VALID = [
    ("lookup", examples.BAL_REQUEST),
    ("lookup", {"merchant_id": "m", "slot_time": [
        {"service_id": "s", "start_sec": "0"},
        {"service_id": "s", "start_sec": "0012", "duration_sec": "60", "availability_tag": "",
         "confirmation_mode": "CONFIRMATION_MODE_ASYNCHRONOUS", "resource_ids": {}},
        {"service_id": "s", "start_sec": "1767279600", "availability_tag": "t",
         "resource_ids": {"staff_id": "st", "room_id": "", "party_size": 0}}]}),
    ("create", {"slot": SLOT, "user_information": USER, "idempotency_token": "t"}),
    ("create", {"slot": {**SLOT, "resources": {"party_size": 2}, "availability_tag": "a",
                         "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS"},
                "user_information": {**USER, "language_code": "en", "address": {"country": "US", "locality": ""}},
                "idempotency_token": "t", "offer_id": "o", "deal_id": "d", "additional_request": "window"}),
    ("cancel", {"booking": {"booking_id": "B0000001", "status": "CANCELED"}}),
]
# Beyond the usual corruptions: int64 spellings marshmallow reads (and one it reads with a warning).
REPLACEMENTS = ("__drop__", None, True, 3.5, "x" * 3, {"a": 1}, [], -1, "", 7, "-0", " 5", "٣", "9" * 19,
                "9" * 20, "CANCELED", "CONFIRMATION_MODE_SYNCHRONOUS")


def schema_result(schema_cls, body):
    """(loaded, warnings) from the schema, as the Flask path gets them; ValidationError propagates."""
    with Flask(__name__).test_request_context():
        loaded = schema_cls().load(copy.deepcopy(body))
        return loaded, (request.environ.get(NOTES_KEY) or {}).get("warnings", [])


@pytest.mark.parametrize("reader,body", VALID)
def test_valid_bodies_read_the_same_as_the_schema(reader, body):
    read, schema_cls = READERS[reader]
    expected, warnings = schema_result(schema_cls, body)
    assert warnings == []
    assert read(copy.deepcopy(body)) == expected


@pytest.mark.parametrize("reader,body", VALID)
def test_every_variant_is_read_the_same_or_declined(reader, body):
    read, schema_cls = READERS[reader]
    taken = declined = 0
    for variant in broken_variants(body, REPLACEMENTS):
        fast = read(copy.deepcopy(variant))
        try:
            expected, warnings = schema_result(schema_cls, variant)
        except ValidationError:
            assert fast is None, variant  # an invalid body must reach the schema for its 400
            declined += 1
            continue
        if warnings:
            assert fast is None, (variant, warnings)  # the warning would be lost on the fast path
        elif fast is not None:
            assert fast == expected, variant
            taken += 1
    assert taken and declined


@pytest.mark.parametrize("body", [
    {"merchant_id": "m", "slot_time": [{"service_id": "s", "start_sec": "1"}], "extra": 1},  # warns
    {"merchant_id": "m", "slot_time": [{"service_id": "s", "start_sec": 1}]},  # warns: int64 as a number
    {"merchantId": "m", "slot_time": [{"service_id": "s", "start_sec": "1"}]},  # proto3 JSON camelCase
    {"merchant_id": "m", "slot_time": [{"service_id": "s", "startSec": "1"}]},
    {"merchant_id": "m", "slot_time": [{"service_id": "s", "start_sec": "1", "resource_ids": None}]},
])
def test_other_spellings_the_schema_reads_are_left_to_it(body):
    loaded, _ = schema_result(schemas.BatchAvailabilityLookupRequestSchema, body)
    assert loaded["specs"][0].start_sec == 1
    assert _lookup(body) is None


def test_a_lookup_over_the_slot_time_limit_is_left_to_the_view():
    body = {"merchant_id": "m", "slot_time": [{"service_id": "s", "start_sec": "1"}] * 3}
    assert fastread.batch_availability_lookup(body, max_slot_times=2) is None
    assert len(fastread.batch_availability_lookup(body, max_slot_times=3)["specs"]) == 3


@pytest.mark.parametrize("booking", [
    {"booking_id": "B1", "status": "CONFIRMED"},
    {"booking_id": "B1", "status": "CANCELED", "slot": {"start_sec": "1"}},
    {"booking_id": "B1", "slot": {"start_sec": "1"}},
])
def test_only_a_plain_cancellation_takes_the_fast_path(booking):
    assert fastread.cancel_booking({"booking": booking}) is None


def test_payment_data_is_always_left_to_the_schema():
    assert fastread.create_booking(copy.deepcopy(examples.CREATE_REQUEST)) is None
    body = {"slot": SLOT, "user_information": USER, "idempotency_token": "t",
            "payment_processing_parameters": {"payment_method_token": "tok"}}
    assert fastread.create_booking(body) is None
