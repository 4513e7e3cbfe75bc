"""Payment rules without a store: price check, what a token records, refund steps."""

import pytest

from mock_server.domain import payments
from mock_server.domain.errors import BookingFailed
from mock_server.domain.models import Service

HOUR = 3600
COLOR = Service(
    "m1",
    "color",
    "Color",
    "appointments",
    HOUR,
    price_micros=120_000_000,
    currency_code="USD",
    prepayment_required=True,
    refund_conditions=[
        {"min_duration_before_start_sec": 24 * HOUR, "refund_percent": 50},
        {"min_duration_before_start_sec": 48 * HOUR, "refund_percent": 100},
    ],
)
UNPRICED = Service("m2", "table", "Table", "dining", HOUR)


def _price(micros, currency="USD"):
    return {"price": {"price_micros": micros, "currency_code": currency}}


@pytest.mark.parametrize("payment", [None, {}, {"prepayment_status": "PREPAYMENT_PROVIDED"}, _price("120000000")])
def test_no_price_or_the_services_price_passes(payment):
    payments.check_price(COLOR, payment)


def test_a_price_as_a_python_int_is_compared_too():
    payments.check_price(COLOR, _price(120_000_000))
    with pytest.raises(BookingFailed):
        payments.check_price(COLOR, _price(1))


@pytest.mark.parametrize(
    ("payment", "description"),
    [
        (_price("1", "JPY"), "price 1 JPY does not match the service's price 120000000 USD"),
        (_price("1"), "price 1 USD does not match the service's price 120000000 USD"),
        (_price("120000000", "EUR"), "price 120000000 EUR does not match the service's price 120000000 USD"),
        (
            {"price": {"price_micros": "120000000"}},
            "price 120000000 (no currency) does not match the service's price 120000000 USD",
        ),
        ({"price": {}}, "price 0 (no currency) does not match the service's price 120000000 USD"),
    ],
)
def test_another_amount_or_currency_is_payment_error(payment, description):
    with pytest.raises(BookingFailed) as failure:
        payments.check_price(COLOR, payment)
    assert (failure.value.cause, failure.value.description, failure.value.extra) == ("PAYMENT_ERROR", description, {})


def test_a_service_without_a_price_has_nothing_to_check():
    payments.check_price(UNPRICED, _price("1", "JPY"))


def test_a_token_payment_records_provided_the_transaction_and_the_price_charged():
    assert payments.paid_by_token(COLOR, {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"}, "tok-1") == {
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "payment_transaction_id": "txn-65dcf16ea3dfa490",  # sha256 of the idempotency token: a retry answers it
        "price": {"price_micros": "120000000", "currency_code": "USD"},
    }
    assert payments.transaction_id("tok-2") == "txn-b9d7f2826c798e99"


def test_a_token_payment_keeps_what_the_client_sent_and_adds_no_price_the_service_lacks():
    sent = {"price": {"price_micros": "120000000", "currency_code": "USD", "pricing_option_tag": "std"}}
    assert payments.paid_by_token(COLOR, sent, "tok-1") == {
        **sent,
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "payment_transaction_id": "txn-65dcf16ea3dfa490",
    }
    assert payments.paid_by_token(UNPRICED, None, "tok-1") == {
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "payment_transaction_id": "txn-65dcf16ea3dfa490",
    }


@pytest.mark.parametrize(
    ("before_start", "percent"),
    [(72 * HOUR, 100), (48 * HOUR, 100), (48 * HOUR - 1, 50), (24 * HOUR, 50), (24 * HOUR - 1, 0), (0, 0)],
)
def test_the_best_refund_step_met_applies(before_start, percent):
    assert payments.refund_percent(COLOR, before_start) == percent


def test_no_refund_condition_is_not_refundable():
    assert payments.refund_percent(UNPRICED, 1000 * HOUR) == 0


PROVIDED = {"prepayment_status": "PREPAYMENT_PROVIDED", "payment_transaction_id": "txn-1"}


@pytest.mark.parametrize(
    ("service", "payment", "before_start", "after"),
    [
        (COLOR, PROVIDED, 48 * HOUR, {**PROVIDED, "prepayment_status": "PREPAYMENT_REFUNDED"}),
        (COLOR, PROVIDED, 30 * HOUR, {**PROVIDED, "prepayment_status": "PREPAYMENT_REFUNDED"}),  # partial: refunded
        (COLOR, PROVIDED, HOUR, PROVIDED),  # too late for any step: the merchant keeps it
        (UNPRICED, PROVIDED, 1000 * HOUR, PROVIDED),  # not refundable
        (
            COLOR,
            {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
            72 * HOUR,
            {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
        ),
        (COLOR, None, 72 * HOUR, None),
    ],
)
def test_a_cancel_refunds_a_prepayment_when_the_rule_allows(service, payment, before_start, after):
    assert payments.after_cancel(service, payment, before_start) == after
