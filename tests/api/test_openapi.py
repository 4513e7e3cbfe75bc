"""The OpenAPI document covers the API, and answers conform to their documented schemas."""

from mock_server.v3 import responses
from tests.helpers import book, create_body, find_slot, slot_json, slot_time_json


def test_document_lists_every_operation(client):
    spec = client.get("/openapi.json").get_json()
    paths = spec["paths"]
    for method in (
        "BatchAvailabilityLookup",
        "CheckAvailability",
        "CreateBooking",
        "UpdateBooking",
        "GetBookingStatus",
        "ListBookings",
    ):
        operation = paths[f"/v3/{method}"]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"]
        assert "200" in operation["responses"]
    assert "get" in paths["/v3/HealthCheck"]
    for path in ("/_admin/health", "/_admin/reset", "/_admin/bookings", "/_admin/clock", "/feeds/availability.json"):
        assert path in paths
    create = paths["/v3/CreateBooking"]["post"]["requestBody"]["content"]["application/json"]
    assert create["example"]["idempotency_token"] == "7700112233445566778"


def test_admin_operations_are_documented_with_schemas(client, runtime):
    spec = client.get("/openapi.json").get_json()
    for path, method in [
        ("/_admin/health", "get"),
        ("/_admin/reset", "post"),
        ("/_admin/bookings", "get"),
        ("/_admin/clock", "get"),
        ("/_admin/clock", "post"),
    ]:
        content = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        assert content["schema"], (path, method)
    from mock_server.api.admin import schemas as admin

    assert admin.HealthSchema().validate(client.get("/_admin/health").get_json()) == {}
    book(client, find_slot(runtime, vertical="classes"))
    assert admin.BookingListSchema().validate(client.get("/_admin/bookings").get_json()) == {}


def test_interactive_docs_are_served(client):
    page = client.get("/docs")
    assert page.status_code == 200 and b"swagger" in page.data.lower()


def test_answers_validate_against_the_documented_response_schemas(client, runtime):
    slot = find_slot(runtime, vertical="dining")
    bal = client.post(
        "/v3/BatchAvailabilityLookup", json={"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot)]}
    ).get_json()
    assert responses.BatchAvailabilityLookupResponseSchema().validate(bal) == {}
    created = client.post("/v3/CreateBooking", json=create_body(slot)).get_json()
    assert responses.BookingResultSchema().validate(created) == {}
    failure = client.post("/v3/CreateBooking", json=create_body(find_slot(runtime, prepaid=True))).get_json()
    assert responses.BookingResultSchema().validate(failure) == {}
    status = client.post("/v3/GetBookingStatus", json={"booking_id": created["booking"]["booking_id"]}).get_json()
    assert responses.GetBookingStatusResponseSchema().validate(status) == {}
    listed = client.post("/v3/ListBookings", json={"user_id": created["booking"]["user_information"]["user_id"]})
    assert responses.ListBookingsResponseSchema().validate(listed.get_json()) == {}
    check = client.post("/v3/CheckAvailability", json={"slot": slot_json(slot)}).get_json()
    assert responses.CheckAvailabilityResponseSchema().validate(check) == {}
    assert book(client, find_slot(runtime, vertical="classes"))["status"] == "CONFIRMED"
