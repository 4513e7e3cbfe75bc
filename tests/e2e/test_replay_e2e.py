"""Record a flow on a real server, then replay it: into a second server, into different ones, as a mock."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from types import SimpleNamespace

import pytest

from mock_server.recording.demo import http_caller, run_flow

from .server import ROOT, ServerProcess

pytestmark = pytest.mark.e2e

FROZEN_AT = "1767225600"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The demo flow run once against a real sandbox; its recording exported over HTTP."""
    tmp = tmp_path_factory.mktemp("replay")
    server = ServerProcess(tmp, MOCK_CLOCK=FROZEN_AT, MOCK_RECORDING="flow").start()
    try:
        flow = run_flow(http_caller(server.url))
        with urllib.request.urlopen(server.url + "/_admin/recordings/export?format=jsonl", timeout=10) as response:
            exported = response.read()
        bookings = server.get("/_admin/bookings")["bookings"]
    finally:
        server.stop()
    path = tmp / "exported.jsonl"
    path.write_bytes(exported)
    return SimpleNamespace(path=path, flow=flow, bookings=bookings, journal=tmp / "rec" / "flow.jsonl", tmp=tmp)


def replay_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mock_server.cli", "replay", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def without_ids(bookings: list[dict]) -> list[str]:
    return sorted(json.dumps({k: v for k, v in b.items() if k != "booking_id"}, sort_keys=True) for b in bookings)


def test_the_export_is_the_journal_file(recorded):
    assert recorded.path.read_bytes() == recorded.journal.read_bytes()
    lines = [json.loads(line) for line in recorded.path.read_text().splitlines()]
    assert [line["rpc"] for line in lines] == [rpc for rpc, _, _ in recorded.flow]


def test_replay_rebuilds_state_in_a_second_sandbox(recorded, start_server):
    target = start_server(MOCK_CLOCK=FROZEN_AT)
    target.post("/v3/GetBookingStatus", {"booking_id": "B0000001"})  # traffic before the replay; --reset clears it
    result = replay_cli(str(recorded.path), "--target", target.url, "--reset")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("\nok    #") == len(recorded.flow)
    assert "15 exchanges: 15 match, 0 differ" in result.stdout
    assert without_ids(target.get("/_admin/bookings")["bookings"]) == without_ids(recorded.bookings)


def test_reset_warns_when_the_target_lives_on_another_day(recorded, start_server):
    target = start_server()  # running clock: today, not the recording's frozen day
    result = replay_cli(str(recorded.path), "--target", target.url, "--reset", "--quiet")
    assert result.returncode == 1
    assert f"start the target with MOCK_CLOCK={FROZEN_AT}" in result.stderr


def test_a_different_fixture_is_reported(recorded, start_server):
    fixture = recorded.tmp / "seed7.json"
    generated = subprocess.run(
        [sys.executable, "-m", "mock_server.cli", "fixtures", "generate", "--seed", "7", "--out", str(fixture)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert generated.returncode == 0, generated.stderr
    target = start_server(MOCK_CLOCK=FROZEN_AT, MOCK_FIXTURE=str(fixture))
    result = replay_cli(str(recorded.path), "--target", target.url, "--quiet")
    assert result.returncode == 1, result.stdout + result.stderr
    # Seed 7 puts salon-002 in the UK too (same zone: #2's lookup matches); the class room's capacity differs.
    assert "DIFF  #3 CheckAvailability" in result.stdout and "DIFF  #2" not in result.stdout
    assert "--- recorded #3\n+++ target\n" in result.stdout
    assert "\nok    #" not in result.stdout  # --quiet prints only mismatches


def test_a_fault_on_the_target_is_reported(recorded, start_server):
    target = start_server(MOCK_CLOCK=FROZEN_AT)
    status, _ = target.post("/_admin/faults", {"method": "CreateBooking", "kind": "slot_taken", "times": 1})
    assert status == 201
    result = replay_cli(str(recorded.path), "--target", target.url)
    assert result.returncode == 1
    assert "DIFF  #4 CreateBooking recorded 200, target 200" in result.stdout
    assert '+    "cause": "SLOT_UNAVAILABLE"' in result.stdout


def test_a_recording_served_as_a_mock_gives_the_same_answers(recorded, start_server):
    mock = start_server(MOCK_REPLAY=str(recorded.path), MOCK_RECORDING="replayed", MOCK_CLOCK=FROZEN_AT)
    assert run_flow(http_caller(mock.url)) == recorded.flow
    status = mock.get("/_admin/recordings/replay")
    assert status["misses"] == 0 and status["unplayed_seqs"] == []
    # The mock records what it answered, like any other server.
    assert mock.get("/_admin/recordings?limit=1")["recorded"] == len(recorded.flow)


def test_a_dropped_connection_is_recorded_without_a_response(start_server):
    server = start_server(MOCK_RECORDING="dropped")
    status, _ = server.post("/_admin/faults", {"method": "HealthCheck", "kind": "drop_connection", "times": 1})
    assert status == 201
    host, port = "127.0.0.1", server.port
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"GET /v3/HealthCheck HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1024) == b""  # closed with nothing sent
    record, marker = server.get("/_admin/recordings")["exchanges"]
    assert marker["marker"] == "faults_added"
    assert record["response"] is None and record["no_response"] == "drop_connection"
    assert record["faults"][0]["kind"] == "drop_connection"
