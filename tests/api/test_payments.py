"""Payments through /v3: a token pays, the price is checked, a cancel refunds per the rule; bodies asserted."""

from tests.helpers import create_body, slot_json, user

HOUR = 3600
COLOR_PRICE = {"price_micros": "95000000", "currency_code": "GBP"}  # salon-002 (UK) colouring, as its feed lists it
TOKEN = {"unparsed_payment_method_token": "tok_visa"}


def _slot(runtime, service_id: str, hours_ahead: int):
    """A synchronous entry of the service starting at least this long after the sandbox's now."""
    now = runtime.clock.now()
    return next(
        s
        for s in runtime.bookings.inventory.slots()
        if s.service_id == service_id
        and s.start_sec >= now + hours_ahead * HOUR
        and s.confirmation_mode == "CONFIRMATION_MODE_SYNCHRONOUS"
    )


def _create(client, slot, **changes) -> dict:
    response = client.post("/v3/CreateBooking", json=create_body(slot, **changes))
    assert response.status_code == 200
    return response.get_json()


def _cancel(client, booking_id: str) -> dict:
    response = client.post("/v3/UpdateBooking", json={"booking": {"booking_id": booking_id, "status": "CANCELED"}})
    assert response.status_code == 200
    return response.get_json()


def _status(client, booking_id: str) -> dict:
    return client.post("/v3/GetBookingStatus", json={"booking_id": booking_id}).get_json()


def _booking(slot, payment: dict, status: str = "CONFIRMED") -> dict:
    return {
        "booking_id": "B0000001",
        "slot": slot_json(slot),
        "user_information": user(1),
        "payment_information": payment,
        "status": status,
    }


def test_a_token_payment_answers_provided_with_the_charge_and_status_agrees(client, runtime):
    slot = _slot(runtime, "color", 72)
    body = _create(client, slot, token="pay-token", payment_processing_parameters=TOKEN)
    paid = {
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "payment_transaction_id": "txn-88d2429c17af6127",
        "price": COLOR_PRICE,
    }
    assert body == {"booking": _booking(slot, paid)}
    assert _status(client, "B0000001") == {
        "booking_id": "B0000001",
        "booking_status": "CONFIRMED",
        "prepayment_status": "PREPAYMENT_PROVIDED",
    }
    listed = client.post("/v3/ListBookings", json={"user_id": user(1)["user_id"]}).get_json()
    assert listed == {"bookings": [_booking(slot, paid)]}


def test_a_price_with_another_amount_or_currency_is_payment_error(client, runtime):
    slot = _slot(runtime, "color", 72)
    cases = [
        ({"price_micros": 1000000, "currency_code": "JPY"}, "price 1000000 JPY"),  # 1 JPY for a 95 GBP service
        ({"price_micros": "1000000", "currency_code": "GBP"}, "price 1000000 GBP"),
        ({"price_micros": "95000000", "currency_code": "EUR"}, "price 95000000 EUR"),  # the amount, in another currency
    ]
    for price, sent in cases:
        payment = {"prepayment_status": "PREPAYMENT_PROVIDED", "price": price}
        for extra in ({}, {"payment_processing_parameters": TOKEN}):
            assert _create(client, slot, payment_information=payment, **extra) == {
                "booking_failure": {
                    "cause": "PAYMENT_ERROR",
                    "description": f"{sent} does not match the service's price 95000000 GBP",
                }
            }
    assert runtime.bookings.counts()["bookings"] == 0
    assert runtime.bookings.spots_open(slot) == slot.spots_total


def test_the_services_price_is_accepted_and_echoed(client, runtime):
    slot = _slot(runtime, "color", 72)
    payment = {"prepayment_status": "PREPAYMENT_PROVIDED", "price": {"price_micros": 95000000, "currency_code": "GBP"}}
    assert _create(client, slot, payment_information=payment) == {
        "booking": _booking(slot, {"prepayment_status": "PREPAYMENT_PROVIDED", "price": COLOR_PRICE})
    }


def test_cancelling_a_refundable_prepaid_booking_refunds_it(client, runtime):
    slot = _slot(runtime, "color", 72)  # colouring: a full refund when cancelled 48 h or more before the start
    _create(client, slot, token="pay-refundable", payment_processing_parameters=TOKEN)
    refunded = {
        "prepayment_status": "PREPAYMENT_REFUNDED",
        "payment_transaction_id": "txn-d6c54b0852127a9d",
        "price": COLOR_PRICE,
    }
    assert _cancel(client, "B0000001") == {"booking": _booking(slot, refunded, "CANCELED")}
    assert _status(client, "B0000001") == {
        "booking_id": "B0000001",
        "booking_status": "CANCELED",
        "prepayment_status": "PREPAYMENT_REFUNDED",
    }


def test_a_prepayment_cancelled_too_late_for_a_refund_is_kept(client, runtime):
    slot = _slot(runtime, "color", 72)
    _create(client, slot, token="pay-kept", payment_processing_parameters=TOKEN)
    runtime.clock.freeze(slot.start_sec - 48 * HOUR + 1)  # inside the refund step, outside the 24 h window
    kept = {
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "payment_transaction_id": "txn-e2dab15455b17621",
        "price": COLOR_PRICE,
    }
    assert _cancel(client, "B0000001") == {"booking": _booking(slot, kept, "CANCELED")}
    assert _status(client, "B0000001")["prepayment_status"] == "PREPAYMENT_PROVIDED"


def test_a_non_refundable_prepaid_booking_stays_provided(client, runtime):
    slot = _slot(runtime, "hiit", 14 * 24 - 24)  # HIIT has no refund condition, however early the cancel
    payment = {
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "price": {"price_micros": "45000000", "currency_code": "AUD"},  # studio-003 (Sydney) HIIT
    }
    _create(client, slot, payment_information=payment)
    assert _cancel(client, "B0000001") == {"booking": _booking(slot, payment, "CANCELED")}
    assert _status(client, "B0000001") == {
        "booking_id": "B0000001",
        "booking_status": "CANCELED",
        "prepayment_status": "PREPAYMENT_PROVIDED",
    }
