"""The Waitlist page in a real browser: a client's entry shows in its merchant's queue; its buttons move it."""

from __future__ import annotations

import re

import pytest

from tests.api.test_waitlist import entry_body

from .shots import screenshot

pytestmark = pytest.mark.e2e

BERLIN_7PM = 1767376800  # 2 January 2026, 19:00 in Berlin: dining-004's waitlist is open (README, Waitlists)


@pytest.fixture(scope="module")
def server(start_dashboard_server):
    return start_dashboard_server()


def join(server, n: int) -> str:
    status, answer = server.post("/v3/CreateWaitlistEntry", entry_body("dining-004", n=n))
    assert status == 200, answer
    return answer["waitlist_entry_id"]


def entry_state(server, entry_id: str) -> str:
    status, answer = server.post("/v3/GetWaitlistEntry", {"waitlist_entry_id": entry_id})
    assert status == 200, answer
    return answer["waitlist_entry"]["waitlist_entry_state"]


def test_an_entry_moves_through_the_merchants_buttons_and_the_client_sees_each_state(page, server):
    from playwright.sync_api import expect

    assert server.post("/_admin/clock", {"freeze_at_sec": BERLIN_7PM})[0] == 200
    entry_id = join(server, 1)
    page.goto(server.url + "/_admin/ui/waitlist?merchant_id=dining-004")
    queue = page.locator("#waitlist-dining-004")
    expect(queue).to_have_attribute("data-status", "OPEN")
    row = page.locator(f"#entry-{entry_id}")
    expect(row).to_have_attribute("data-state", "WAITING")
    expect(row).to_contain_text("wl-user-1")
    # Only the actions a waiting entry allows are offered.
    expect(row.get_by_role("button")).to_have_text([f"ready {entry_id}", f"cancel {entry_id}"])
    screenshot(page, "dashboard-waitlist")

    row.get_by_role("button", name=f"ready {entry_id}").click()
    expect(page.locator("#flash")).to_have_text(f"{entry_id} is now SERVICE_READY.")
    expect(page).to_have_url(re.compile(r"/_admin/ui/waitlist\?merchant_id=dining-004$"))
    expect(row).to_have_attribute("data-state", "SERVICE_READY")
    assert entry_state(server, entry_id) == "SERVICE_READY"

    # The keyboard reaches the next action: focus it and press Enter.
    seat = row.get_by_role("button", name=f"seat {entry_id}")
    seat.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_have_text(f"{entry_id} is now SEATED.")
    expect(row).to_have_attribute("data-state", "SEATED")
    expect(row.get_by_role("button")).to_have_count(0)  # an entry over takes no more actions
    assert entry_state(server, entry_id) == "SEATED"


def test_a_page_opened_before_a_change_refuses_the_stale_action_with_its_reason(page, server):
    from playwright.sync_api import expect

    assert server.post("/_admin/clock", {"freeze_at_sec": BERLIN_7PM})[0] == 200
    entry_id = join(server, 2)
    page.goto(server.url + "/_admin/ui/waitlist?merchant_id=dining-004")
    row = page.locator(f"#entry-{entry_id}")
    expect(row).to_have_attribute("data-state", "WAITING")
    # The client leaves while the page still offers "ready".
    assert server.post("/v3/DeleteWaitlistEntry", {"waitlist_entry_id": entry_id})[0] == 200
    row.get_by_role("button", name=f"ready {entry_id}").click()
    expect(page.locator("#flash")).to_contain_text("ready applies to")
    expect(row).to_have_attribute("data-state", "CANCELED")
