"""Many clients racing for the last spot over real HTTP: exactly one wins, nobody gets a 5xx."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import feed_resource_ids

pytestmark = pytest.mark.e2e


def _one_spot_slot(server):
    for group in server.get("/feeds/availability.json")["service_availability"]:
        for entry in group["availability"]:
            if entry["spots_total"] == 1 and entry["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS":
                return entry
    raise AssertionError("no one-spot slot")


def test_last_spot_goes_to_exactly_one_client(server):
    entry = _one_spot_slot(server)
    slot = {
        "merchant_id": entry["merchant_id"],
        "service_id": entry["service_id"],
        "start_sec": str(entry["start_sec"]),
        "duration_sec": str(entry["duration_sec"]),
        "resources": feed_resource_ids(entry),
    }
    services = {(s["merchant_id"], s["service_id"]): s for s in server.get("/feeds/services.json")["service"]}
    payment = (
        {"prepayment_status": "PREPAYMENT_PROVIDED"}
        if services[(slot["merchant_id"], slot["service_id"])]["prepayment_type"] == "REQUIRED"
        else None
    )

    def attempt(n):
        body = {
            "slot": slot,
            "idempotency_token": f"race-{n}",
            "user_information": {
                "user_id": f"racer-{n}",
                "given_name": "R",
                "family_name": "C",
                "telephone": "+1",
                "email": f"r{n}@example.com",
            },
        }
        if payment:
            body["payment_information"] = payment
        return server.post("/v3/CreateBooking", body)

    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(attempt, range(48)))
    assert all(status == 200 for status, _ in results), {s for s, _ in results}
    winners = [b for _, b in results if "booking" in b]
    losers = [b for _, b in results if "booking_failure" in b]
    assert len(winners) == 1 and winners[0]["booking"]["status"] == "CONFIRMED"
    assert len(losers) == 47 and {b["booking_failure"]["cause"] for b in losers} == {"SLOT_UNAVAILABLE"}
    assert server.get("/_admin/health")["counts"]["active_bookings"] == 1


def test_concurrent_retries_of_one_token_create_one_booking(server):
    entry = _one_spot_slot(server)
    body = {
        "slot": {
            "merchant_id": entry["merchant_id"],
            "service_id": entry["service_id"],
            "start_sec": str(entry["start_sec"]),
            "duration_sec": str(entry["duration_sec"]),
            "resources": feed_resource_ids(entry),
        },
        "idempotency_token": "same-everywhere",
        "payment_information": {"prepayment_status": "PREPAYMENT_PROVIDED"},
        "user_information": {
            "user_id": "u",
            "given_name": "R",
            "family_name": "C",
            "telephone": "+1",
            "email": "r@example.com",
        },
    }
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: server.post("/v3/CreateBooking", body), range(32)))
    assert len({str(b) for _, b in results}) == 1
    assert "booking" in results[0][1]
    assert server.get("/_admin/health")["counts"]["bookings"] == 1
