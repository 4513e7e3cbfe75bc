"""Booking notifications across a tenant's life: a reset or a deletion ends the retries of what was queued before it
(both stores)."""

from __future__ import annotations

import pytest

from mock_server import create_app, notify
from mock_server.runtime import EXTENSION_KEY
from tests.conftest import FROZEN_AT, STORES, store_settings
from tests.helpers import create_body, find_slot, wait_for
from tests.notify_receiver import Receiver


@pytest.fixture
def receiver():
    receiver = Receiver(status=503)  # every attempt fails: the sandbox keeps retrying
    yield receiver
    receiver.close()


@pytest.fixture(params=STORES)
def app(request, tmp_path, receiver):
    settings = {
        "clock": FROZEN_AT,
        "recordings_dir": str(tmp_path / "recordings"),
        "notify_url": receiver.url,
        "notify_attempts": 4,
        "notify_backoff_s": 0.3,
    }
    app = create_app({**settings, **store_settings(request, request.param)}, environ={})
    yield app
    app.extensions[notify.EXTENSION_KEY].stop()


def notification_lines(client, prefix: str = "") -> list[dict]:
    answer = client.get(f"{prefix}/_admin/recordings?method=BookingNotification").get_json()
    return answer["exchanges"]


def first_attempt_made(client, prefix: str = "") -> None:
    wait_for(lambda: notification_lines(client, prefix), "a notification attempt journalled")


def cancel_a_booking(client, app, prefix: str = "") -> None:
    slot = find_slot(app.extensions[EXTENSION_KEY], vertical="appointments")
    booking = client.post(f"{prefix}/v3/CreateBooking", json=create_body(slot)).get_json()["booking"]
    assert client.post(f"{prefix}/_admin/bookings/{booking['booking_id']}/merchant-cancel").status_code == 200
    first_attempt_made(client, prefix)


def test_a_reset_ends_the_retries_of_the_notifications_queued_before_it(app, receiver):
    client = app.test_client()
    cancel_a_booking(client, app)
    assert client.post("/_admin/reset", json={"recordings": True}).status_code == 200
    assert app.extensions[notify.EXTENSION_KEY].idle(30)
    assert len(receiver.received) == 1  # the retries of a booking the reset forgot were not sent
    assert notification_lines(client) == []  # nor journalled in the fresh journal


def test_a_deleted_tenants_notifications_stop_and_its_journal_stays_closed(app, receiver, tmp_path):
    client = app.test_client()
    cancel_a_booking(client, app, "/t/acme")
    [journal] = (tmp_path / "recordings").glob("*--acme.jsonl")
    assert client.delete("/_admin/tenants/acme").status_code == 204
    written = journal.read_bytes()
    assert app.extensions[notify.EXTENSION_KEY].idle(30)
    assert len(receiver.received) == 1
    assert journal.read_bytes() == written  # the deleted tenant's closed journal was not opened again
