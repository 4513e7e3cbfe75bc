"""GetBookingStatus and ListBookings."""

from tests.helpers import book, find_slot


def _status(client, booking_id):
    return client.post("/v3/GetBookingStatus", json={"booking_id": booking_id})


def test_status_of_a_booking(client, runtime):
    booking = book(client, find_slot(runtime, vertical="classes", window=False))
    response = _status(client, booking["booking_id"])
    assert response.status_code == 200
    assert response.get_json() == {
        "booking_id": booking["booking_id"],
        "booking_status": "CONFIRMED",
        "prepayment_status": "PREPAYMENT_NOT_PROVIDED",
    }
    client.post("/v3/UpdateBooking", json={"booking": {"booking_id": booking["booking_id"], "status": "CANCELED"}})
    assert _status(client, booking["booking_id"]).get_json()["booking_status"] == "CANCELED"


def test_prepayment_status_comes_from_the_payment(client, runtime):
    booking = book(
        client, find_slot(runtime, prepaid=True), payment_information={"prepayment_status": "PREPAYMENT_PROVIDED"}
    )
    assert _status(client, booking["booking_id"]).get_json()["prepayment_status"] == "PREPAYMENT_PROVIDED"


def test_prepayment_status_defaults_when_no_payment_was_sent(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    booking = book(client, slot, payment_information=None)
    assert "payment_information" not in booking
    assert _status(client, booking["booking_id"]).get_json()["prepayment_status"] == "PREPAYMENT_NOT_PROVIDED"


def test_unknown_booking_is_404(client):
    response = _status(client, "B0000404")
    assert response.status_code == 404
    assert response.get_json() == {"code": 404, "status": "Not Found", "message": "unknown booking_id 'B0000404'"}


def test_list_returns_the_users_future_active_bookings_soonest_first(client, runtime):
    later = book(client, find_slot(runtime, vertical="classes", window=False, skip=3), user_n=7)
    sooner = book(client, find_slot(runtime, vertical="classes", window=False), user_n=7)
    cancelled = book(client, find_slot(runtime, vertical="classes", window=False, skip=1), user_n=7)
    book(client, find_slot(runtime, vertical="classes", window=False), user_n=8)  # someone else
    client.post("/v3/UpdateBooking", json={"booking": {"booking_id": cancelled["booking_id"], "status": "CANCELED"}})
    response = client.post("/v3/ListBookings", json={"user_id": sooner["user_information"]["user_id"]})
    assert response.get_json() == {"bookings": [sooner, later]}


def test_list_leaves_out_past_bookings(client, runtime):
    slot = find_slot(runtime, vertical="classes", window=False)
    booking = book(client, slot, user_n=3)
    runtime.clock.freeze(slot.start_sec + 1)
    response = client.post("/v3/ListBookings", json={"user_id": booking["user_information"]["user_id"]})
    assert response.get_json() == {"bookings": []}


def test_list_of_unknown_user_is_empty(client):
    assert client.post("/v3/ListBookings", json={"user_id": "nobody"}).get_json() == {"bookings": []}


def test_list_without_user_id_is_400(client):
    response = client.post("/v3/ListBookings", json={})
    assert response.status_code == 400
    assert response.get_json()["message"] == "invalid request: user_id: Missing data for required field."
