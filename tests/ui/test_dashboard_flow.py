"""The QA flow in a real browser: fault from the form, failed booking in the live log, booking, cancel."""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers import feed_slot

from .shots import screenshot

pytestmark = pytest.mark.e2e

USER = {
    "user_id": "qa-user-1",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "telephone": "+1 555-010-0101",
    "email": "ada@example.com",
}


@pytest.fixture(scope="module")
def server(start_dashboard_server):
    return start_dashboard_server()


def bookable_slot(server) -> dict:
    """An open slot of a synchronous service that needs no prepayment and has no cancellation window."""
    services = {(s["merchant_id"], s["service_id"]): s for s in server.get("/feeds/services.json")["service"]}
    for group in server.get("/feeds/availability.json")["service_availability"]:
        for entry in group["availability"]:
            service = services[(entry["merchant_id"], entry["service_id"])]
            if (
                entry["spots_open"] > 0
                and entry["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS"
                and service.get("prepayment_type") != "REQUIRED"
                and "rules" not in service
            ):
                return entry
    raise AssertionError("no bookable slot in the feed")


def create_booking(server, entry, token):
    body = {"slot": feed_slot(entry), "user_information": USER, "idempotency_token": token}
    return server.post("/v3/CreateBooking", body)


def slot_row(page, entry):
    resources = entry["resources"]
    key = resources.get("staff_id") or resources.get("room_id") or resources.get("party_size")
    return page.locator(f"#slot-{entry['service_id']}-{entry['start_sec']}-{key}")


def open_inventory(page, server, entry):
    page.goto(
        f"{server.url}/_admin/ui/inventory?merchant_id={entry['merchant_id']}"
        f"&service_id={entry['service_id']}&at={entry['start_sec']}"
    )
    return slot_row(page, entry)


def test_fault_booking_cancel_flow(page, server):
    from playwright.sync_api import expect

    entry = bookable_slot(server)
    total = entry["spots_total"]
    open_before = entry["spots_open"]

    # Inventory before: the slot shows its open spots in the merchant's day view.
    row = open_inventory(page, server, entry)
    expect(row.locator(".spots-text")).to_have_text(f"{open_before}/{total} open")
    expect(page.locator("h1")).to_contain_text("Inventory")

    # 1. A slot_taken fault on CreateBooking for this merchant, added from the form.
    page.goto(server.url + "/_admin/ui/faults")
    page.get_by_label("Method", exact=True).select_option("CreateBooking")
    page.get_by_label("Kind", exact=True).select_option("slot_taken")
    page.get_by_label("Times", exact=True).fill("")
    page.get_by_label("merchant_id", exact=True).fill(entry["merchant_id"])
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#flash")).to_have_text(re.compile(r"Rule f1 added: slot_taken on CreateBooking"))
    rule = page.locator("#rule-f1")
    expect(rule).to_contain_text("slot_taken")
    expect(rule).to_contain_text(f"merchant_id={entry['merchant_id']}")
    expect(rule.locator("[data-label=remaining]")).to_have_text("∞")
    screenshot(page, "dashboard-faults")

    # 2. The exchanges page is open and live while the client books: the failure shows up by itself.
    page.goto(server.url + "/_admin/ui/exchanges")
    expect(page.locator("#live-toggle")).to_be_visible()  # JS is on: live updates
    status, body = create_booking(server, entry, "ui-token-1")
    assert status == 200 and body["booking_failure"]["cause"] == "SLOT_UNAVAILABLE", body
    failed = page.locator("details.exchange", has_text="CreateBooking").first
    expect(failed).to_contain_text("booking_failure SLOT_UNAVAILABLE")
    expect(failed.locator(".badge-fault")).to_have_text("fault: slot_taken (f1)")
    failed.locator("> summary").click()
    request_body = json.loads(failed.get_by_label(re.compile("Request body")).inner_text())
    assert request_body["idempotency_token"] == "ui-token-1"
    response_body = json.loads(failed.get_by_label(re.compile("Response body")).inner_text())
    assert response_body["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"
    screenshot(page, "dashboard-exchanges")

    # 3. The rule fired once; remove it from the dashboard.
    page.goto(server.url + "/_admin/ui/faults")
    expect(page.locator("#rule-f1 [data-label=fired]")).to_have_text("1")
    page.get_by_role("button", name="Remove rule f1").click()
    expect(page.locator("#flash")).to_contain_text("Rule f1 removed")
    expect(page.locator("#no-rules")).to_be_visible()
    assert server.get("/_admin/faults")["faults"] == []

    # 4. Book again: confirmed, and listed on the bookings page.
    status, body = create_booking(server, entry, "ui-token-2")
    assert status == 200 and body["booking"]["status"] == "CONFIRMED", body
    booking_id = body["booking"]["booking_id"]
    page.goto(server.url + "/_admin/ui/bookings")
    booking_row = page.locator(f"#booking-{booking_id}")
    expect(booking_row).to_contain_text("CONFIRMED")
    expect(booking_row).to_contain_text(USER["user_id"])
    screenshot(page, "dashboard-bookings")

    # The slot has one spot fewer.
    row = open_inventory(page, server, entry)
    expect(row.locator(".spots-text")).to_have_text(f"{open_before - 1}/{total} open")

    # 5. Cancel from the dashboard (the user's rules), then the spot is open again.
    page.goto(server.url + "/_admin/ui/bookings")
    page.get_by_role("button", name=f"Cancel {booking_id}").click()
    expect(page.locator("#flash")).to_contain_text(f"{booking_id} cancelled")
    expect(page.locator(f"#booking-{booking_id}")).to_contain_text("CANCELED")
    assert server.get("/_admin/bookings?status=CANCELED")["bookings"][0]["booking_id"] == booking_id

    row = open_inventory(page, server, entry)
    expect(row.locator(".spots-text")).to_have_text(f"{open_before}/{total} open")
    expect(row).to_have_class(re.compile(r"\btarget\b"))
    screenshot(page, "dashboard-inventory")

    # The live log has both bookings; the cancellation came from the dashboard, not /v3, so it is not there.
    page.goto(server.url + "/_admin/ui/exchanges?method=CreateBooking")
    expect(page.locator("details.exchange")).to_have_count(2)
    expect(page.locator("details.exchange").first).to_contain_text(f"{booking_id} CONFIRMED")

    page.goto(server.url + "/_admin/ui/")
    expect(page.locator("#sandbox-status")).to_contain_text("1 (0 active)")
    screenshot(page, "dashboard-sandbox")
