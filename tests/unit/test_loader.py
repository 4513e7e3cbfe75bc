"""The request loader gives marshmallow's result and warnings for every valid body, and its exact 400 otherwise."""

import ast
import copy
import inspect
import re
from functools import partial

import pytest
from marshmallow import RAISE, Schema, ValidationError, fields

from mock_server.api.common import BaseSchema
from mock_server.v3 import contract as schemas
from mock_server.v3 import examples, exchange, loader, plans
from mock_server.v3.loader import RequestInvalid, invalid_request_message, loader_for

from ..helpers import broken_variants

USER = {
    "user_id": "u-1",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "telephone": "+1 555-010-0101",
    "email": "ada@example.com",
}
SLOT = {"merchant_id": "m", "service_id": "s", "start_sec": "1767279600", "duration_sec": "5400"}
PAYMENT = {
    "prepayment_status": "PREPAYMENT_PROVIDED",
    "payment_transaction_id": "tx",
    "price": {"price_micros": "45000000", "currency_code": "USD"},
    "deposit": {"deposit": {"price_micros": 5}, "min_advance_cancellation_sec": "3600", "deposit_type": "PER_PERSON"},
    "no_show_fee": {"fee": {"price_micros": "1"}, "fee_type": "FIXED_RATE_DEFAULT"},
}
BAL, CHECK, CREATE, UPDATE = (
    schemas.BatchAvailabilityLookupRequestSchema,
    schemas.CheckAvailabilityRequestSchema,
    schemas.CreateBookingRequestSchema,
    schemas.UpdateBookingRequestSchema,
)
STATUS, LIST = schemas.GetBookingStatusRequestSchema, schemas.ListBookingsRequestSchema

VALID = [
    (BAL, examples.BAL_REQUEST),
    (BAL, {"merchantId": "m", "slotTime": [{"serviceId": "s", "startSec": 1767279600, "durationSec": "60"}]}),
    (
        BAL,
        {
            "merchant_id": "m",
            "slot_time": [
                {"service_id": "s", "start_sec": "0"},
                {
                    "service_id": "s",
                    "start_sec": "0012",
                    "duration_sec": "60",
                    "availability_tag": "",
                    "confirmation_mode": "CONFIRMATION_MODE_ASYNCHRONOUS",
                    "resource_ids": {},
                },
                {
                    "service_id": "s",
                    "start_sec": " 5",
                    "availability_tag": "t",
                    "resource_ids": None,
                    "extra": {"a": 1},
                },
                {
                    "service_id": "s",
                    "start_sec": "1767279600",
                    "availability_tag": "t",
                    "resource_ids": {"staff_id": "st", "room_id": "", "party_size": 0, "PartySize": 3},
                },
            ],
            "note": "x",
        },
    ),
    (CHECK, examples.CHECK_REQUEST),
    (CREATE, examples.CREATE_REQUEST),
    (CREATE, {"slot": SLOT, "user_information": USER, "idempotency_token": "t"}),
    (
        CREATE,
        {
            "slot": {
                **SLOT,
                "resources": {"party_size": 2},
                "availability_tag": "a",
                "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS",
            },
            "user_information": {**USER, "language_code": "en", "address": {"country": "US", "locality": ""}},
            "idempotency_token": "t",
            "offer_id": "o",
            "deal_id": "d",
            "additional_request": "window",
            "lease_ref": {"lease_id": "l"},
        },
    ),
    (
        CREATE,
        {
            "slot": SLOT,
            "user_information": USER,
            "idempotency_token": "t",
            "payment_information": PAYMENT,
            "payment_processing_parameters": {
                "processor": "PROCESSOR_STRIPE",
                "payment_method_token": "tok",
                "tokenization_config": {"gateway": "x"},
            },
            "extra": 1,
        },
    ),
    (
        CREATE,
        {
            **examples.CREATE_REQUEST,
            "idempotency_token": None,
            "idempotencyToken": "t2",
            "offer_id": "a",
            "offerId": "b",
            "deal_id": "c",
            "dealId": None,
        },
    ),
    (UPDATE, examples.UPDATE_REQUEST),
    (UPDATE, {"booking": {"booking_id": "b", "status": "CANCELED"}, "update_mask": "x"}),
    (
        UPDATE,
        {
            "booking": {
                "booking_id": "B1",
                "slot": {"start_sec": 1, "resources": {"party_size": 4}},
                "user_information": {"given_name": "A"},
                "payment_information": {},
            }
        },
    ),
    (STATUS, {"booking_id": "b"}),
    (LIST, {"user_id": "u", "ignored": None}),
]
# Beyond the usual corruptions: int64 spellings Int64 reads (one with a warning) or refuses, enum names.
REPLACEMENTS = (
    "__drop__",
    None,
    True,
    3.5,
    "x" * 3,
    {"a": 1},
    [],
    -1,
    "",
    7,
    "-0",
    " 5",
    "٣",
    "9" * 18,
    "9" * 19,
    2**63,
    "CANCELED",
    "CONFIRMATION_MODE_SYNCHRONOUS",
    [None],
)


def camel(node):
    """The body with every key in lowerCamelCase (proto3 JSON's other spelling)."""
    if isinstance(node, dict):
        return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key): camel(value) for key, value in node.items()}
    if isinstance(node, list):
        return [camel(value) for value in node]
    return node


def noted(call):
    """(what `call` returned or raised, the warnings it noted) inside a fresh exchange."""
    served = exchange.Exchange(environ={}, path="/v3/X", http_method="POST")
    token = exchange.serving(served)
    try:
        try:
            return call(), served.warnings
        except (ValidationError, RequestInvalid) as error:
            return error, served.warnings
    finally:
        exchange.done(token)


def assert_same_as_marshmallow(schema_cls, body):
    """The loader's result (or 400) and warnings are marshmallow's; True when marshmallow found the body valid."""
    expected, expected_warnings = noted(lambda: schema_cls().load(copy.deepcopy(body)))
    got, warnings = noted(lambda: loader_for(schema_cls)(copy.deepcopy(body)))
    assert warnings == expected_warnings, body
    if isinstance(expected, ValidationError):
        assert isinstance(got, RequestInvalid), body
        assert got.errors == {"json": expected.messages}
        assert got.message == invalid_request_message({"json": expected.messages})
        return False
    assert got == expected and type(got) is type(expected), body
    return True


@pytest.mark.parametrize("spelling", [lambda body: body, camel], ids=["snake_case", "lowerCamelCase"])
@pytest.mark.parametrize("schema_cls,body", VALID)
def test_valid_bodies_load_as_marshmallow_loads_them(schema_cls, body, spelling):
    assert assert_same_as_marshmallow(schema_cls, spelling(body))


@pytest.mark.parametrize("schema_cls,body", VALID)
def test_valid_bodies_are_read_by_the_plan_without_marshmallow(schema_cls, body, monkeypatch):
    bodies = [body, camel(body)]
    expected = [schema_cls().load(copy.deepcopy(each)) for each in bodies]
    load = loader_for(schema_cls)
    monkeypatch.setattr(schema_cls, "load", lambda *args, **kwargs: pytest.fail("the plan declined a valid body"))
    assert [load(copy.deepcopy(each)) for each in bodies] == expected


@pytest.mark.parametrize("schema_cls,body", VALID)
def test_every_broken_variant_is_worded_as_marshmallow_words_it(schema_cls, body):
    outcomes = [assert_same_as_marshmallow(schema_cls, variant) for variant in broken_variants(body, REPLACEMENTS)]
    assert False in outcomes  # some variants are 400s: the test saw both kinds


@pytest.mark.parametrize(
    "payment",
    [
        PAYMENT,
        examples.CREATE_REQUEST["payment_information"],
        camel(PAYMENT),
        {"price": {"price_micros": 7, "pricing_option_tag": "p"}, "fees": {}},
    ],
)
def test_payment_information_is_kept_as_marshmallow_dumps_it(payment):
    body = {**examples.CREATE_REQUEST, "payment_information": payment}
    canonical = schemas.PaymentInformationSchema().dump(schemas.PaymentInformationSchema().load(payment))
    assert loader_for(CREATE)(body)["payment_information"] == canonical


def test_warnings_come_in_marshmallow_order_once_each():
    body = {
        "slotTime": [{"serviceId": "s", "startSec": 1, "x": 1}, {"service_id": "s", "start_sec": 2, "x": 2}],
        "y": 1,
        "merchant_id": "m",
        "z": None,
    }
    result, warnings = noted(lambda: loader_for(BAL)(body))
    assert [spec.start_sec for spec in result["specs"]] == [1, 2]
    assert warnings == [
        "unknown field ignored: y",
        "unknown field ignored: x",
        "int64 field start_sec sent as a JSON number (Google sends strings)",
    ]
    assert assert_same_as_marshmallow(BAL, body)


def test_an_invalid_body_is_the_400_marshmallow_words():
    with pytest.raises(RequestInvalid) as raised:
        loader_for(BAL)({"merchant_id": "m", "slot_time": [{"service_id": "s", "start_sec": "-1"}], "x": None})
    assert raised.value.message == "invalid request: slot_time.0.start_sec: must be at least 0"
    assert raised.value.errors == {"json": {"slot_time": {0: {"start_sec": ["must be at least 0"]}}}}
    with pytest.raises(RequestInvalid) as raised:
        loader_for(UPDATE)({"booking": {"booking_id": "B1"}})
    assert raised.value.message == (
        "invalid request: booking.booking: give a status (to cancel) or a slot (to reschedule)"
    )


def test_non_object_bodies_are_400s():
    for body in ([], "x", 1, None):
        with pytest.raises(RequestInvalid) as raised:
            loader_for(LIST)(body)
        assert raised.value.message == "invalid request: Invalid input type."


def test_many_key_shapes_load_the_same_as_few():
    load = loader_for(LIST)
    for n in range(200):  # more shapes than a message remembers
        body = {f"unknown{n}": n, "user_id": f"u{n}"}
        assert noted(partial(load, body)) == ({"user_id": f"u{n}"}, [f"unknown field ignored: unknown{n}"])


def test_a_plain_marshmallow_schema_loads_through_marshmallow():
    class Strict(Schema):
        class Meta:
            unknown = RAISE

        times = fields.Integer()

    assert loader_for(Strict)({"times": 1}) == {"times": 1}
    with pytest.raises(RequestInvalid) as raised:
        loader_for(Strict)({"tims": 1})
    assert raised.value.message == "invalid request: tims: Unknown field."
    assert loader_for(Strict) is loader_for(Strict)


def test_a_message_without_fields_reads_nothing_and_warns_of_every_key():
    class Empty(BaseSchema):
        pass

    assert noted(partial(loader_for(Empty), {"a": 1, "b": None})) == ({}, ["unknown field ignored: a"])


def test_contract_hooks_are_all_marked_for_the_loader():
    """A bare marshmallow hook would run in `load` but not in the loader's plan: contract.py uses none."""
    tree = ast.parse(inspect.getsource(schemas))
    decorators = [
        ast.unparse(d)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef)
        for d in item.decorator_list
    ]
    assert decorators and set(decorators) <= {"builds", "checks"}, decorators


@pytest.mark.parametrize("module", [loader, plans], ids=["loader", "plans"])
def test_the_loader_uses_no_private_names(module):
    """Only marshmallow's public API: no `x._name` anywhere in the modules, no import of a private module or name."""
    tree = ast.parse(inspect.getsource(module))
    private = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
    ]
    assert private == []
    imported = [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if (node.module or "").startswith("marshmallow")
    ]
    assert imported and all(
        module in ("marshmallow", "marshmallow.validate") and not name.startswith("_") for module, name in imported
    ), imported
