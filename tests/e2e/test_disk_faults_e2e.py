"""A real server on a tiny tmpfs: full disk and read-only remount, then kill -9 and restart (root only).

What is promised: a change is answered as done only once its log line is whole on disk; a change the
store could not write is answered 507/503 and never made, so no retry is answered from memory, and after
kill -9 and restart the acknowledged changes, and only they, are there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from tests.e2e.test_persistence_crash import _book, _open_slots

pytestmark = pytest.mark.e2e


def _mount(folder, options: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)


class TinyDisk:
    """A tmpfs mounted on `path` for one test."""

    def __init__(self, path):
        self.path = path

    def remount(self, options: str) -> None:
        """Change it in place: "ro", "rw", "size=4m"."""
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.path)], check=True)

    def __truediv__(self, name):
        return self.path / name

    def __str__(self):
        return str(self.path)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs, unmounted after the test."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    folder = tmp_path / "disk"
    folder.mkdir()
    try:
        _mount(folder, "size=256k")
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    try:
        yield TinyDisk(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(path) -> None:
    """Take every byte left on the file system."""
    with open(path, "ab", buffering=0) as handle:
        for size in (65536, 4096, 1):
            try:
                while True:
                    handle.write(b"x" * size)
            except OSError:
                continue


def _kill_9_and_restart(start_server, server, **env):
    server.stop(signal.SIGKILL)
    return start_server(**env)


def _bookings(server) -> dict[str, str]:
    return {b["booking_id"]: b["status"] for b in server.get("/_admin/bookings")["bookings"]}


def _no_negative_spots(server) -> None:
    for group in server.get("/feeds/availability.json")["service_availability"]:
        for entry in group["availability"]:
            assert 0 <= entry["spots_open"] <= entry["spots_total"], entry


def test_full_disk_acknowledged_bookings_survive_and_failed_ones_never_succeed(start_server, tiny_disk):
    env = {"MOCK_DB_PATH": str(tiny_disk / "state.json")}
    server = start_server(**env)
    slots = _open_slots(server, 1200)
    acknowledged: dict[str, int] = {}  # booking id -> slot index
    failed: list[int] = []
    for n, slot in enumerate(slots):
        status, body = _book(server, slot, n)
        if status == 200:
            assert body["booking"]["status"] == "CONFIRMED", body
            acknowledged[body["booking"]["booking_id"]] = n
        else:
            assert status == 507, (status, body)
            assert body["status"] == "Insufficient Storage" and "nothing was changed" in body["message"]
            failed.append(n)
            if len(failed) == 20:
                break
    assert len(acknowledged) > 50 and len(failed) == 20, "the disk never filled up"
    for n in failed:  # the retry with the same token: never a success from memory
        status, body = _book(server, slots[n], n)
        assert status == 507 and body["status"] == "Insufficient Storage", (status, body)
    _fill(tiny_disk / "filler")
    # A cancellation's line is shorter than a booking's and may still fit in the log's last page:
    # those cancellations are real. Cancel until one is refused.
    expected = {booking_id: "CONFIRMED" for booking_id in acknowledged}
    for victim in acknowledged:
        cancel = {"booking": {"booking_id": victim, "status": "CANCELED"}}
        status, body = server.post("/v3/UpdateBooking", cancel)
        if status == 200:
            expected[victim] = body["booking"]["status"]
            continue
        assert status == 507 and "nothing was changed" in body["message"], (status, body)
        status, body = server.post("/v3/UpdateBooking", cancel)  # not BOOKING_ALREADY_CANCELLED: not made
        assert status == 507 and body["status"] == "Insufficient Storage", (status, body)
        assert server.post("/v3/GetBookingStatus", {"booking_id": victim})[1]["booking_status"] == "CONFIRMED"
        break
    else:
        pytest.fail("no cancellation met the full disk")
    assert server.get("/_admin/health")["store"]["writable"] is True  # each failed write was cut back

    tiny_disk.remount("size=4m")  # space again, then kill -9 and restart on the same files
    server = _kill_9_and_restart(start_server, server, **env)
    assert _bookings(server) == expected
    _no_negative_spots(server)
    status, body = _book(server, slots[failed[0]], failed[0])
    assert status == 200 and body["booking"]["booking_id"] not in acknowledged
    print(
        f"\nreliability figures: full disk: {len(acknowledged)} acknowledged bookings, "
        f"{len(failed)} refused (507, retried: 507), 0 lost after kill -9"
    )


def test_read_only_store_refuses_changes_and_loses_none(start_server, tiny_disk):
    tiny_disk.remount("size=4m")
    env = {"MOCK_DB_PATH": str(tiny_disk / "state.json")}
    server = start_server(**env)
    slots = _open_slots(server, 12)
    acknowledged = {}
    for n in range(6):
        status, body = _book(server, slots[n], n)
        assert status == 200
        acknowledged[body["booking"]["booking_id"]] = n
    # Linux refuses to remount a file system read-only while a file on it is open for writing; after a
    # start-up the log is closed until the next change, which is when it goes read-only under the server.
    server = _kill_9_and_restart(start_server, server, **env)
    tiny_disk.remount("ro")
    for _ in range(2):
        status, body = _book(server, slots[7], 7)
        assert status == 503 and "Read-only file system" in body["message"], (status, body)
    victim = next(iter(acknowledged))
    status, body = server.post("/v3/UpdateBooking", {"booking": {"booking_id": victim, "status": "CANCELED"}})
    assert status == 503 and "Read-only file system" in body["message"], (status, body)
    status, body = server.post("/_admin/reset", {})
    assert status == 503 and "snapshot" in body["message"], (status, body)
    assert _bookings(server) == {booking_id: "CONFIRMED" for booking_id in acknowledged}

    tiny_disk.remount("rw")
    server = _kill_9_and_restart(start_server, server, **env)
    assert _bookings(server) == {booking_id: "CONFIRMED" for booking_id in acknowledged}
    _no_negative_spots(server)


def test_a_full_disk_never_tears_a_journal_line(start_server, tiny_disk):
    tiny_disk.remount("size=96k")
    server = start_server(MOCK_RECORDINGS_DIR=str(tiny_disk), MOCK_RECORDING="full")
    slots = _open_slots(server, 3)
    lookup = {
        "merchant_id": slots[0]["merchant_id"],
        "slot_time": [
            {"service_id": s["service_id"], "start_sec": str(s["start_sec"]), "duration_sec": str(s["duration_sec"])}
            for s in slots
            if s["merchant_id"] == slots[0]["merchant_id"]
        ],
    }
    for _ in range(400):  # ~1 KB a line: the disk fills up part-way
        status, _body = server.post("/v3/BatchAvailabilityLookup", lookup)
        assert status == 200
    assert server.get("/_admin/recordings?limit=1")["recorded"] == 400  # a reader writes out what is pending
    recording = server.get("/_admin/health")["recording"]
    assert recording["dropped"] > 0 and recording["error"] == "No space left on device"
    server.stop(signal.SIGKILL)
    lines = (tiny_disk / "full.jsonl").read_bytes().split(b"\n")
    assert lines.pop() == b""  # ends with a whole line
    seqs = [json.loads(line)["seq"] for line in lines]  # every line parses
    assert seqs == sorted(seqs) and len(seqs) == 400 - recording["dropped"] > 0
    print(
        f"\nreliability figures: journal on a full disk: {len(seqs)} lines written whole, "
        f"{recording['dropped']} dropped and counted, 0 torn"
    )
