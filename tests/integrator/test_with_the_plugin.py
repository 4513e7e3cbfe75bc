"""How an integrator's own suite uses the sandbox: only the `rwg_sandbox` fixture, plain HTTP, no imports."""

import json
import urllib.request

import pytest


def _post(url, body):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _first_open_class(sandbox):
    services = {(s["merchant_id"], s["service_id"]): s for s in sandbox.feed("services")["service"]}
    for group in sandbox.feed("availability")["service_availability"]:
        for entry in group["availability"]:
            service = services[(entry["merchant_id"], entry["service_id"])]
            if (
                "room_id" in entry.get("resources", {})
                and service["prepayment_type"] != "REQUIRED"
                and "rules" not in service
            ):
                return entry
    raise AssertionError("no class to book")


def _create(sandbox, entry, token):
    return _post(
        sandbox.url + "/v3/CreateBooking",
        {
            "slot": {
                "merchant_id": entry["merchant_id"],
                "service_id": entry["service_id"],
                "start_sec": str(entry["start_sec"]),
                "duration_sec": str(entry["duration_sec"]),
                "resources": {"room_id": entry["resources"]["room_id"]},
            },
            "user_information": {
                "user_id": "it-1",
                "given_name": "I",
                "family_name": "T",
                "telephone": "+1",
                "email": "it@example.com",
            },
            "idempotency_token": token,
        },
    )


def test_a_booking_made_by_my_client_is_visible_to_the_test(rwg_sandbox):
    entry = _first_open_class(rwg_sandbox)
    booking = _create(rwg_sandbox, entry, "it-token")["booking"]
    assert [b["booking_id"] for b in rwg_sandbox.bookings()] == [booking["booking_id"]]


def test_each_test_starts_from_the_fixture_state(rwg_sandbox):
    assert rwg_sandbox.bookings() == []
    entry = _first_open_class(rwg_sandbox)
    assert _create(rwg_sandbox, entry, "it-token")["booking"]["booking_id"] == "B0000001"


def test_the_clock_can_be_moved(rwg_sandbox):
    before = rwg_sandbox.set_clock(freeze=True)["now_sec"]
    assert rwg_sandbox.set_clock(advance_sec=3600)["now_sec"] == before + 3600
    rwg_sandbox.set_clock(unfreeze=True)


def test_a_fault_shows_in_my_clients_answer_and_in_the_exchanges(rwg_sandbox):
    entry = _first_open_class(rwg_sandbox)
    rule = rwg_sandbox.add_fault("slot_taken", method="CreateBooking", times=1)
    assert _create(rwg_sandbox, entry, "faulted")["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"
    assert _create(rwg_sandbox, entry, "faulted")["booking"]["status"] == "CONFIRMED"  # the rule was used up
    exchanges = rwg_sandbox.exchanges(method="CreateBooking")
    assert [e["faults"] for e in exchanges] == [[], [{"id": rule["id"], "kind": "slot_taken"}]]


def test_the_exchanges_export_as_har(rwg_sandbox):
    entry = _first_open_class(rwg_sandbox)
    booking_id = _create(rwg_sandbox, entry, "har-token")["booking"]["booking_id"]
    [har_entry] = rwg_sandbox.export_har()["log"]["entries"]
    assert (har_entry["request"]["method"], har_entry["request"]["url"].rsplit("/", 2)[1:]) == (
        "POST",
        ["v3", "CreateBooking"],
    )
    assert (
        har_entry["response"]["status"],
        json.loads(har_entry["response"]["content"]["text"])["booking"]["booking_id"],
    ) == (
        200,
        booking_id,
    )


def test_a_rule_the_sandbox_refuses_raises_with_the_servers_message(rwg_sandbox):
    with pytest.raises(
        Exception, match=r"POST /_admin/faults: HTTP 400: invalid request: status: Must be one of: 400"
    ) as refused:
        rwg_sandbox.add_fault("http_error", method="CreateBooking", status=418)
    assert type(refused.value).__name__ == "SandboxError"
    assert refused.value.status == 400 and refused.value.answer["errors"]["json"]["status"]
