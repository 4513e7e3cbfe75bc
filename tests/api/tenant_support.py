"""Shared by the tenant tests: an app, its last spot, and helpers to call a tenant and read its journal."""

from __future__ import annotations

import orjson
import pytest

from mock_server import create_app
from mock_server.runtime import EXTENSION_KEY
from mock_server.tenancy import TENANTS_KEY
from tests.helpers import create_body, find_slot, slot_json, slot_time_json, user

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
NAME_RULE = "names match [a-z0-9][a-z0-9._-]{0,62}"
NO_FAULTS: dict[str, list] = {"faults": [], "retired": []}
HTML = {"Accept": "text/html"}
UI = "/_admin/ui"
NO_SPOT = {"booking_failure": {"cause": "SLOT_UNAVAILABLE", "description": "no spot left in this slot"}}


def make_app(tmp_path, **overrides):
    settings = {"clock": NOW, "recordings_dir": str(tmp_path / "rec"), "recording": "rec", "db_path": ""}
    return create_app({**settings, **overrides}, environ={})


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def last_spot(app):
    """A slot with one spot, neither prepaid nor asynchronous (the fixture is shared by every tenant)."""
    slot = find_slot(app.extensions[EXTENSION_KEY], spots_total=1)
    assert app.extensions[EXTENSION_KEY].bookings.spots_open(slot) == 1
    return slot


def at(tenant: str | None, path: str) -> str:
    """`path` under the tenant's prefix (None: un-prefixed, the default tenant)."""
    return path if tenant is None else f"/t/{tenant}{path}"


def create(client, tenant, slot, user_n=1, token=None) -> dict:
    response = client.post(at(tenant, "/v3/CreateBooking"), json=create_body(slot, user_n, token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def booked(slot, booking_id: str, user_n: int = 1) -> dict:
    """The CreateBooking answer that books `slot` for user `user_n`."""
    return {
        "booking": {
            "booking_id": booking_id,
            "slot": slot_json(slot),
            "user_information": user(user_n),
            "status": "CONFIRMED",
            "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
        }
    }


NO_SPOT = {"booking_failure": {"cause": "SLOT_UNAVAILABLE", "description": "no spot left in this slot"}}


def available(client, tenant, slot) -> bool:
    body = {"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot)]}
    return client.post(at(tenant, "/v3/BatchAvailabilityLookup"), json=body).get_json()["slot_time_availability"][0][
        "available"
    ]


def booking_ids(client, tenant) -> list[str]:
    return [b["booking_id"] for b in client.get(at(tenant, "/_admin/bookings")).get_json()["bookings"]]


def journal_lines(app, tenant: str) -> tuple[str, list[dict]]:
    """The tenant's journal file name and its lines (every pending line written first)."""
    journal = app.extensions[TENANTS_KEY].find(tenant).recording.recorder.journal
    journal.flush()
    lines = journal.path.read_bytes().splitlines() if journal.path.exists() else []
    return journal.path.name, [orjson.loads(line) for line in lines]
