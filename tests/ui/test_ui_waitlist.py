"""The waitlist page over the test client: each merchant's queue now, and the merchant's actions on an entry."""

from __future__ import annotations

import re

from tests.api.test_waitlist import at_open, join

from .client import flash, get, post, runtime_of


def row_of(page, entry_id: str) -> str:
    return re.search(rf'<tr id="entry-{entry_id}".*?</tr>', page.get_data(as_text=True), re.S).group(0)


def test_the_page_shows_each_queue_and_moves_an_entry(app, client):
    runtime = runtime_of(app)
    at_open(runtime, "dining-001")
    assert join(client, "dining-001").get_json() == {"waitlist_entry_id": "W0000001"}
    page = get(client, "/waitlist")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="waitlist-dining-001" data-status="OPEN"' in text
    for merchant_id in ("dining-004", "dining-007", "dining-010"):
        assert f'id="waitlist-{merchant_id}"' in text
    assert ">Ahead (walk-ins too)</th>" in text  # its count includes the wait model's walk-ins
    row = row_of(page, "W0000001")
    assert 'data-state="WAITING"' in row and "wl-user-1" in row
    assert ">ready<" in row and ">cancel<" in row and ">seat<" not in row
    moved = post(client, "/waitlist/W0000001/ready")
    assert flash(moved) == "W0000001 is now SERVICE_READY."
    assert 'data-state="SERVICE_READY"' in row_of(get(client, "/waitlist"), "W0000001")
    refused = post(client, "/waitlist/W0000001/confirm")
    assert "confirm applies to ['PENDING_MERCHANT_CONFIRMATION']" in flash(refused)
    only = get(client, "/waitlist?merchant_id=dining-007").get_data(as_text=True)
    assert 'id="waitlist-dining-007"' in only and 'id="waitlist-dining-001"' not in only
