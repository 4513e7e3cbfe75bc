"""Booking notifications from a real server process to a real receiver: the PATCH as sent, retries, the fault."""

from __future__ import annotations

import json
import time

import pytest

from mock_server import create_app
from mock_server.runtime import EXTENSION_KEY
from tests.conftest import FROZEN_AT
from tests.helpers import create_body, find_slot, wait_for
from tests.notify_receiver import Receiver

from .server import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, receiver):
    process = ServerProcess(
        tmp_path_factory.mktemp("notify"),
        MOCK_CLOCK=FROZEN_AT,
        MOCK_NOTIFY_URL=receiver.url,
        MOCK_PARTNER_ID="p-42",
        MOCK_NOTIFY_BACKOFF_S="0.05",
        MOCK_NOTIFY_ATTEMPTS="4",
    ).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def inventory():
    """The server's inventory, rebuilt here from the same fixture and clock."""
    return create_app({"clock": FROZEN_AT}, environ={}).extensions[EXTENSION_KEY]


@pytest.fixture(autouse=True)
def _fresh(request):
    yield
    if "server" in request.fixturenames:
        server = request.getfixturevalue("server")
        server.post("/_admin/reset", {"recordings": True})
        urllib_delete(server, "/_admin/faults")
        request.getfixturevalue("receiver").received.clear()


def urllib_delete(server, path):
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(server.url + path, method="DELETE"), timeout=10).close()


def booked(server, inventory, **find) -> dict:
    status, body = server.post("/v3/CreateBooking", create_body(find_slot(inventory, **find)))
    assert status == 200, body
    return body["booking"]


def attempts(server, count: int) -> list[dict]:
    """The notification lines of the journal, oldest first, once there are `count` of them."""

    def lines() -> list[dict]:
        found = server.get("/_admin/recordings?method=BookingNotification")["exchanges"][::-1]
        return found if len(found) >= count else []

    return wait_for(lines, f"{count} notification attempts journalled", every_s=0.05)


def test_a_merchant_cancel_patches_the_booking_to_the_receiver(server, receiver, inventory):
    booking = booked(server, inventory, vertical="appointments")
    status, _ = server.post(f"/_admin/bookings/{booking['booking_id']}/merchant-cancel", {})
    assert status == 200
    [line] = attempts(server, 1)
    slot, user = booking["slot"], booking["user_information"]
    expected_body = {
        "name": f"partners/p-42/bookings/{booking['booking_id']}",
        "merchantId": slot["merchant_id"],
        "serviceId": slot["service_id"],
        "startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(slot["start_sec"]))),
        "duration": f"{slot['duration_sec']}s",
        "clientInformation": {
            "givenName": user["given_name"],
            "familyName": user["family_name"],
            "telephone": user["telephone"],
            "email": user["email"],
        },
        "status": "CANCELED",
        "paymentInformation": {"prepaymentStatus": "PREPAYMENT_NOT_PROVIDED"},
    }
    if slot.get("resources", {}).get("party_size"):
        expected_body["partySize"] = str(slot["resources"]["party_size"])
    assert receiver.received == [
        {
            "path": f"/v1alpha/notification/partners/p-42/bookings/{booking['booking_id']}",
            "query": "updateMask=status",
            "type": "application/json",
            "body": expected_body,
        }
    ]
    assert (line["kind"], line["attempt"], line["outcome"], line["response"]["status"]) == (
        "notification",
        1,
        "delivered (answered 200)",
        200,
    )
    assert line["request"]["body"] == expected_body and line["response"]["body"] == {"echo": True}


def test_a_receiver_failing_twice_gets_a_third_attempt(server, receiver, inventory):
    pending = booked(server, inventory, asynchronous=True)
    receiver.script[:] = [503, 500]
    status, _ = server.post(f"/_admin/bookings/{pending['booking_id']}/fail", {"cause": "OVERLAPPING_RESERVATION"})
    assert status == 200
    lines = attempts(server, 3)
    assert [(x["attempt"], x["response"]["status"], x["outcome"]) for x in lines] == [
        (1, 503, "answered 503; retry in 0.05 s"),
        (2, 500, "answered 500; retry in 0.1 s"),
        (3, 200, "delivered (answered 200)"),
    ]
    assert [r["query"] for r in receiver.received] == [
        "updateMask=status&bookingFailure.cause=OVERLAPPING_RESERVATION"
    ] * 3
    assert {r["body"]["status"] for r in receiver.received} == {"FAILED"}


def test_the_notification_failure_fault_breaks_delivery(server, receiver, inventory):
    booking = booked(server, inventory, vertical="appointments")
    status, rule = server.post(
        "/_admin/faults", {"method": "BookingNotification", "kind": "notification_failure", "times": 2}
    )
    assert status == 201, rule
    # A /v3 call is not a notification: the rule is left for the sender.
    assert server.post("/v3/GetBookingStatus", {"booking_id": booking["booking_id"]})[0] == 200
    server.post(
        f"/_admin/bookings/{booking['booking_id']}/merchant-move", {"start_sec": int(booking["slot"]["start_sec"])}
    )
    status, _ = server.post(f"/_admin/bookings/{booking['booking_id']}/merchant-cancel", {})
    lines = attempts(server, 3)
    assert [(x["attempt"], x["response"]["status"], x["faults"]) for x in lines] == [
        (1, 500, [{"id": rule["id"], "kind": "notification_failure"}]),
        (2, 500, [{"id": rule["id"], "kind": "notification_failure"}]),
        (3, 200, []),
    ]
    assert len(receiver.received) == 1  # the faulted attempts never left the sandbox


def test_a_stopping_server_sends_what_is_queued_and_journals_it(tmp_path, receiver, inventory):
    process = ServerProcess(
        tmp_path, MOCK_CLOCK=FROZEN_AT, MOCK_NOTIFY_URL=receiver.url, MOCK_NOTIFY_BACKOFF_S="0.5"
    ).start()
    try:
        booking = booked(process, inventory, vertical="appointments")
        receiver.received.clear()
        receiver.script[:] = [503]  # the second attempt comes 0.5 s later: after the stop signal
        assert process.post(f"/_admin/bookings/{booking['booking_id']}/merchant-cancel", {})[0] == 200
    finally:
        process.stop()
    assert [r["body"]["status"] for r in receiver.received] == ["CANCELED", "CANCELED"]
    journal = [
        json.loads(line) for path in (tmp_path / "rec").glob("*.jsonl") for line in path.read_text().splitlines()
    ]
    assert [(x["attempt"], x["response"]["status"]) for x in journal if x.get("kind") == "notification"] == [
        (1, 503),
        (2, 200),
    ]


def test_a_merchant_confirm_patches_the_waitlist_entry_to_the_receiver(server, receiver, inventory):
    from tests.api.test_waitlist import ASYNC_MERCHANT, entry_body, local, period

    receiver.received.clear()  # what the server of the test before sent
    now = local(inventory, ASYNC_MERCHANT, period(inventory, ASYNC_MERCHANT, "OPEN"))
    server.post("/_admin/clock", {"freeze_at_sec": now})
    status, created = server.post("/v3/CreateWaitlistEntry", entry_body(ASYNC_MERCHANT, party_size=2))
    assert status == 200, created
    entry_id = created["waitlist_entry_id"]
    assert server.post(f"/_admin/waitlist/{entry_id}/confirm", {})[0] == 200
    [line] = attempts(server, 1)
    assert receiver.received == [
        {
            "path": f"/v1alpha/notification/partners/p-42/waitlistEntries/{entry_id}",
            "query": "updateMask=waitlistEntryState,waitlistEntryStateTimes",
            "type": "application/json",
            "body": {
                "name": f"partners/p-42/waitlistEntries/{entry_id}",
                "merchantId": ASYNC_MERCHANT,
                "serviceId": "dinner",
                "partySize": 2,
                "waitlistEntryState": "WAITING",
                "waitlistEntryStateTimes": {"createdTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))},
                "waitEstimate": {
                    "partySize": 2,
                    "waitLength": {},
                    "waitlistConfirmationMode": "WAITLIST_CONFIRMATION_MODE_ASYNCHRONOUS",
                },
            },
        }
    ]
    assert (line["kind"], line["outcome"]) == ("notification", "delivered (answered 200)")


def test_a_running_clock_reaching_a_waitlist_move_patches_it_without_any_call(server, receiver, inventory):
    from tests.api.test_waitlist import MAIN, entry_body, local, period

    receiver.received.clear()
    now = local(inventory, MAIN, period(inventory, MAIN, "OPEN"))
    server.post("/_admin/clock", {"freeze_at_sec": now})
    # Parties of 3 wait at dining-001's opening.
    status, created = server.post("/v3/CreateWaitlistEntry", entry_body(MAIN, party_size=3))
    assert status == 200, created
    [listed] = server.get(f"/_admin/waitlist?merchant_id={MAIN}")["waitlist_entries"]
    ready = next(step["at_sec"] for step in listed["timeline"] if step["state"] == "SERVICE_READY")
    # Five seconds before the table is ready, the clock runs: nobody calls the server until the PATCH is in.
    server.post("/_admin/clock", {"freeze_at_sec": ready - 5})
    assert server.post("/_admin/clock", {"unfreeze": True})[0] == 200
    assert receiver.received == []
    try:
        [sent] = wait_for(lambda: receiver.received, "the running clock's move notified")
    finally:
        server.post("/_admin/clock", {"freeze_at_sec": FROZEN_AT})
    assert sent["path"] == f"/v1alpha/notification/partners/p-42/waitlistEntries/{created['waitlist_entry_id']}"
    assert sent["body"]["waitlistEntryState"] == "SERVICE_READY"
    assert sent["body"]["waitlistEntryStateTimes"] == {
        "createdTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "serviceReadiedTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ready)),
    }
