"""The OpenAPI document covers the API, and answers conform to their documented schemas."""

import pytest

from mock_server.v3 import responses
from tests.helpers import book, create_body, find_slot, slot_json, slot_time_json, user


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
        "SetMarketingPreference",
        "BatchGetWaitEstimates",
        "CreateWaitlistEntry",
        "GetWaitlistEntry",
        "DeleteWaitlistEntry",
    ):
        operation = paths[f"/v3/{method}"]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"]
        assert "200" in operation["responses"]
    assert "get" in paths["/v3/HealthCheck"]
    v3 = sorted(path for path in paths if path.startswith("/v3/"))
    assert v3 == [
        "/v3/BatchAvailabilityLookup",
        "/v3/BatchGetWaitEstimates",
        "/v3/CheckAvailability",
        "/v3/CreateBooking",
        "/v3/CreateWaitlistEntry",
        "/v3/DeleteWaitlistEntry",
        "/v3/GetBookingStatus",
        "/v3/GetWaitlistEntry",
        "/v3/HealthCheck",
        "/v3/ListBookings",
        "/v3/SetMarketingPreference",
        "/v3/UpdateBooking",
    ]
    for path in (
        "/_admin/health",
        "/_admin/reset",
        "/_admin/bookings",
        "/_admin/marketing-preferences",
        "/_admin/waitlist",
        "/_admin/clock",
        "/feeds/availability.json",
    ):
        assert path in paths
    create = paths["/v3/CreateBooking"]["post"]["requestBody"]["content"]["application/json"]
    assert create["example"]["idempotency_token"] == "7700112233445566778"


@pytest.mark.parametrize("feed", ["merchants", "services", "availability"])
def test_every_feed_documents_its_merchant_id_query_parameter(client, feed):
    operation = client.get("/openapi.json").get_json()["paths"][f"/feeds/{feed}.json"]["get"]
    assert operation["parameters"] == [
        {
            "in": "query",
            "name": "merchant_id",
            "description": "only this merchant's entries (404 for a merchant not in the inventory)",
            "schema": {"type": "string"},
            "required": False,
        }
    ]


def test_admin_operations_are_documented_with_schemas(client, runtime):
    spec = client.get("/openapi.json").get_json()
    for path, method in [
        ("/_admin/health", "get"),
        ("/_admin/reset", "post"),
        ("/_admin/bookings", "get"),
        ("/_admin/marketing-preferences", "get"),
        ("/_admin/clock", "get"),
        ("/_admin/clock", "post"),
        ("/_admin/state", "get"),
        ("/_admin/state", "put"),
    ]:
        content = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        assert content["schema"], (path, method)
    from mock_server.api.admin import schemas as admin

    assert admin.HealthSchema().validate(client.get("/_admin/health").get_json()) == {}
    book(client, find_slot(runtime, vertical="classes"))
    assert admin.BookingListSchema().validate(client.get("/_admin/bookings").get_json()) == {}
    client.post("/v3/SetMarketingPreference", json={"user_information": user(1), "user_to_receive_marketing": True})
    listed = client.get("/_admin/marketing-preferences").get_json()
    assert listed["count"] == 1 and admin.MarketingPreferenceListSchema().validate(listed) == {}


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
    marketing = client.post("/v3/SetMarketingPreference", json={"user_information": user(1)}).get_json()
    assert marketing["user_to_receive_marketing"] is False
    assert responses.SetMarketingPreferenceResponseSchema().validate(marketing) == {}
    assert book(client, find_slot(runtime, vertical="classes"))["status"] == "CONFIRMED"
