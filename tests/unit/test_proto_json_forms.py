"""The one integer parser of the wire (proto_integer), enums by number, and the fidelity settings' start-up checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mock_server.api.common import proto_integer
from mock_server.config import Settings
from mock_server.domain import models as m

PROTO = Path(__file__).resolve().parent.parent / "proto" / "v3.proto"


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (1700000000, 1700000000),
        ("1700000000", 1700000000),
        (" -42 ", -42),
        (1.7e9, 1700000000),
        (1700000000.0, 1700000000),
        ("1.7e9", 1700000000),
        ("1.7E+9", 1700000000),
        ("1700000000.000", 1700000000),
        ("170e-1", 17),
        (".5e1", 5),
    ],
)
def test_every_form_protobuf_reads_as_an_integer_is_read(value, number):
    assert proto_integer(value) == number


@pytest.mark.parametrize("value", [1.5, "1.5", "17e-10", float("inf"), float("nan"), True, None, "", "0x10", [1]])
def test_what_is_not_a_whole_number_is_a_value_error(value):
    with pytest.raises(ValueError):
        proto_integer(value)


@pytest.mark.parametrize(
    "value", ["1e999999999", "9" * 5000, "-" + "1" * 30, "1e99999999999999999999", "1e-99999999999999999999"]
)
def test_what_is_far_out_of_range_is_refused_before_it_is_built(value):
    with pytest.raises(OverflowError):
        proto_integer(value)


@pytest.mark.parametrize(
    ("proto_enum", "values"),
    [
        ("ConfirmationMode", m.CONFIRMATION_MODES),
        ("BookingStatus", m.BOOKING_STATUSES),
        ("PrepaymentStatus", m.PREPAYMENT_STATUSES),
        ("CreditCardType", m.CREDIT_CARD_TYPES),
    ],
)
def test_the_domain_lists_each_enum_in_number_order_as_enums_by_number_rely_on(proto_enum, values):
    line = re.search(rf"enum {proto_enum} {{([^}}]*)}}", PROTO.read_text()).group(1)
    numbered = dict((name, int(n)) for name, n in re.findall(r"(\w+) = (\d+);", line))
    assert [numbered[name] for name in values] == list(range(len(values)))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"MOCK_RESPONSE_PROFILE": "compact"},
            "MOCK_RESPONSE_PROFILE must be one of canonical, minimal, numbers, got 'compact'",
        ),
        ({"MOCK_STRICT": "maybe"}, "MOCK_STRICT must be a boolean (1/0, true/false, yes/no, on/off), got 'maybe'"),
    ],
)
def test_a_bad_fidelity_setting_refuses_to_start_with_one_line(environ, message):
    with pytest.raises(SystemExit) as refused:
        Settings.load(environ)
    assert str(refused.value) == message
