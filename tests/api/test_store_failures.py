"""A change the store cannot keep is answered 507/503 and never made: through /v3 and through reset."""

from __future__ import annotations

import errno

import pytest

from mock_server import create_app
from mock_server.runtime import EXTENSION_KEY
from mock_server.storage import persistence as persistence_module
from mock_server.storage.persistence import CorruptStore
from tests.conftest import FROZEN_AT
from tests.helpers import create_body, find_slot


def _app(tmp_path, **overrides):
    return create_app(
        {
            "clock": FROZEN_AT,
            "recordings_dir": str(tmp_path / "rec"),
            "db_path": str(tmp_path / "db" / "state.json"),
            **overrides,
        },
        environ={},
    )


def _disk_full(monkeypatch, code=errno.ENOSPC, text="No space left on device"):
    def write(fd, data):
        raise OSError(code, text)

    monkeypatch.setattr(persistence_module.os, "write", write)


def test_create_on_a_full_disk_is_507_and_its_retry_is_never_a_success(tmp_path, monkeypatch):
    app = _app(tmp_path)
    client, runtime = app.test_client(), app.extensions[EXTENSION_KEY]
    slot = find_slot(runtime, vertical="appointments")
    _disk_full(monkeypatch)
    for _ in range(3):
        answer = client.post("/v3/CreateBooking", json=create_body(slot, token="tok-1"))
        assert answer.status_code == 507
        body = answer.get_json()
        assert body["code"] == 507 and body["status"] == "Insufficient Storage"
        assert "No space left on device" in body["message"] and "nothing was changed" in body["message"]
    assert runtime.bookings.all_bookings() == []
    assert client.get("/_admin/bookings").get_json()["bookings"] == []
    monkeypatch.undo()
    answer = client.post("/v3/CreateBooking", json=create_body(slot, token="tok-1")).get_json()
    assert answer["booking"]["booking_id"] == "B0000001" and answer["booking"]["status"] == "CONFIRMED"


def test_cancel_on_a_read_only_store_is_503_and_the_slot_stays_taken(tmp_path, monkeypatch):
    app = _app(tmp_path)
    client, runtime = app.test_client(), app.extensions[EXTENSION_KEY]
    slot = find_slot(runtime, vertical="appointments")
    booking = client.post("/v3/CreateBooking", json=create_body(slot)).get_json()["booking"]
    _disk_full(monkeypatch, errno.EROFS, "Read-only file system")
    cancel = {"booking": {"booking_id": booking["booking_id"], "status": "CANCELED"}}
    for _ in range(2):
        answer = client.post("/v3/UpdateBooking", json=cancel)
        assert answer.status_code == 503
        assert answer.get_json()["status"] == "Service Unavailable"
        assert "Read-only file system" in answer.get_json()["message"]
    assert (
        client.post("/v3/GetBookingStatus", json={"booking_id": booking["booking_id"]}).get_json()["booking_status"]
        == "CONFIRMED"
    )
    other = client.post("/v3/CreateBooking", json=create_body(slot, user_n=2)).get_json()
    assert other == {"booking_failure": {"cause": "SLOT_UNAVAILABLE", "description": "no spot left in this slot"}}


def test_a_reset_the_store_cannot_keep_changes_nothing(tmp_path, monkeypatch):
    app = _app(tmp_path)
    client, runtime = app.test_client(), app.extensions[EXTENSION_KEY]
    slot = find_slot(runtime, vertical="appointments")
    booking = client.post("/v3/CreateBooking", json=create_body(slot)).get_json()["booking"]

    def fail(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(persistence_module.os, "replace", fail)
    answer = client.post("/_admin/reset")
    assert answer.status_code == 507 and "could not write the snapshot" in answer.get_json()["message"]
    assert [b.booking_id for b in runtime.bookings.all_bookings()] == [booking["booking_id"]]
    monkeypatch.undo()
    # Still the same generation: a booking made now survives a restart.
    client.post("/v3/CreateBooking", json=create_body(find_slot(runtime, vertical="classes"), user_n=2))
    restarted = _app(tmp_path).extensions[EXTENSION_KEY]
    assert len(restarted.bookings.all_bookings()) == 2


def test_health_reports_the_store(tmp_path, monkeypatch):
    app = _app(tmp_path, db_fsync=1)
    store = app.test_client().get("/_admin/health").get_json()["store"]
    assert store == {"path": str(tmp_path / "db" / "state.json"), "fsync": True, "log_lines": 0, "writable": True}


def test_a_damaged_log_refuses_to_start_naming_file_and_line(tmp_path):
    app = _app(tmp_path)
    client, runtime = app.test_client(), app.extensions[EXTENSION_KEY]
    for n, vertical in enumerate(("appointments", "classes"), 1):
        client.post("/v3/CreateBooking", json=create_body(find_slot(runtime, vertical=vertical), user_n=n))
    wal = tmp_path / "db" / "state.json.wal"
    lines = wal.read_bytes().splitlines(keepends=True)
    damaged = lines[0][:40] + b"\n" + lines[1]
    wal.write_bytes(damaged)
    with pytest.raises(CorruptStore, match=r"state\.json\.wal line 1: damaged record"):
        _app(tmp_path)
    assert wal.read_bytes() == damaged  # the evidence is still there


def test_an_empty_snapshot_refuses_to_start(tmp_path):
    _app(tmp_path)
    (tmp_path / "db" / "state.json").write_bytes(b"null")
    with pytest.raises(CorruptStore, match=r"state\.json: the snapshot is null"):
        _app(tmp_path)
