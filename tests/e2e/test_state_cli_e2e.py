"""`rwg-sandbox state save|load` against a real server: a golden state saved, the server moved on, the state back."""

from __future__ import annotations

import json

import pytest

from mock_server.cli import main
from tests.conftest import FROZEN_AT
from tests.e2e.test_tenants_e2e import create_body, one_spot_slot

pytestmark = pytest.mark.e2e

TOKEN = "s3cret"


def test_state_save_and_load_bring_a_server_back_to_its_golden_state(start_server, tmp_path, monkeypatch, capsys):
    server = start_server(MOCK_ADMIN_TOKEN=TOKEN, MOCK_CLOCK=str(FROZEN_AT))
    slot, payment = one_spot_slot(server)
    status, booked = server.post("/t/acme/v3/CreateBooking", create_body(slot, payment, "acme", 1))
    assert status == 200, booked
    golden = tmp_path / "golden.json"
    assert main(["state", "save", "--url", server.url, "--tenant", "acme", "--token", TOKEN, "--out", str(golden)]) == 0
    saved = json.loads(golden.read_text())
    assert [b["booking_id"] for b in saved["bookings"]] == ["B0000001"]

    # The suite moves the tenant on: the booking cancelled, another tenant untouched.
    cancel = {"booking": {"booking_id": "B0000001", "status": "CANCELED"}}
    assert server.post("/t/acme/v3/UpdateBooking", cancel)[0] == 200

    # The token from the environment; the tenant's state is the golden one again.
    monkeypatch.setenv("MOCK_ADMIN_TOKEN", TOKEN)
    assert main(["state", "load", "--url", server.url, "--tenant", "acme", str(golden)]) == 0
    assert server.get("/t/acme/_admin/state") == saved
    assert server.get("/_admin/bookings")["bookings"] == []
    # The spot is held again: the one-spot slot is full for a new user, and the saved token replays its answer.
    assert server.post("/t/acme/v3/CreateBooking", create_body(slot, payment, "acme", 1)) == (200, booked)
    refused = server.post("/t/acme/v3/CreateBooking", create_body(slot, payment, "acme", 2))[1]
    assert refused["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"

    # Without the token, and with a bad document: exit 1, the server's answer on stderr, nothing changed.
    monkeypatch.delenv("MOCK_ADMIN_TOKEN")
    capsys.readouterr()
    assert main(["state", "save", "--url", server.url, "--tenant", "acme"]) == 1
    assert capsys.readouterr().err.startswith("state save: 401: ")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**saved, "format": 9}))
    assert main(["state", "load", "--url", server.url, "--token", TOKEN, "--tenant", "acme", str(broken)]) == 1
    assert "this server reads format 1; the document's is 9" in capsys.readouterr().err
    assert server.get("/t/acme/_admin/state") == saved
