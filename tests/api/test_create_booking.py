"""CreateBooking: success, idempotency and every business failure, bodies asserted."""

from tests.helpers import book, create_body, find_slot, lookup, slot_json, user


def test_success_echoes_slot_user_and_payment(client, runtime):
    slot = find_slot(runtime, vertical="dining")
    body = create_body(slot, token="7700112233445566778")
    response = client.post("/v3/CreateBooking", json=body)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.get_json() == {
        "booking": {
            "booking_id": "B0000001",
            "slot": slot_json(slot),
            "user_information": user(1),
            "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
            "status": "CONFIRMED",
        }
    }
    assert runtime.bookings.spots_open(slot) == slot.spots_total - 1


def test_booking_ids_are_unique(client, runtime):
    first = book(client, find_slot(runtime, vertical="classes"), user_n=1)
    second = book(client, find_slot(runtime, vertical="classes"), user_n=2)
    assert first["booking_id"] != second["booking_id"]


def test_asynchronous_merchant_answers_pending(client, runtime):
    slot = find_slot(runtime, asynchronous=True)
    assert book(client, slot)["status"] == "PENDING_MERCHANT_CONFIRMATION"
    assert runtime.bookings.spots_open(slot) == slot.spots_total - 1


def test_retry_with_same_token_returns_identical_body_and_consumes_nothing(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    body = create_body(slot, token="retry-me")
    first = client.post("/v3/CreateBooking", json=body)
    second = client.post("/v3/CreateBooking", json=body)
    assert second.data == first.data
    assert runtime.bookings.spots_open(slot) == slot.spots_total - 1
    assert runtime.bookings.counts()["bookings"] == 1


def test_same_token_with_other_payload_returns_the_original_booking(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    other = find_slot(runtime, vertical="classes", skip=1)
    first = client.post("/v3/CreateBooking", json=create_body(slot, token="shared")).get_json()
    again = client.post("/v3/CreateBooking", json=create_body(other, user_n=9, token="shared")).get_json()
    assert again == first
    assert runtime.bookings.spots_open(other) == other.spots_total


def test_full_slot_is_slot_unavailable_and_nothing_is_created(client, runtime):
    slot = find_slot(runtime, vertical="appointments", spots_total=1)
    book(client, slot, user_n=1)
    response = client.post("/v3/CreateBooking", json=create_body(slot, user_n=2))
    assert response.status_code == 200
    assert response.get_json() == {
        "booking_failure": {"cause": "SLOT_UNAVAILABLE", "description": "no spot left in this slot"}
    }
    assert runtime.bookings.counts()["bookings"] == 1


def test_failed_attempt_is_processed_anew_on_retry(client, runtime):
    slot = find_slot(runtime, vertical="appointments", spots_total=1)
    holder = book(client, slot, user_n=1)
    retry = create_body(slot, user_n=2, token="after-failure")
    assert client.post("/v3/CreateBooking", json=retry).get_json()["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"
    client.post("/v3/UpdateBooking", json={"booking": {"booking_id": holder["booking_id"], "status": "CANCELED"}})
    assert client.post("/v3/CreateBooking", json=retry).get_json()["booking"]["status"] == "CONFIRMED"


def test_same_user_same_slot_is_already_booked_by_user(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    book(client, slot, user_n=5)
    response = client.post("/v3/CreateBooking", json=create_body(slot, user_n=5))
    assert response.get_json() == {
        "booking_failure": {"cause": "SLOT_ALREADY_BOOKED_BY_USER", "description": "this user already holds this slot"}
    }


def test_prepaid_service_without_payment_is_payment_error(client, runtime):
    slot = find_slot(runtime, prepaid=True)
    response = client.post("/v3/CreateBooking", json=create_body(slot))
    assert response.get_json() == {
        "booking_failure": {
            "cause": "PAYMENT_ERROR",
            "description": "prepayment required: this service must be paid when booking",
        }
    }
    assert runtime.bookings.spots_open(slot) == slot.spots_total


def test_prepaid_service_with_prepayment_is_booked(client, runtime):
    slot = find_slot(runtime, prepaid=True)
    # The service's own price (dining-001's set-menu deposit): another amount or currency is a PAYMENT_ERROR.
    payment = {"prepayment_status": "PREPAYMENT_PROVIDED", "price": {"price_micros": 60000000, "currency_code": "USD"}}
    booking = book(client, slot, payment_information=payment)
    # int64 inside the echoed payment comes back canonical: a string.
    assert booking["payment_information"] == {
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "price": {"price_micros": "60000000", "currency_code": "USD"},
    }


def test_prepaid_service_with_partner_payment_token_is_booked(client, runtime):
    slot = find_slot(runtime, prepaid=True)
    booking = book(client, slot, payment_processing_parameters={"unparsed_payment_method_token": "tok_visa"})
    assert booking["status"] == "CONFIRMED"


def test_time_not_in_inventory_is_slot_unavailable(client, runtime):
    slot = find_slot(runtime, vertical="dining")
    body = create_body(slot)
    body["slot"]["start_sec"] = str(slot.start_sec + 7)
    assert client.post("/v3/CreateBooking", json=body).get_json() == {
        "booking_failure": {"cause": "SLOT_UNAVAILABLE", "description": "no such slot in the merchant's inventory"}
    }


def test_offer_id_is_echoed_as_offer_info(client, runtime):
    booking = book(client, find_slot(runtime, vertical="classes"), offer_id="spring-10")
    assert booking["offer_info"] == {"offer_id": "spring-10"}


def test_camel_case_and_numeric_int64_are_accepted(client, runtime):
    slot = find_slot(runtime, vertical="dining")
    body = {
        "slot": {
            "merchantId": slot.merchant_id,
            "serviceId": slot.service_id,
            "startSec": slot.start_sec,
            "durationSec": slot.duration_sec,
            "resources": {"partySize": slot.party_size},
        },
        "userInformation": {
            "userId": "77",
            "givenName": "A",
            "familyName": "B",
            "telephone": "+1",
            "email": "a@example.com",
        },
        "idempotencyToken": "camel",
    }
    booking = client.post("/v3/CreateBooking", json=body).get_json()["booking"]
    assert booking["slot"]["start_sec"] == str(slot.start_sec)
    assert booking["user_information"]["user_id"] == "77"


def test_unknown_merchant_or_service_is_400(client, runtime):
    slot = find_slot(runtime, vertical="dining")
    unknown_merchant = create_body(slot)
    unknown_merchant["slot"]["merchant_id"] = "nope"
    response = client.post("/v3/CreateBooking", json=unknown_merchant)
    assert response.status_code == 400
    assert response.get_json() == {"code": 400, "status": "Bad Request", "message": "unknown merchant_id 'nope'"}
    unknown_service = create_body(slot)
    unknown_service["slot"]["service_id"] = "nope"
    response = client.post("/v3/CreateBooking", json=unknown_service)
    assert response.status_code == 400
    assert "unknown service_id 'nope'" in response.get_json()["message"]


def test_missing_required_fields_are_400_naming_the_field(client, runtime):
    slot = find_slot(runtime, vertical="dining")
    cases = {
        "idempotency_token": lambda b: b.pop("idempotency_token"),
        "user_information": lambda b: b.pop("user_information"),
        "user_information.email": lambda b: b["user_information"].pop("email"),
        "user_information.telephone": lambda b: b["user_information"].pop("telephone"),
        "slot.start_sec": lambda b: b["slot"].pop("start_sec"),
        "slot.duration_sec": lambda b: b["slot"].pop("duration_sec"),
        "slot.merchant_id": lambda b: b["slot"].pop("merchant_id"),
    }
    for field, mutate in cases.items():
        body = create_body(slot)
        mutate(body)
        response = client.post("/v3/CreateBooking", json=body)
        assert response.status_code == 400, field
        assert f"{field}: Missing data for required field." in response.get_json()["message"], field
    assert runtime.bookings.counts()["bookings"] == 0


def test_lookup_reflects_booking_at_once(client, runtime):
    slot = find_slot(runtime, vertical="appointments", spots_total=1)
    assert lookup(client, slot) is True
    book(client, slot)
    assert lookup(client, slot) is False
