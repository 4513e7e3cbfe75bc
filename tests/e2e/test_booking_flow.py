"""The integrator's whole flow over real HTTP, from the feed to ListBookings."""

import pytest

pytestmark = pytest.mark.e2e

USER = {
    "user_id": "5550001",
    "given_name": "Grace",
    "family_name": "Hopper",
    "telephone": "+1 555-010-0199",
    "email": "grace@example.com",
}


def _bookable(server):
    """Ten consecutive open slots of one bookable (synchronous, not prepaid) service from the feeds."""
    services = {(s["merchant_id"], s["service_id"]): s for s in server.get("/feeds/services.json")["service"]}
    for group in server.get("/feeds/availability.json")["service_availability"]:
        entries = [
            e
            for e in group["availability"]
            if e["spots_open"] > 0
            and e["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS"
            and "staff_id" in e.get("resources", {})
        ]
        if len(entries) >= 10:
            service = services[(entries[0]["merchant_id"], entries[0]["service_id"])]
            if service["prepayment_type"] != "REQUIRED" and "rules" not in service:
                return entries[:10]
    raise AssertionError("no suitable service in the feed")


def _slot_time(entry):
    return {
        "service_id": entry["service_id"],
        "start_sec": str(entry["start_sec"]),
        "duration_sec": str(entry["duration_sec"]),
        "resource_ids": {"staff_id": entry["resources"]["staff_id"]},
    }


def _slot(entry):
    return {
        "merchant_id": entry["merchant_id"],
        "service_id": entry["service_id"],
        "start_sec": str(entry["start_sec"]),
        "duration_sec": str(entry["duration_sec"]),
        "resources": {"staff_id": entry["resources"]["staff_id"]},
    }


def _available(server, merchant_id, entries):
    status, body = server.post(
        "/v3/BatchAvailabilityLookup", {"merchant_id": merchant_id, "slot_time": [_slot_time(e) for e in entries]}
    )
    assert status == 200
    # Each slot_time echoed, with the confirmation mode the feed gives its entry.
    echoed = [{**_slot_time(e), "confirmation_mode": e["confirmation_mode"]} for e in entries]
    assert [a["slot_time"] for a in body["slot_time_availability"]] == echoed
    return [a["available"] for a in body["slot_time_availability"]]


def test_page_load_to_list(server):
    entries = _bookable(server)
    merchant = entries[0]["merchant_id"]
    assert server.post("/v3/HealthCheck", {})[0] == 405
    # Page load, then the slot the user clicks.
    assert _available(server, merchant, entries) == [True] * 10
    chosen, other = entries[0], entries[1]
    assert _available(server, merchant, [chosen]) == [True]

    request = {
        "slot": _slot(chosen),
        "user_information": USER,
        "idempotency_token": "e2e-token-1",
        "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
    }
    status, created = server.post("/v3/CreateBooking", request)
    assert status == 200 and created["booking"]["status"] == "CONFIRMED"
    booking_id = created["booking"]["booking_id"]
    assert server.post("/v3/CreateBooking", request) == (200, created)  # retry after a lost answer
    assert _available(server, merchant, [chosen, other]) == [False, True]

    status, moved = server.post(
        "/v3/UpdateBooking",
        {
            "booking": {
                "booking_id": booking_id,
                "slot": {"start_sec": str(other["start_sec"]), "duration_sec": str(other["duration_sec"])},
            }
        },
    )
    assert moved["booking"]["slot"]["start_sec"] == str(other["start_sec"])
    assert moved["booking"]["booking_id"] == booking_id
    assert _available(server, merchant, [chosen, other]) == [True, False]

    assert server.post("/v3/ListBookings", {"user_id": USER["user_id"]}) == (200, {"bookings": [moved["booking"]]})
    status, cancelled = server.post("/v3/UpdateBooking", {"booking": {"booking_id": booking_id, "status": "CANCELED"}})
    assert cancelled == {"booking": {**moved["booking"], "status": "CANCELED"}}
    assert _available(server, merchant, [chosen, other]) == [True, True]

    assert server.post("/v3/GetBookingStatus", {"booking_id": booking_id}) == (
        200,
        {"booking_id": booking_id, "booking_status": "CANCELED", "prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
    )
    assert server.post("/v3/ListBookings", {"user_id": USER["user_id"]}) == (200, {"bookings": []})
    health = server.get("/_admin/health")
    assert health["counts"]["bookings"] == 1 and health["counts"]["active_bookings"] == 0


def test_basic_auth_over_http(start_server):
    secured = start_server(MOCK_BASIC_AUTH="google:pw")
    status, body = secured.post("/v3/ListBookings", {"user_id": "x"})
    assert (status, body["message"]) == (401, "missing or wrong HTTP Basic credentials")
    ok = secured.post("/v3/ListBookings", {"user_id": "x"}, headers={"Authorization": "Basic Z29vZ2xlOnB3"})
    assert ok == (200, {"bookings": []})
