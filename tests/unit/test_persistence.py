"""Snapshot + append-only log: round trip, torn last line, re-applied log is harmless, failed writes change nothing."""

import errno
import os

import orjson
import pytest

from mock_server.config import ROOT
from mock_server.domain.bookings import BookingService
from mock_server.domain.clock import SandboxClock
from mock_server.domain.errors import StoreFailed
from mock_server.domain.models import SlotSpec, UserInformation
from mock_server.storage import fixtures
from mock_server.storage import persistence as persistence_module
from mock_server.storage.persistence import CorruptStore, Persistence, decode_booking

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
    assert len(lines) == 2  # the booking with its token (one write: both or neither), then the cancellation
    state = persistence.load()
    assert state["bookings"][booking.booking_id]["status"] == "CANCELED"
    assert state["tokens"]["t1"]["booking"]["status"] == "CONFIRMED"


def test_torn_last_line_is_ignored_and_kept_aside(tmp_path, caplog):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    booking = service.create(_spec(service), UserInformation("u1"), None, "t1").booking
    with open(tmp_path / "db.json.wal", "ab") as log:
        log.write(b'{"op": "booking", "booking": {"booking_id": "B00')
    state = Persistence(tmp_path / "db.json").load()
    assert list(state["bookings"]) == [booking.booking_id]
    assert (tmp_path / "db.json.wal.torn").read_bytes() == b'{"op": "booking", "booking": {"booking_id": "B00\n'
    assert "torn by a crash" in caplog.text


def test_logs_written_before_write_ahead_still_load(tmp_path):
    """Older logs have a token line, then the booking line: both still load."""
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    booking = service.create(_spec(service), UserInformation("u1"), None, "t1").booking
    line = orjson.loads((tmp_path / "db.json.wal").read_bytes())
    old = [{"op": "token", **line["token"], "gen": 0}, {"op": "booking", "booking": line["booking"], "gen": 0}]
    (tmp_path / "db.json.wal").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in old))
    state = Persistence(tmp_path / "db.json").load()
    assert list(state["bookings"]) == [booking.booking_id] and list(state["tokens"]) == ["t1"]


@pytest.mark.parametrize("damage", [b"{not json}\n", b'{"op": "booking"}\n', b'{"op": "nope", "gen": 0}\n', b"[]\n"])
def test_a_damaged_line_in_the_middle_refuses_to_load_and_touches_nothing(tmp_path, damage):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    spec = _spec(service)
    service.create(spec, UserInformation("u1"), None, "t1")
    first = (tmp_path / "db.json.wal").read_bytes()
    service.create(spec, UserInformation("u2"), None, "t2")
    second = (tmp_path / "db.json.wal").read_bytes()[len(first) :]
    (tmp_path / "db.json.wal").write_bytes(first + damage + second)
    before = (tmp_path / "db.json.wal").read_bytes()
    with pytest.raises(CorruptStore, match=r"db\.json\.wal line 2: damaged record"):
        Persistence(tmp_path / "db.json").load()
    assert (tmp_path / "db.json.wal").read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"   ", b"null", b"[]", b"{}", b'{"bookings": {}}', b"{oops"])
def test_an_empty_or_foreign_snapshot_refuses_to_load(tmp_path, content):
    (tmp_path / "db.json").write_bytes(content)
    with pytest.raises(CorruptStore, match=r"db\.json: "):
        Persistence(tmp_path / "db.json").load()
    assert (tmp_path / "db.json").read_bytes() == content


class FailingWrites:
    """os.write stand-in: the first `whole` calls go through, then `partial` bytes are written and ENOSPC raised."""

    def __init__(self, monkeypatch, whole: int = 0, partial: int = 10, fail_truncate: bool = False):
        self.calls = 0
        self.whole, self.partial = whole, partial
        real_write, real_truncate = os.write, os.ftruncate

        def write(fd, data):
            self.calls += 1
            if self.calls <= self.whole:
                return real_write(fd, data)
            if self.partial:
                written = real_write(fd, bytes(data[: self.partial]))
                self.partial = 0
                return written  # a short write: the caller must go on, and then meets the error
            raise OSError(errno.ENOSPC, "No space left on device")

        def truncate(fd, size):
            if fail_truncate:
                raise OSError(errno.EROFS, "Read-only file system")
            return real_truncate(fd, size)

        monkeypatch.setattr(persistence_module.os, "write", write)
        monkeypatch.setattr(persistence_module.os, "ftruncate", truncate)


def _holding(service, spec):
    return service.spots_open(service.inventory.candidates(spec)[0])


def test_a_failed_create_changes_nothing_and_its_retry_is_not_answered_from_memory(tmp_path, monkeypatch):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    spec = _spec(service)
    kept = service.create(spec, UserInformation("u1"), None, "t1").booking
    spots, wal = _holding(service, spec), (tmp_path / "db.json.wal").read_bytes()
    FailingWrites(monkeypatch)
    for _ in range(2):  # the retry with the same token meets the same full disk: never a success from memory
        with pytest.raises(StoreFailed) as failed:
            service.create(spec, UserInformation("u2"), None, "t2")
        assert failed.value.status == 507 and "nothing was changed" in failed.value.message
    assert _holding(service, spec) == spots
    assert [b.booking_id for b in service.all_bookings()] == [kept.booking_id]
    assert "t2" not in service.tokens() and service.next_seq == 2
    assert (tmp_path / "db.json.wal").read_bytes() == wal  # the partial line was cut back off
    assert persistence.failed is None
    monkeypatch.undo()  # space again: the retry is processed anew, with the next id
    again = service.create(spec, UserInformation("u2"), None, "t2").booking
    assert again.booking_id == "B0000002"
    assert set(Persistence(tmp_path / "db.json").load()["bookings"]) == {"B0000001", "B0000002"}


def test_a_short_write_is_finished_not_torn(tmp_path, monkeypatch):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    real_write = os.write
    monkeypatch.setattr(persistence_module.os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    booking = service.create(_spec(service), UserInformation("u1"), None, "t1").booking
    monkeypatch.undo()
    assert list(Persistence(tmp_path / "db.json").load()["bookings"]) == [booking.booking_id]


def test_a_failed_cancel_keeps_the_booking_and_its_spot(tmp_path, monkeypatch):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    spec = _spec(service)
    booking = service.create(spec, UserInformation("u1"), None, "t1").booking
    spots = _holding(service, spec)
    FailingWrites(monkeypatch, partial=0)
    for _ in range(2):  # the retry must not say BOOKING_ALREADY_CANCELLED
        with pytest.raises(StoreFailed):
            service.cancel(booking.booking_id)
    assert service.get(booking.booking_id).status == "CONFIRMED" and _holding(service, spec) == spots


def test_a_failed_reschedule_keeps_the_old_slot(tmp_path, monkeypatch):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    spec = _spec(service)
    booking = service.create(spec, UserInformation("u1"), None, "t1").booking
    later = next(
        s
        for s in service.inventory.slots()
        if s.merchant_id == spec.merchant_id
        and s.service_id == spec.service_id
        and s.start_sec > spec.start_sec
        and service.spots_open(s) > 0
    )
    FailingWrites(monkeypatch, partial=0)
    with pytest.raises(StoreFailed):
        service.modify(booking.booking_id, start_sec=later.start_sec, duration_sec=later.duration_sec)
    assert service.get(booking.booking_id).slot == spec


def test_a_write_that_cannot_be_undone_stops_all_changes_until_restart(tmp_path, monkeypatch):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    spec = _spec(service)
    FailingWrites(monkeypatch, fail_truncate=True)
    with pytest.raises(StoreFailed):
        service.create(spec, UserInformation("u1"), None, "t1")
    monkeypatch.undo()  # even with space again: the log ends in a half line, so nothing more is appended
    with pytest.raises(StoreFailed, match="until the sandbox restarts"):
        service.create(spec, UserInformation("u1"), None, "t1")
    assert persistence.state()["writable"] is False
    assert service.all_bookings() == []
    # The half line is the log's torn last line: the next start tolerates it and has no booking.
    assert Persistence(tmp_path / "db.json").load()["bookings"] == {}


def test_fsync_policy_syncs_each_change_when_asked(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(persistence_module.os, "fdatasync", synced.append)
    service = _service(Persistence(tmp_path / "db.json", fsync=True))
    service.create(_spec(service), UserInformation("u1"), None, "t1")
    assert len(synced) == 1
    service = _service(Persistence(tmp_path / "other.json"))
    service.create(_spec(service), UserInformation("u1"), None, "t1")
    assert len(synced) == 1


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
    assert fresh.spots_open(held) == held.spots_total - 2
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


def test_a_log_newer_than_its_snapshot_refuses_to_load(tmp_path):
    """Lines of a generation the snapshot does not know (it was deleted or restored) are not dropped silently."""
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    persistence.write_snapshot({"anchor_sec": ANCHOR}, [], {}, generation=1)  # what a reset writes
    service.create(_spec(service), UserInformation("u1"), None, "t1")
    (tmp_path / "db.json").unlink()
    with pytest.raises(CorruptStore, match=r"line 1: written after a reset .* \(generation 1 > 0\)"):
        Persistence(tmp_path / "db.json").load()
    assert (tmp_path / "db.json.wal").read_bytes().count(b"\n") == 1  # still there


def test_a_snapshot_whose_log_cannot_be_emptied_still_counts(tmp_path, monkeypatch):
    """Once the snapshot is in place the reset has happened; the old lines left in the log are skipped."""
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    service.create(_spec(service), UserInformation("u1"), None, "t1")
    real = persistence_module.Path.write_bytes

    def refuse(path, data):
        if path.name.endswith(".wal"):
            raise OSError(errno.EPERM, "Operation not permitted")  # e.g. chattr +a
        return real(path, data)

    monkeypatch.setattr(persistence_module.Path, "write_bytes", refuse)
    persistence.write_snapshot({"anchor_sec": ANCHOR}, [], {}, generation=1)
    fresh = _service(persistence)
    fresh.create(_spec(fresh), UserInformation("u2"), None, "t2")
    monkeypatch.undo()
    state = Persistence(tmp_path / "db.json").load()
    assert [doc["user"]["user_id"] for doc in state["bookings"].values()] == ["u2"]
    assert persistence.state()["writable"] is True


def test_a_paid_then_refunded_booking_keeps_its_payment_through_the_log_and_a_snapshot(tmp_path):
    persistence = Persistence(tmp_path / "db.json")
    service = _service(persistence)
    slot = next(s for s in service.inventory.slots() if s.service_id == "color" and s.start_sec > ANCHOR + 3 * 86400)
    spec = SlotSpec(slot.merchant_id, slot.service_id, slot.start_sec, slot.duration_sec, staff_id=slot.staff_id)
    paid = service.create(spec, UserInformation("u1"), None, "t1", payment_token_given=True).booking
    refunded = service.cancel(paid.booking_id).booking
    assert refunded.prepayment_status == "PREPAYMENT_REFUNDED"

    def restored() -> dict:
        state = Persistence(tmp_path / "db.json").load()
        fresh = _service(None)
        return {b: decode_booking(doc, fresh.inventory).payment_information for b, doc in state["bookings"].items()}

    assert restored() == {paid.booking_id: refunded.payment_information}  # from the log
    persistence.write_snapshot({"anchor_sec": ANCHOR}, service.all_bookings(), service.tokens())
    assert restored() == {paid.booking_id: refunded.payment_information}  # from the snapshot
    token = Persistence(tmp_path / "db.json").load()["tokens"]["t1"]["booking"]
    assert token["payment_information"] == paid.payment_information  # the create's answer, replayed as it was
