"""Replay in process: as a mock (MOCK_REPLAY) and against a second sandbox through its test client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mock_server.config import ROOT
from mock_server.recording.demo import run_flow
from mock_server.recording.replay_target import Target, TargetUnreachable, replay

from ..helpers import journal_file
from ..replaying import caller, make_app

FROZEN_AT = 1767225600


def journal_of(app) -> Path:
    return journal_file(app)


@pytest.fixture
def source(tmp_path):
    """A live sandbox that ran the demo flow."""
    app = make_app(tmp_path, "source")
    app.flow = run_flow(caller(app.test_client()))
    return app


@pytest.fixture
def recording(source):
    """Its recording: (path, [(rpc, status, body)])."""
    return journal_of(source), source.flow


class ClientTarget(Target):
    """A replay target that is another app, reached through its test client."""

    def __init__(self, app, **kwargs):
        super().__init__("http://sandbox.test", **kwargs)
        self.client = app.test_client()

    def send(self, method, path, body, headers):
        response = self.client.open(path, method=method, data=body, headers=headers)
        return response.status_code, response.get_data()


# ---- replay as a mock ----


def test_mock_gives_the_recorded_answers_in_order(tmp_path, recording):
    path, flow = recording
    mock = make_app(tmp_path, "mock", replay=str(path))
    replayed = run_flow(caller(mock.test_client()))
    assert replayed == flow


def test_mock_answers_carry_the_seq_they_came_from(tmp_path, recording):
    path, _ = recording
    client = make_app(tmp_path, "mock", replay=str(path)).test_client()
    response = client.get("/v3/HealthCheck")
    assert response.headers["X-Sandbox-Replay"] == "seq=1" and response.get_json() == {}


def test_matching_ignores_key_order_case_int64_form_and_idempotency_token(tmp_path, recording):
    path, flow = recording
    client = make_app(tmp_path, "mock", replay=str(path)).test_client()
    record = json.loads(path.read_text().splitlines()[3])  # the first CreateBooking
    body = record["request"]["body"]
    slot = body["slot"]
    variant = {
        "idempotencyToken": "something-else",
        "userInformation": dict(reversed(list(body["user_information"].items()))),
        "slot": {
            "merchantId": slot["merchant_id"],
            "serviceId": slot["service_id"],
            "startSec": int(slot["start_sec"]),
            "durationSec": int(slot["duration_sec"]),
            "resources": slot["resources"],
        },
    }
    response = client.post("/v3/CreateBooking", json=variant)
    assert response.status_code == 200 and response.get_json() == flow[3][2]


def test_repeated_requests_play_in_order_then_the_last_repeats(tmp_path, recording):
    path, flow = recording
    client = make_app(tmp_path, "mock", replay=str(path)).test_client()
    cancel = [json.loads(line) for line in path.read_text().splitlines()][9]["request"]["body"]
    answers = [client.post("/v3/UpdateBooking", json=cancel).get_json() for _ in range(3)]
    assert answers[0] == flow[9][2] and answers[0]["booking"]["status"] == "CANCELED"
    assert answers[1] == answers[2] == flow[10][2]
    assert answers[1]["booking_failure"]["cause"] == "BOOKING_ALREADY_CANCELLED"
    client.post("/_admin/reset")  # a reset rewinds the replay
    assert client.post("/v3/UpdateBooking", json=cancel).get_json() == flow[9][2]


def test_an_unmatched_request_names_the_closest_recording_and_the_difference(tmp_path, recording):
    path, _ = recording
    client = make_app(tmp_path, "mock", replay=str(path)).test_client()
    record = json.loads(path.read_text().splitlines()[11])  # GetBookingStatus of Ann's booking
    response = client.post("/v3/GetBookingStatus", json={"booking_id": "B0000042"})
    assert response.status_code == 404 and response.headers["X-Sandbox-Replay"] == "miss"
    body = response.get_json()
    assert body["code"] == 404 and body["status"] == "Not Found"
    assert body["closest"]["seq"] == record["seq"]
    assert body["closest"]["differences"] == [
        f'booking_id: recorded "{record["request"]["body"]["booking_id"]}" but sent "B0000042"'
    ]
    assert f"closest is seq {record['seq']}" in body["message"] and "B0000042" in body["message"]
    status = client.get("/_admin/recordings/replay").get_json()
    assert status["misses"] == 1 and status["played"] == 0 and status["exchanges"] == 15


def test_a_method_missing_from_the_recording_is_explained(tmp_path):
    source = make_app(tmp_path, "only-health")
    source.test_client().get("/v3/HealthCheck")
    client = make_app(tmp_path, "mock", replay=str(journal_of(source))).test_client()
    response = client.post("/v3/ListBookings", json={"user_id": "1"})
    assert response.status_code == 404
    assert "the recording has no ListBookings exchange; it has: HealthCheck x1" in response.get_json()["message"]


def test_replay_keeps_basic_auth_and_its_answers_are_recorded(tmp_path, recording):
    path, flow = recording
    mock = make_app(tmp_path, "mock", replay=str(path), basic_auth="u:p")
    client = mock.test_client()
    assert client.get("/v3/HealthCheck").status_code == 401
    assert client.get("/v3/HealthCheck", headers={"Authorization": "Basic dTpw"}).status_code == 200
    recorded = [json.loads(line) for line in journal_of(mock).read_text().splitlines()]
    assert [r["response"]["status"] for r in recorded] == [401, 200]


def test_redacted_recordings_still_match(tmp_path):
    source = make_app(tmp_path, "redacted", redact_pii=1)
    flow = run_flow(caller(source.test_client()))
    mock = make_app(tmp_path, "mock", replay=str(journal_of(source)))
    replayed = run_flow(caller(mock.test_client()))
    # Same answers, except that the recorded (pseudonymised) user data comes back.
    assert [(rpc, status) for rpc, status, _ in replayed] == [(rpc, status) for rpc, status, _ in flow]
    assert mock.test_client().get("/_admin/recordings/replay").get_json()["misses"] == 0


def test_a_missing_replay_file_stops_start_up(tmp_path):
    with pytest.raises(SystemExit, match="MOCK_REPLAY: no such recording"):
        make_app(tmp_path, "mock", replay=str(tmp_path / "nope.jsonl"))


# ---- replay against another sandbox ----


def test_replay_into_a_fresh_sandbox_matches_and_rebuilds_its_bookings(tmp_path, source, recording):
    path, _ = recording
    target = make_app(tmp_path, "target")
    report = replay(path, ClientTarget(target))
    assert report.ok and len(report.outcomes) == 15 and report.skipped == 0
    assert all(o.status == (o.status[0], o.status[0]) for o in report.outcomes)
    assert _bookings_without_ids(target) == _bookings_without_ids(source)
    assert len(_bookings_without_ids(target)) == 3


def test_booking_ids_are_mapped_when_the_target_numbers_differently(tmp_path, recording):
    path, _ = recording
    target = make_app(tmp_path, "target")
    client = target.test_client()
    # Someone else books first on the target: every id of the replay is shifted by one.
    slot = json.loads(path.read_text().splitlines()[7])["request"]["body"]["slot"]  # the async merchant's slot
    other = {
        "slot": {**slot, "start_sec": str(int(slot["start_sec"]) + 86400)},
        "user_information": {
            "user_id": "9",
            "given_name": "Zed",
            "family_name": "Zee",
            "telephone": "+14155550100",
            "email": "z@example.com",
        },
        "idempotency_token": "other",
    }
    assert "booking" in client.post("/v3/CreateBooking", json=other).get_json()
    report = replay(path, ClientTarget(target))
    assert report.ok, [o.diff for o in report.outcomes if not o.matched]
    assert report.id_map == {"B0000001": "B0000002", "B0000002": "B0000003", "B0000003": "B0000004"}


def test_a_different_target_is_reported_with_a_readable_diff(tmp_path, recording):
    path, _ = recording
    target = make_app(tmp_path, "target")
    target.test_client().post(
        "/_admin/faults", json={"method": "CheckAvailability", "kind": "http_error", "status": 503, "times": 1}
    )
    report = replay(path, ClientTarget(target))
    assert not report.ok
    (bad,) = [o for o in report.outcomes if not o.matched]
    assert bad.rpc == "CheckAvailability" and bad.status == (200, 503)
    assert bad.diff.startswith("--- recorded #3\n+++ target\n")
    assert "-HTTP 200" in bad.diff and "+HTTP 503" in bad.diff


def test_basic_auth_is_sent_to_the_target(tmp_path, recording):
    path, _ = recording
    target = make_app(tmp_path, "target", basic_auth="u:p")
    refused = replay(path, ClientTarget(target))
    assert {o.status for o in refused.outcomes} == {(200, 401), (404, 401)}
    assert replay(path, ClientTarget(target, basic_auth="u:p")).ok  # nothing was booked by the refused run


def test_a_target_nobody_listens_on_stops_the_replay(recording):
    import socket

    with socket.socket() as sock:  # bound, not listening: connections to it are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(TargetUnreachable, match="refused"):
            replay(recording[0], Target(f"http://127.0.0.1:{port}", timeout=2))


def _bookings_without_ids(app) -> list[str]:
    """GET /_admin/bookings minus what differs between runs (ids)."""
    rows = app.test_client().get("/_admin/bookings").get_json()["bookings"]
    return sorted(json.dumps({k: v for k, v in row.items() if k != "booking_id"}, sort_keys=True) for row in rows)


# ---- the curated example ----

EXAMPLE = ROOT / "recordings" / "examples" / "booking-flow.jsonl"
REGENERATE = (
    "MOCK_CLOCK=1767225600 MOCK_BASIC_AUTH=partner:secret MOCK_RECORDINGS_DIR=recordings/examples "
    "MOCK_RECORDING=booking-flow python app.py & python -m mock_server.recording.demo "
    "http://127.0.0.1:8080 partner:secret"
)


def test_the_example_recording_still_matches_a_fresh_sandbox(tmp_path):
    """A golden replay: when the core's answers change on purpose, delete the file and re-record it (REGENERATE)."""
    target = make_app(tmp_path, "golden", basic_auth="partner:secret")
    report = replay(EXAMPLE, ClientTarget(target, basic_auth="partner:secret"))
    assert report.ok, "\n".join(o.diff for o in report.outcomes if not o.matched) + "\nre-record: " + REGENERATE
    assert len(report.outcomes) == 15


def test_the_example_recording_serves_as_a_mock(tmp_path):
    mock = make_app(tmp_path, "mock", replay=str(EXAMPLE), basic_auth="partner:secret")
    client = mock.test_client()
    auth = {"Authorization": "Basic cGFydG5lcjpzZWNyZXQ="}

    def call(method, path, body):
        response = client.open(path, method=method, json=body, headers=auth)
        return response.status_code, response.get_json()

    run_flow(call)
    assert client.get("/_admin/recordings/replay").get_json() | {"source": None} == {
        "source": None,
        "exchanges": 15,
        "played": 15,
        "misses": 0,
        "unplayed_seqs": [],
    }
