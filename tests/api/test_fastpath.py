"""The WSGI fast path answers, records and logs exactly as the Flask pipeline does, and takes only what it should."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from mock_server import create_app
from mock_server.fastpath import FastV3

from ..helpers import feed_slot, journal_file

FROZEN_AT = 1767225600
AUTH = "Basic " + base64.b64encode(b"google:secret").decode()


class Twin:
    """One sandbox with the fast path and one without, same settings; each request goes to both."""

    def __init__(self, tmp_path, **settings):
        self.apps = {fast: create_app({"clock": FROZEN_AT, "recordings_dir": str(tmp_path / f"rec{fast}"),
                                       "recording": "twin", "fast_path": fast, **settings}, environ={})
                     for fast in (1, 0)}
        self.flask_calls = 0
        fast_layer = self.apps[1].wsgi_app
        assert isinstance(fast_layer, FastV3)
        inner = fast_layer.wsgi_app

        def counting(environ, start_response):
            self.flask_calls += 1
            return inner(environ, start_response)

        fast_layer.wsgi_app = counting

    def send(self, caplog, path, body, headers=None, raw: bytes | None = None, content_type="application/json"):
        """Send to both; assert the same status, headers, body and access log line; return the answer."""
        answers = {}
        for fast, app in self.apps.items():
            caplog.clear()
            data = raw if raw is not None else json.dumps(body).encode()
            response = app.test_client().post(path, data=data, headers=headers or {}, content_type=content_type)
            logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mock_server.access"]
            for line in logged:
                line.pop("duration_ms")
            answers[fast] = (response.status_code, dict(response.headers), response.get_data(), logged)
        assert answers[1] == answers[0]
        status, _, data, _ = answers[1]
        return status, json.loads(data)

    def journals(self) -> dict[int, list[dict]]:
        """Both journals, without what differs by nature (wall-clock time and duration)."""
        out = {}
        for fast, app in self.apps.items():
            path = journal_file(app)
            records = [json.loads(line) for line in path.read_text().splitlines()]
            for record in records:
                record.pop("ts"), record.pop("duration_ms")
            out[fast] = records
        return out


@pytest.fixture(autouse=True)
def access_log(caplog):
    caplog.set_level(logging.INFO, logger="mock_server.access")
    return caplog


def free_slots(app, count: int) -> list[dict]:
    """Bookable feed entries (no prepayment, synchronous), as v3 Slots."""
    client = app.test_client()
    services = {(s["merchant_id"], s["service_id"]): s for s in client.get("/feeds/services.json").json["service"]}
    entries = [a for group in client.get("/feeds/availability.json").json["service_availability"]
               for a in group["availability"]
               if services[(a["merchant_id"], a["service_id"])].get("prepayment_type") != "REQUIRED"
               and a["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS" and a["spots_open"] == 1]
    return [feed_slot(a) for a in entries[:count]]


def user(user_id="u-1", email="ada@example.com"):
    return {"user_id": user_id, "given_name": "Ada", "family_name": "Lovelace", "telephone": "+1 555-010-0101",
            "email": email}


def lookup_body(slots):
    return {"merchant_id": slots[0]["merchant_id"],
            "slot_time": [{"service_id": s["service_id"], "start_sec": s["start_sec"],
                           "duration_sec": s["duration_sec"], "resource_ids": s.get("resources", {})} for s in slots]}


def test_a_booking_day_is_answered_recorded_and_logged_the_same_both_ways(tmp_path, access_log):
    twin = Twin(tmp_path, basic_auth="google:secret")
    slot, other = free_slots(twin.apps[0], 2)
    headers = {"Authorization": AUTH}
    send = lambda path, body, **kw: twin.send(access_log, path, body, headers=kw.pop("headers", headers), **kw)  # noqa: E731

    status, answer = send("/v3/BatchAvailabilityLookup", lookup_body([slot, other]))
    assert status == 200 and [e["available"] for e in answer["slot_time_availability"]] == [True, True]
    create = {"slot": slot, "user_information": user(), "idempotency_token": "t-1"}
    status, answer = send("/v3/CreateBooking", create)
    assert answer["booking"]["status"] == "CONFIRMED"
    booking_id = answer["booking"]["booking_id"]
    assert send("/v3/CreateBooking", create)[1]["booking"]["booking_id"] == booking_id  # idempotent replay
    reused = {**create, "user_information": user("u-2")}
    assert send("/v3/CreateBooking", reused)[1]["booking"]["booking_id"] == booking_id  # replay with a warning
    taken = send("/v3/CreateBooking", {**create, "idempotency_token": "t-2", "user_information": user("u-3")})
    assert taken[1] == {"booking_failure": {"cause": "SLOT_UNAVAILABLE", "description": "no spot left in this slot"}}
    status, answer = send("/v3/BatchAvailabilityLookup", lookup_body([slot, other]))
    assert [e["available"] for e in answer["slot_time_availability"]] == [False, True]
    cancel = {"booking": {"booking_id": booking_id, "status": "CANCELED"}}
    assert send("/v3/UpdateBooking", cancel)[1]["booking"]["status"] == "CANCELED"
    assert send("/v3/UpdateBooking", cancel)[1]["booking_failure"]["cause"] == "BOOKING_ALREADY_CANCELLED"
    assert twin.flask_calls == 0  # all of the above took the fast path

    # What the fast path leaves to Flask gets Flask's answer: errors, other spellings, faults, credentials.
    assert send("/v3/UpdateBooking", {"booking": {"booking_id": "B404", "status": "CANCELED"}})[0] == 400
    assert send("/v3/BatchAvailabilityLookup", {**lookup_body([slot]), "merchant_id": "nope"})[0] == 400
    assert send("/v3/BatchAvailabilityLookup", {"merchantId": slot["merchant_id"],
                                                "slotTime": lookup_body([slot])["slot_time"]})[0] == 200
    assert send("/v3/batchavailabilitylookup", lookup_body([slot]))[0] == 200
    assert send("/v3/BatchAvailabilityLookup", lookup_body([slot]), headers={})[0] == 401
    assert send("/v3/BatchAvailabilityLookup", lookup_body([slot]), headers={"Authorization": "Basic eA=="})[0] == 401
    assert send("/v3/BatchAvailabilityLookup", None, raw=b"{nope")[0] == 400
    assert send("/v3/BatchAvailabilityLookup", lookup_body([slot]), content_type="text/plain")[0] == 415
    magic = {**create, "idempotency_token": "t-3", "slot": other, "user_information": user(email="qa+slot_taken@x.io")}
    assert send("/v3/CreateBooking", magic)[1]["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"
    assert send("/v3/CreateBooking", {**create, "idempotency_token": "t-4", "slot": other},
                headers={**headers, "X-Sandbox-Fault": "http_503"})[0] == 503
    assert twin.flask_calls == 10

    journals = twin.journals()
    assert len(journals[1]) == 18 and journals[1] == journals[0]
    assert journals[1][3]["warnings"] == ["idempotency_token reused with a different payload; original booking "
                                          "returned"]


def test_without_credentials_configured_the_missing_header_warning_is_kept(tmp_path, access_log):
    twin = Twin(tmp_path)
    slot = free_slots(twin.apps[0], 1)[0]
    assert twin.send(access_log, "/v3/BatchAvailabilityLookup", lookup_body([slot]))[0] == 200
    assert twin.flask_calls == 0
    journals = twin.journals()
    assert journals[1] == journals[0]
    assert journals[1][0]["warnings"] == ["no Basic auth sent (Google always sends it)"]


def test_a_fault_rule_sends_every_call_through_flask(tmp_path, access_log):
    twin = Twin(tmp_path)
    slot = free_slots(twin.apps[0], 1)[0]
    for app in twin.apps.values():
        app.test_client().post("/_admin/faults", json={"method": "ListBookings", "kind": "http_error", "status": 500})
    assert twin.send(access_log, "/v3/BatchAvailabilityLookup", lookup_body([slot]))[0] == 200
    assert twin.flask_calls == 2  # the rule (admin API) and the lookup


def test_pii_redaction_records_the_same_both_ways(tmp_path, access_log):
    twin = Twin(tmp_path, redact_pii=1)
    slot = free_slots(twin.apps[0], 1)[0]
    create = {"slot": slot, "user_information": user(), "idempotency_token": "t-1"}
    assert twin.send(access_log, "/v3/CreateBooking", create)[0] == 200
    assert twin.flask_calls == 0
    journals = twin.journals()
    assert journals[1] == journals[0]
    assert journals[1][0]["pii_redacted"] is True
    assert "Lovelace" not in json.dumps(journals[1])


def test_replay_mode_has_no_fast_path(tmp_path):
    source = Twin(tmp_path)
    slot = free_slots(source.apps[0], 1)[0]
    source.apps[1].test_client().post("/v3/BatchAvailabilityLookup", json=lookup_body([slot]))
    recording = journal_file(source.apps[1])
    replay = create_app({"clock": FROZEN_AT, "replay": str(recording), "record": 0}, environ={})
    assert not isinstance(replay.wsgi_app, FastV3)


def test_an_unexpected_error_gets_flasks_json_500_both_ways(tmp_path, access_log, monkeypatch):
    from mock_server.v3 import answers

    twin = Twin(tmp_path)
    slot = free_slots(twin.apps[0], 1)[0]

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(answers, "availability", broken)
    status, body = twin.send(access_log, "/v3/BatchAvailabilityLookup", lookup_body([slot]))
    assert (status, body) == (500, {"code": 500, "status": "Internal Server Error"})
    journals = twin.journals()
    assert journals[1] == journals[0] and journals[1][0]["response"]["status"] == 500
