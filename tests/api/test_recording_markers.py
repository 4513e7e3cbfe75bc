"""Markers: admin actions journalled between the exchanges, shown by every reader, made again by a replay."""

from __future__ import annotations

import json

from mock_server.cli import main
from mock_server.recording import har
from mock_server.recording.demo import run_flow
from mock_server.recording.replay_markers import MarkerPlayer
from mock_server.recording.replay_target import replay

from ..helpers import journal_file
from ..replaying import caller, make_app, replay_in_process
from .test_recordings_replay import ClientTarget

FROZEN_AT = 1767225600
FROZEN = {"now_sec": FROZEN_AT, "frozen": True, "offset_sec": 0}
BUSY = {"id": "busy", "method": "CheckAvailability", "kind": "http_error", "status": 503, "times": 1}


def markers_of(client) -> list[dict]:
    """The markers of the journal listing, oldest first, without their wall-clock time."""
    body = client.get("/_admin/recordings?method=marker").get_json()
    return [{k: v for k, v in m.items() if k != "ts"} for m in reversed(body["exchanges"])]


def test_each_admin_action_that_succeeds_is_journalled_as_a_marker(client):
    client.get("/v3/HealthCheck")
    assert client.post("/_admin/faults", json=BUSY).status_code == 201
    assert client.delete("/_admin/faults/busy").status_code == 200
    assert client.delete("/_admin/faults/busy").status_code == 404  # refused: no marker
    assert client.delete("/_admin/faults").status_code == 200
    assert client.post("/_admin/clock", json={"advance_sec": 3600}).status_code == 200
    assert client.patch("/_admin/settings", json={"response_profile": "minimal"}).status_code == 200
    document = client.get("/_admin/state").get_json()
    assert client.put("/_admin/state", json=document).status_code == 200
    assert client.post("/_admin/reset").status_code == 200
    rule = {
        **BUSY,
        "match": {},
        "probability": 1.0,
        "ttl_s": None,
        "created_sec": FROZEN_AT,
        "expires_at_sec": None,
        "fired": 0,
        "remaining": 1,
        "source": "api",
    }
    later = FROZEN_AT + 3600
    assert markers_of(client) == [
        {"seq": 2, "clock_sec": FROZEN_AT, "marker": "faults_added", "via": "api", "detail": {"rules": [rule]}},
        {"seq": 3, "clock_sec": FROZEN_AT, "marker": "fault_removed", "via": "api", "detail": {"rule_id": "busy"}},
        {"seq": 4, "clock_sec": FROZEN_AT, "marker": "faults_cleared", "via": "api", "detail": {"removed": 0}},
        {
            "seq": 5,
            "clock_sec": later,
            "marker": "clock",
            "via": "api",
            "detail": {"clock": {**FROZEN, "now_sec": later}, "change": {"advance_sec": 3600}},
        },
        {
            "seq": 6,
            "clock_sec": later,
            "marker": "settings",
            "via": "api",
            "detail": {"settings": {"strict": False, "response_profile": "minimal"}},
        },
        {
            "seq": 7,
            "clock_sec": later,
            "marker": "state_restored",
            "via": "api",
            "detail": {"anchor_sec": FROZEN_AT, "counts": client.get("/_admin/health").get_json()["counts"]},
        },
        {
            "seq": 8,
            "clock_sec": FROZEN_AT,
            "marker": "reset",
            "via": "api",
            "detail": {"anchor_sec": FROZEN_AT, "clock": FROZEN, "recordings_cleared": False},
        },
    ]
    one = client.get("/_admin/recordings/5").get_json()
    assert one["marker"] == "clock" and one["ts"].endswith("Z")
    everything = client.get("/_admin/recordings").get_json()
    assert everything["recorded"] == 8 and [e["seq"] for e in everything["exchanges"]] == list(range(8, 0, -1))


def test_the_har_export_carries_the_markers_and_reads_them_back(client):
    client.post("/_admin/faults", json=BUSY)
    client.get("/v3/HealthCheck")
    document = json.loads(client.get("/_admin/recordings/export?format=har").get_data())
    assert [e["_seq"] for e in document["log"]["entries"]] == [2]  # markers are no HTTP entries
    (marker,) = document["log"]["_markers"]
    assert marker["seq"] == 1 and marker["marker"] == "faults_added"
    records, left_out = har.records(document)
    assert left_out == "" and [r["seq"] for r in records] == [2, 1] and records[1] == marker


def record_session(tmp_path):
    """A QA session: the demo flow, a merchant decision, a reset, a fault, a clock change and a setting, then the
    flow again (its first CheckAvailability is the faulted exchange)."""
    source = make_app(tmp_path, "session")
    client = source.test_client()
    run_flow(caller(client))
    (pending,) = client.get("/_admin/bookings?status=PENDING_MERCHANT_CONFIRMATION").get_json()["bookings"]
    client.post(f"/_admin/bookings/{pending['booking_id']}/merchant-decision", json={"decision": "confirm"})
    client.post("/v3/GetBookingStatus", json={"booking_id": pending["booking_id"]})
    client.post("/_admin/reset")
    client.post("/_admin/faults", json=BUSY)
    client.post("/_admin/clock", json={"advance_sec": 3600})
    client.patch("/_admin/settings", json={"response_profile": "numbers"})
    run_flow(caller(client))
    return source, journal_file(source)


def test_a_session_with_a_reset_a_fault_and_a_clock_change_replays_without_differences(tmp_path):
    source, path = record_session(tmp_path)
    target = make_app(tmp_path, "target")
    report = replay(path, ClientTarget(target))
    assert report.ok, [o.diff for o in report.outcomes if not o.matched]
    assert len(report.outcomes) == 31 and report.faulted == 0
    assert [(m.kind, m.applied, m.note) for m in report.markers] == [
        ("merchant_action", True, ""),
        ("reset", True, ""),
        ("faults_added", True, ""),
        ("clock", True, ""),
        ("settings", True, ""),
    ]
    target_admin, source_admin = target.test_client(), source.test_client()
    for path_ in ("/_admin/clock", "/_admin/settings", "/_admin/bookings"):
        assert target_admin.get(path_).get_json() == source_admin.get(path_).get_json()
    assert [r["fired"] for r in target_admin.get("/_admin/faults").get_json()["retired"]] == [1]


def test_skip_faulted_leaves_out_the_faulted_exchange_and_the_rules(tmp_path):
    _, path = record_session(tmp_path)
    target = make_app(tmp_path, "target")
    report = replay(path, ClientTarget(target), skip_faulted=True)
    assert report.ok and len(report.outcomes) == 30 and report.faulted == 1
    fault = next(m for m in report.markers if m.kind == "faults_added")
    assert (fault.applied, fault.note) == (False, "skipped (--skip-faulted)")
    faults = target.test_client().get("/_admin/faults").get_json()
    assert faults == {"faults": [], "retired": []}


def test_markers_are_only_reported_when_asked_or_when_the_target_has_no_admin_api(tmp_path):
    _, path = record_session(tmp_path)
    reported = replay(path, ClientTarget(make_app(tmp_path, "one")), apply_markers=False)
    assert {(m.applied, m.note) for m in reported.markers} == {(False, "reported only")}
    assert not reported.ok  # the session is not reproduced: the answers after the markers differ

    class NoAdmin(ClientTarget):
        def send(self, method, path, body, headers):
            return (404, b"not found") if path.startswith("/_admin") else super().send(method, path, body, headers)

    played = replay(path, NoAdmin(make_app(tmp_path, "two"))).markers
    assert played[0].note.startswith("POST /_admin/bookings/")  # a booking's 404 says nothing of the target
    assert played[1].note == (
        "POST /_admin/reset answered 404: not found; the target has no sandbox /_admin API: later markers are "
        "reported only"
    )
    assert [m.note for m in played[2:]] == ["reported only"] * 3


def test_a_marker_the_admin_api_cannot_make_again_is_reported(tmp_path):
    player = MarkerPlayer(ClientTarget(make_app(tmp_path, "target")), {})
    outcome = player.play({"seq": 4, "marker": "state_restored", "detail": {"counts": {"bookings": 2}}})
    assert (outcome.applied, outcome.summary) == (False, "state restored from a document (2 bookings)")
    assert outcome.note.startswith("not reproducible: the restored document is not in the journal")


def test_the_cli_applies_markers_and_counts_skipped_faulted_exchanges(tmp_path, monkeypatch, capsys):
    _, path = record_session(tmp_path)
    replay_in_process(monkeypatch)
    assert main(["replay", str(path), "--target", "http://sandbox.test", "--skip-faulted"]) == 0
    out = capsys.readouterr().out.splitlines()
    marks = [line for line in out if line.startswith("mark")]
    assert marks == [
        "mark  #16 merchant_action: merchant-decision on B0000003 (decision confirm): CONFIRMED",
        "mark  #18 reset: sandbox reset",
        "mark  #19 faults_added: fault rule armed: busy http_error on CheckAvailability (skipped (--skip-faulted))",
        "mark  #20 clock: clock frozen at 1767229200 (offset 0 s)",
        "mark  #21 settings: settings: strict False, response profile numbers",
    ]
    assert out[-3:] == [
        "30 exchanges: 30 match, 0 differ, 1 faulted skipped",
        "5 markers: 4 applied, 1 not applied",
        "booking ids learned: 3 (0 differ from the recording)",  # those since the reset,
    ]


def test_each_merchant_action_is_a_marker_a_replay_makes_again(tmp_path):
    from tests.helpers import book, find_slot

    source = make_app(tmp_path, "source")
    client = source.test_client()
    runtime = source.extensions["mock_server"]
    booking = book(client, find_slot(runtime, vertical="appointments"))
    assert client.post(f"/_admin/bookings/{booking['booking_id']}/merchant-cancel").status_code == 200
    [marker] = markers_of(client)
    assert (marker["marker"], marker["detail"]) == (
        "merchant_action",
        {"booking_id": booking["booking_id"], "action": "merchant-cancel", "body": {}, "status": "CANCELED"},
    )
    target = make_app(tmp_path, "target")
    report = replay(journal_file(source), ClientTarget(target))
    assert report.ok and [(m.kind, m.applied) for m in report.markers] == [("merchant_action", True)]
    status = target.test_client().post("/v3/GetBookingStatus", json={"booking_id": booking["booking_id"]})
    assert status.get_json()["booking_status"] == "CANCELED"


def test_each_waitlist_action_is_a_marker_a_replay_makes_again(tmp_path):
    from tests.api.test_waitlist import MAIN, join, local, period

    source = make_app(tmp_path, "source")
    client = source.test_client()
    runtime = source.extensions["mock_server"]
    client.post("/_admin/clock", json={"freeze_at_sec": local(runtime, MAIN, period(runtime, MAIN, "OPEN"))})
    entry_id = join(client, party_size=3).get_json()["waitlist_entry_id"]
    assert client.post(f"/_admin/waitlist/{entry_id}/ready").status_code == 200
    marker = markers_of(client)[-1]
    assert (marker["marker"], marker["detail"]) == (
        "waitlist_action",
        {"waitlist_entry_id": entry_id, "action": "ready", "state": "SERVICE_READY"},
    )
    target = make_app(tmp_path, "target")
    report = replay(journal_file(source), ClientTarget(target))
    assert report.ok and [(m.kind, m.applied) for m in report.markers] == [("clock", True), ("waitlist_action", True)]
    assert report.markers[-1].summary == f"waitlist ready on {entry_id}: SERVICE_READY"
    got = target.test_client().post("/v3/GetWaitlistEntry", json={"waitlist_entry_id": entry_id}).get_json()
    assert got["waitlist_entry"]["waitlist_entry_state"] == "SERVICE_READY"
