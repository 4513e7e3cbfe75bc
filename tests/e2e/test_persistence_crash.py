"""With MOCK_DB_PATH, every booking answered CONFIRMED survives kill -9 and restart."""

import json
import signal
import threading
import time

import pytest

from tests.helpers import feed_resource_ids

pytestmark = pytest.mark.e2e


def _open_slots(server, count):
    services = {(s["merchant_id"], s["service_id"]): s for s in server.get("/feeds/services.json")["service"]}
    out = []
    for group in server.get("/feeds/availability.json")["service_availability"]:
        for e in group["availability"]:
            service = services[(e["merchant_id"], e["service_id"])]
            if e["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS" and service["prepayment_type"] != "REQUIRED":
                out.append(e)
                if len(out) == count:
                    return out
    return out


def _book(server, entry, n):
    return server.post(
        "/v3/CreateBooking",
        {
            "slot": {
                "merchant_id": entry["merchant_id"],
                "service_id": entry["service_id"],
                "start_sec": str(entry["start_sec"]),
                "duration_sec": str(entry["duration_sec"]),
                "resources": feed_resource_ids(entry),
            },
            "idempotency_token": f"crash-{n}",
            "user_information": {
                "user_id": f"u{n}",
                "given_name": "K",
                "family_name": "L",
                "telephone": "+1",
                "email": f"k{n}@example.com",
            },
        },
    )


def test_kill_9_mid_stream_loses_no_confirmed_booking(start_server, tmp_path):
    db = tmp_path / "state" / "db.json"
    server = start_server(MOCK_DB_PATH=str(db))
    slots = _open_slots(server, 400)
    confirmed: dict[str, dict] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(offset):
        n = offset
        while not stop.is_set() and n < len(slots):
            try:
                status, body = _book(server, slots[n], n)
            except OSError:
                return  # the server died under us: expected
            if status == 200 and "booking" in body:
                with lock:
                    confirmed[body["booking"]["booking_id"]] = body["booking"]
            n += 4

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120  # a bound, so that clients that all stopped early fail instead of hanging
    while len(confirmed) < 60 and any(t.is_alive() for t in threads):
        assert time.monotonic() < deadline, f"only {len(confirmed)} bookings confirmed in 120 s"
        threading.Event().wait(0.01)
    assert len(confirmed) >= 60, f"the clients stopped after {len(confirmed)} bookings"
    server.stop(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(timeout=10)

    assert json.loads(db.read_text())  # the snapshot is whole JSON
    restarted = start_server(MOCK_DB_PATH=str(db))
    stored = {b["booking_id"]: b for b in restarted.get("/_admin/bookings?limit=100000")["bookings"]}
    for booking_id, booking in confirmed.items():
        assert booking_id in stored
        assert stored[booking_id]["slot"] == booking["slot"]
        assert stored[booking_id]["status"] == "CONFIRMED"
    # Availability agrees with the bookings: each booked one-spot slot is taken, counts match.
    assert restarted.get("/_admin/health")["counts"]["active_bookings"] == len(stored)
    for booking in list(stored.values())[:20]:
        slot = booking["slot"]
        status, answer = restarted.post("/v3/CheckAvailability", {"slot": slot})
        entry = next(
            e
            for e in slots
            if str(e["start_sec"]) == slot["start_sec"]
            and e["service_id"] == slot["service_id"]
            and e["merchant_id"] == slot["merchant_id"]
            and feed_resource_ids(e) == slot.get("resources", {})
        )
        assert answer["count_available"] == entry["spots_total"] - sum(
            1 for b in stored.values() if b["slot"] == slot and b["status"] == "CONFIRMED"
        )
    # New bookings continue the id sequence instead of reusing ids.
    status, body = _book(restarted, slots[-1], 10_000)
    assert body["booking"]["booking_id"] not in stored
