"""Snapshot + append-only log: round trip, torn last line, re-applied log is harmless."""

from mock_server.config import ROOT
from mock_server.domain.bookings import BookingService
from mock_server.domain.clock import SandboxClock
from mock_server.domain.models import SlotSpec, UserInformation
from mock_server.storage import fixtures
from mock_server.storage.persistence import Persistence, decode_booking

ANCHOR = 1767225600


def _service(persistence):
    inventory = fixtures.materialise(fixtures.read(ROOT / "fixtures" / "default.json"), ANCHOR)
    return BookingService(inventory, SandboxClock(frozen_at=ANCHOR), listener=persistence)


def _spec(service):
    def plain(s):
        policy = service.inventory.services[(s.merchant_id, s.service_id)]
        return not policy.prepayment_required and not policy.cancellation_window_sec

    slot = next(s for s in service.inventory.slots() if s.room_id and plain(s))
    return SlotSpec(slot.merchant_id, slot.service_id, slot.start_sec, slot.duration_sec, room_id=slot.room_id)


def test_every_change_is_one_appended_line(tmp_path):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    booking = service.create(_spec(service), UserInformation("u1"), None, "t1").booking
    service.cancel(booking.booking_id)
    lines = (tmp_path / "db.json.wal").read_bytes().splitlines()
    assert len(lines) == 3  # token (carrying the booking), booking, booking (cancelled)
    state = persistence.load()
    assert state["bookings"][booking.booking_id]["status"] == "CANCELED"
    assert state["tokens"]["t1"]["booking"]["status"] == "CONFIRMED"


def test_torn_last_line_is_ignored(tmp_path):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    booking = service.create(_spec(service), UserInformation("u1"), None, "t1").booking
    with open(tmp_path / "db.json.wal", "ab") as log:
        log.write(b'{"op": "booking", "booking": {"booking_id": "B00')
    state = Persistence(tmp_path / "db.json").load()
    assert list(state["bookings"]) == [booking.booking_id]


def test_snapshot_then_log_restores_spots(tmp_path):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    spec = _spec(service)
    first = service.create(spec, UserInformation("u1"), None, "t1").booking
    persistence.write_snapshot({"anchor_sec": ANCHOR}, service.all_bookings(), service.tokens())
    assert (tmp_path / "db.json.wal").read_bytes() == b""
    service.create(spec, UserInformation("u2"), None, "t2")
    # A crash between snapshot rename and log truncation replays records already folded: harmless.
    with open(tmp_path / "db.json.wal", "ab") as log:
        log.write((tmp_path / "db.json.wal").read_bytes())

    state = Persistence(tmp_path / "db.json").load()
    fresh = _service(None)
    restored = [decode_booking(doc, fresh.inventory) for doc in state["bookings"].values()]
    fresh.restore(restored, {}, 3)
    held = fresh.inventory.candidates(spec)[0]
    assert held.spots_open == held.spots_total - 2
    assert fresh.get(first.booking_id).user.user_id == "u1"


def test_log_lines_from_before_a_reset_are_not_replayed(tmp_path):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    service.create(_spec(service), UserInformation("u1"), None, "t1")
    before_reset = (tmp_path / "db.json.wal").read_bytes()
    persistence.generation += 1  # what a reset does, then it writes the empty state
    persistence.write_snapshot({"anchor_sec": ANCHOR}, [], {})
    # A crash between the reset's snapshot and its log truncation leaves the old lines behind.
    (tmp_path / "db.json.wal").write_bytes(before_reset)
    state = Persistence(tmp_path / "db.json").load()
    assert state["bookings"] == {} and state["tokens"] == {}
