"""The exchange journal through the Flask test client: what each line holds, and the admin API over it."""

from __future__ import annotations

import base64
import json
import threading
import time

import orjson
import pytest

from mock_server import create_app
from mock_server.recording.demo import run_flow
from mock_server.recording.redact import pseudonym

from ..helpers import journal_file

FROZEN_AT = 1767225600


def make_app(tmp_path, **overrides):
    settings = {"clock": FROZEN_AT, "recordings_dir": str(tmp_path / "rec"), "recording": "test", **overrides}
    return create_app(settings, environ={})


def caller(client, headers=None):
    """demo.Call over the test client."""

    def call(method, path, body):
        response = client.open(path, method=method, json=body, headers=headers or {})
        return response.status_code, response.get_json()

    return call


def lines(app) -> list[dict]:
    path = journal_file(app)
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def rec_app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def recorded(rec_app):
    """An app that ran the demo flow; (app, client, [(rpc, status, body)])."""
    client = rec_app.test_client()
    return rec_app, client, run_flow(caller(client))


def test_every_v3_exchange_is_one_line_with_request_and_response(recorded):
    app, _, flow = recorded
    journal = lines(app)
    assert [r["seq"] for r in journal] == list(range(1, len(flow) + 1))
    assert [(r["rpc"], r["response"]["status"], r["response"]["body"]) for r in journal] == [
        (rpc, status, body) for rpc, status, body in flow
    ]
    assert {r["rpc"] for r in journal} == {
        "HealthCheck",
        "BatchAvailabilityLookup",
        "CheckAvailability",
        "CreateBooking",
        "UpdateBooking",
        "GetBookingStatus",
        "ListBookings",
    }
    create = next(r for r in journal if r["rpc"] == "CreateBooking")
    assert create["method"] == "POST" and create["path"] == "/v3/CreateBooking" and create["query"] == ""
    assert create["request"]["body"]["idempotency_token"] == "flow-1"
    assert create["request"]["body"]["user_information"]["given_name"] == "Ann"
    assert create["request"]["headers"]["Content-Type"] == "application/json"
    assert create["response"]["headers"]["Content-Type"] == "application/json"
    assert create["clock_sec"] == FROZEN_AT
    assert create["ts"].endswith("Z") and create["ts"][10] == "T"
    assert create["duration_ms"] >= 0 and create["faults"] == []
    health = journal[0]
    assert health["method"] == "GET" and health["request"]["body"] is None and health["response"]["body"] == {}


def test_control_plane_and_docs_are_never_recorded(rec_app):
    client = rec_app.test_client()
    for path in ("/_admin/health", "/feeds/merchants.json", "/openapi.json", "/_admin/recordings"):
        assert client.get(path).status_code == 200
    client.get("/v3/HealthCheck")
    assert [r["path"] for r in lines(rec_app)] == ["/v3/HealthCheck"]


def test_unknown_v3_path_and_non_json_body_are_recorded_as_sent(rec_app):
    client = rec_app.test_client()
    client.post("/v3/NoSuchMethod", data="plain words", content_type="text/plain")
    client.post("/v3/CreateBooking", data="{not json", content_type="application/json")
    unknown, malformed = lines(rec_app)
    assert unknown["rpc"] == "NoSuchMethod" and unknown["response"]["status"] == 404
    assert unknown["request"]["body"] == "plain words"
    assert malformed["request"]["body"] == "{not json"
    assert malformed["response"]["status"] == 400
    assert malformed["response"]["body"]["message"].startswith("malformed JSON")


def test_a_pretty_printed_body_stays_on_one_line_and_an_oversized_one_is_not_read(tmp_path):
    app = make_app(tmp_path, max_body_bytes=2048)
    client = app.test_client()
    pretty = json.dumps({"user_id": "42"}, indent=2)
    assert client.post("/v3/ListBookings", data=pretty, content_type="application/json").status_code == 200
    assert client.post("/v3/ListBookings", data=" " * 4096, content_type="application/json").status_code == 413
    listed, oversized = lines(app)  # each exchange is still exactly one line
    assert listed["request"]["body"] == {"user_id": "42"}
    assert oversized["request"]["body"] == "<body not read: RequestEntityTooLarge>"
    assert oversized["response"]["status"] == 413


def test_authorization_is_always_redacted(tmp_path):
    app = make_app(tmp_path, basic_auth="partner:s3cret")
    client = app.test_client()
    good = "Basic " + base64.b64encode(b"partner:s3cret").decode()
    client.get("/v3/HealthCheck", headers={"Authorization": good})
    client.get("/v3/HealthCheck", headers={"Authorization": "Basic d3Jvbmc6d3Jvbmc="})
    text = journal_file(app).read_text()
    assert "s3cret" not in text and "d3Jvbmc6" not in text and good.split()[1] not in text
    ok, denied = lines(app)
    assert ok["request"]["headers"]["Authorization"] == "Basic [REDACTED]"
    assert ok["response"]["status"] == 200
    assert denied["response"]["status"] == 401
    assert denied["response"]["headers"]["WWW-Authenticate"].startswith("Basic")


def test_warnings_are_written_down(rec_app):
    client = rec_app.test_client()
    run_flow(caller(client))
    journal_before = len(lines(rec_app))
    first_create = next(r for r in lines(rec_app) if r["rpc"] == "CreateBooking")
    body = first_create["request"]["body"]
    changed = {**body, "user_information": {**body["user_information"], "given_name": "Other"}, "extra": 1}
    client.post("/v3/CreateBooking", json=changed)
    client.post("/v3/GetBookingStatus", json={"booking_id": "B0000001"})
    client.post("/v3/CheckAvailability", json={"slot": {**body["slot"], "start_sec": int(body["slot"]["start_sec"])}})
    reused, status, numeric = lines(rec_app)[journal_before:]
    assert any("unknown field ignored: extra" == w for w in reused["warnings"])
    assert any("idempotency_token" in w for w in reused["warnings"])
    assert any("no Basic auth sent" in w for w in status["warnings"])
    assert any("start_sec sent as a JSON number" in w for w in numeric["warnings"])


def test_pii_redaction_is_deterministic_and_covers_request_and_response(tmp_path):
    app = make_app(tmp_path, redact_pii=1)
    run_flow(caller(app.test_client()))
    text = journal_file(app).read_text()
    for secret in ("Ann", "Lee", "ann@example.com", "+14155550123", "Bob", "bob@example.com"):
        assert f'"{secret}"' not in text
    create = next(r for r in lines(app) if r["rpc"] == "CreateBooking")
    user = create["request"]["body"]["user_information"]
    assert user == {
        "user_id": "1001",
        "given_name": pseudonym("given", "Ann"),
        "family_name": pseudonym("family", "Lee"),
        "telephone": pseudonym("telephone", "+14155550123"),
        "email": pseudonym("email", "ann@example.com"),
    }
    assert create["response"]["body"]["booking"]["user_information"] == user
    assert create["pii_redacted"] is True


def test_faults_and_delays_are_recorded(rec_app):
    client = rec_app.test_client()
    added = client.post("/_admin/faults", json={"method": "HealthCheck", "kind": "delay", "delay_ms": 30, "times": 1})
    assert added.status_code == 201, added.get_json()
    client.get("/v3/HealthCheck")
    marker, record = lines(rec_app)  # the rule's marker, then the exchange it changed
    assert marker["marker"] == "faults_added"
    assert record["faults"] == [{"id": added.get_json()["id"], "kind": "delay"}]
    assert record["duration_ms"] >= 30


def test_a_dropped_connection_is_recorded_without_a_response(rec_app):
    client = rec_app.test_client()
    assert client.post("/_admin/faults", json={"method": "HealthCheck", "kind": "drop_connection"}).status_code == 201
    client.get("/v3/HealthCheck")
    _, record = lines(rec_app)
    assert record["response"] is None and record["no_response"] == "drop_connection"
    assert record["request"]["body"] is None


def test_recording_off_writes_nothing(tmp_path):
    app = make_app(tmp_path, record=0)
    client = app.test_client()
    client.get("/v3/HealthCheck")
    assert not (tmp_path / "rec").exists()
    body = client.get("/_admin/recordings").get_json()
    assert body["enabled"] is False and body["recorded"] == 0 and body["exchanges"] == []


def test_default_name_is_one_journal_per_start(tmp_path):
    app = create_app({"recordings_dir": str(tmp_path)}, environ={})
    app.test_client().get("/v3/HealthCheck")
    (path,) = tmp_path.iterdir()
    assert path.name.startswith("session-") and path.suffix == ".jsonl"


def test_concurrent_writers_never_interleave_lines(rec_app):
    threads, per_thread = 8, 200
    errors = []

    def worker():
        client = rec_app.test_client()
        for _ in range(per_thread):
            if client.get("/v3/HealthCheck").status_code != 200:
                errors.append("status")

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors
    text = journal_file(rec_app).read_bytes()
    records = [orjson.loads(line) for line in text.splitlines()]  # every line is valid JSON
    assert sorted(r["seq"] for r in records) == list(range(1, threads * per_thread + 1))  # unique, complete


# ---- admin API ----


def test_list_is_newest_first_with_filters_and_pages(recorded):
    _, client, flow = recorded
    body = client.get("/_admin/recordings").get_json()
    assert body["recorded"] == body["indexed"] == body["matched"] == body["count"] == len(flow)
    assert [e["seq"] for e in body["exchanges"]] == list(range(len(flow), 0, -1))

    creates = client.get("/_admin/recordings?method=createbooking").get_json()
    assert [e["rpc"] for e in creates["exchanges"]] == ["CreateBooking"] * 5

    missing = client.get("/_admin/recordings?status=404").get_json()
    assert [(e["rpc"], e["response"]["status"]) for e in missing["exchanges"]] == [("GetBookingStatus", 404)]

    by_booking = client.get("/_admin/recordings?booking_id=B0000002").get_json()
    # The create that made it (in the response) and the two cancels (in the request).
    assert [e["rpc"] for e in by_booking["exchanges"]] == ["UpdateBooking", "UpdateBooking", "CreateBooking"]

    since = client.get("/_admin/recordings?since=13").get_json()
    assert [e["seq"] for e in since["exchanges"]] == [15, 14]
    assert client.get(f"/_admin/recordings?since={time.time() + 60:.0f}").get_json()["count"] == 0
    assert client.get("/_admin/recordings?since=2001-01-01T00:00:00Z").get_json()["count"] == len(flow)

    first = client.get("/_admin/recordings?limit=4").get_json()
    assert [e["seq"] for e in first["exchanges"]] == [15, 14, 13, 12] and first["next_before"] == 12
    second = client.get(f"/_admin/recordings?limit=4&before={first['next_before']}").get_json()
    assert [e["seq"] for e in second["exchanges"]] == [11, 10, 9, 8]
    offset = client.get("/_admin/recordings?limit=4&offset=12").get_json()
    assert [e["seq"] for e in offset["exchanges"]] == [3, 2, 1] and offset["next_before"] is None


def test_answers_conform_to_their_documented_schemas(recorded):
    from mock_server.api.recordings import schemas

    _, client, _ = recorded
    spec = client.get("/openapi.json").get_json()
    for path in ("/_admin/recordings", "/_admin/recordings/{seq}"):
        assert spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"], path
    assert schemas.ExchangeListSchema().validate(client.get("/_admin/recordings").get_json()) == {}
    assert schemas.ExchangeSchema().validate(client.get("/_admin/recordings/1").get_json()) == {}


def test_bad_filters_are_400(rec_app):
    client = rec_app.test_client()
    for query in ("since=yesterday", "limit=0", "status=abc", "before=0"):
        response = client.get(f"/_admin/recordings?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["code"] == 400


def test_get_one_and_404(recorded):
    _, client, flow = recorded
    record = client.get("/_admin/recordings/4").get_json()
    assert record["seq"] == 4 and record["rpc"] == "CreateBooking"
    assert record["response"]["body"] == flow[3][2]
    missing = client.get("/_admin/recordings/999")
    assert missing.status_code == 404
    assert missing.get_json() == {"code": 404, "status": "Not Found", "message": "no recorded exchange with seq 999"}


def test_delete_truncates_and_numbering_restarts(recorded):
    app, client, flow = recorded
    assert client.delete("/_admin/recordings").get_json()["cleared"] == len(flow)
    assert journal_file(app).read_bytes() == b""
    assert client.get("/_admin/recordings").get_json()["exchanges"] == []
    client.get("/v3/HealthCheck")
    assert [r["seq"] for r in lines(app)] == [1]


def test_reset_keeps_recordings_unless_asked(recorded):
    app, client, flow = recorded
    assert client.post("/_admin/reset").status_code == 200
    kept = lines(app)
    assert len(kept) == len(flow) + 1 and kept[-1]["marker"] == "reset"
    assert client.post("/_admin/reset", json={"recordings": True}).status_code == 200
    (marker,) = lines(app)  # emptied, then the reset that emptied it
    assert marker["seq"] == 1 and marker["marker"] == "reset" and marker["detail"]["recordings_cleared"] is True


def test_export_jsonl_is_the_file(recorded):
    app, client, _ = recorded
    response = client.get("/_admin/recordings/export?format=jsonl")
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    assert 'filename="test.jsonl"' in response.headers["Content-Disposition"]
    assert response.get_data() == journal_file(app).read_bytes()
    assert client.get("/_admin/recordings/export?format=xml").status_code == 400


def test_admin_token_guards_the_recordings_api(tmp_path):
    app = make_app(tmp_path, admin_token="t0k")
    client = app.test_client()
    for method, path in (
        ("GET", "/_admin/recordings"),
        ("GET", "/_admin/recordings/1"),
        ("DELETE", "/_admin/recordings"),
        ("GET", "/_admin/recordings/export"),
    ):
        denied = client.open(path, method=method)
        assert denied.status_code == 401 and denied.get_json()["code"] == 401
    allowed = client.get("/_admin/recordings", headers={"Authorization": "Bearer t0k"})
    assert allowed.status_code == 200 and allowed.get_json()["recorded"] == 0


# ---- HAR 1.2 ----


def _check(obj, spec: dict, where: str) -> None:
    for name, kind in spec.items():
        assert name in obj, f"{where}.{name} missing"
        assert isinstance(obj[name], kind), f"{where}.{name} is {type(obj[name]).__name__}"


def validate_har(doc: dict) -> None:
    """The HAR 1.2 required fields and their types (http://www.softwareishard.com/blog/har-12-spec/)."""
    _check(doc, {"log": dict}, "")
    log = doc["log"]
    _check(log, {"version": str, "creator": dict, "entries": list}, "log")
    assert log["version"] == "1.2"
    _check(log["creator"], {"name": str, "version": str}, "log.creator")
    number = (int, float)
    pair = {"name": str, "value": str}
    for i, entry in enumerate(log["entries"]):
        where = f"entries[{i}]"
        _check(
            entry,
            {"startedDateTime": str, "time": number, "request": dict, "response": dict, "cache": dict, "timings": dict},
            where,
        )
        assert entry["startedDateTime"][4] == "-" and entry["startedDateTime"][10] == "T"
        request, response = entry["request"], entry["response"]
        _check(
            request,
            {
                "method": str,
                "url": str,
                "httpVersion": str,
                "headers": list,
                "queryString": list,
                "cookies": list,
                "headersSize": int,
                "bodySize": int,
            },
            f"{where}.request",
        )
        assert request["url"].startswith("http")
        for header in request["headers"] + request["queryString"] + response["headers"]:
            _check(header, pair, f"{where} header")
        if "postData" in request:
            _check(request["postData"], {"mimeType": str, "text": str}, f"{where}.request.postData")
        _check(
            response,
            {
                "status": int,
                "statusText": str,
                "httpVersion": str,
                "headers": list,
                "cookies": list,
                "content": dict,
                "redirectURL": str,
                "headersSize": int,
                "bodySize": int,
            },
            f"{where}.response",
        )
        _check(response["content"], {"size": int, "mimeType": str}, f"{where}.response.content")
        _check(entry["timings"], {"send": number, "wait": number, "receive": number}, f"{where}.timings")


def test_har_export_is_valid_har_1_2(recorded):
    app, client, flow = recorded
    assert client.post("/_admin/faults", json={"method": "HealthCheck", "kind": "drop_connection"}).status_code == 201
    client.get("/v3/HealthCheck?probe=1")
    response = client.get("/_admin/recordings/export?format=har")
    assert response.status_code == 200 and 'filename="test.har"' in response.headers["Content-Disposition"]
    doc = json.loads(response.get_data())
    validate_har(doc)
    entries = doc["log"]["entries"]
    assert len(entries) == len(flow) + 1
    create = entries[3]
    assert create["request"]["method"] == "POST"
    assert create["request"]["url"] == "http://localhost/v3/CreateBooking"
    assert json.loads(create["request"]["postData"]["text"])["idempotency_token"] == "flow-1"
    assert json.loads(create["response"]["content"]["text"]) == flow[3][2]
    assert create["response"]["statusText"] == "OK" and create["_rpc"] == "CreateBooking"
    dropped = entries[-1]
    assert dropped["response"]["status"] == 0 and dropped["response"]["_error"] == "drop_connection"
    assert dropped["request"]["queryString"] == [{"name": "probe", "value": "1"}]
    assert "postData" not in dropped["request"]


def test_payment_tokens_never_reach_the_journal(tmp_path):
    from mock_server import create_app
    from tests.conftest import FROZEN_AT
    from tests.helpers import create_body, find_slot

    app = create_app({"clock": FROZEN_AT, "recordings_dir": str(tmp_path), "recording": "pay"}, environ={})
    slot = find_slot(app.extensions["mock_server"], prepaid=True)
    body = create_body(
        slot,
        payment_processing_parameters={
            "unparsed_payment_method_token": "tok_SECRET_123",
            "payment_method_token": "pm_SECRET_456",
        },
    )
    assert "booking" in app.test_client().post("/v3/CreateBooking", json=body).get_json()
    journal = journal_file(app).read_text()
    assert "SECRET" not in journal
    recorded = __import__("json").loads(journal.splitlines()[-1])["request"]["body"]
    assert recorded["payment_processing_parameters"] == {
        "unparsed_payment_method_token": "[REDACTED]",
        "payment_method_token": "[REDACTED]",
    }


def test_a_journal_that_cannot_be_opened_never_breaks_serving(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app = create_app({"clock": FROZEN_AT, "recordings_dir": str(blocker), "recording": "x"}, environ={})
    client = app.test_client()
    with caplog.at_level("ERROR", logger="mock_server.recording"):
        answers = [client.post("/v3/ListBookings", json={"user_id": "u"}) for _ in range(3)]
    assert [(r.status_code, r.get_json()) for r in answers] == [(200, {"bookings": []})] * 3
    failures = [r for r in caplog.records if r.name == "mock_server.recording"]
    assert len(failures) == 1 and "further errors not logged" in failures[0].getMessage()
