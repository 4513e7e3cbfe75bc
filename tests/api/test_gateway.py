"""The one /v3 pipeline: every request takes the same declared steps, whatever its spelling or the armed faults."""

from __future__ import annotations

import json
import logging

import orjson
import pytest

from mock_server import GATEWAY_KEY, create_app
from mock_server.v3 import methods
from tests.helpers import create_body, find_slot, journal_file, slot_time_json

# The header names the steps taken up to the answer's bytes (log_access and record follow, always).
ANSWERED = "route,authenticate,select_tenant,read_json,decide_fault,load_request,call_method,apply_fault,encode"


@pytest.fixture
def app(tmp_path):
    return create_app({"recordings_dir": str(tmp_path), "recording": "gw", "trace": True, "db_path": ""})


@pytest.fixture
def client(app):
    return app.test_client()


def camel(value):
    """lowerCamelCase keys all the way down (valid proto3 JSON)."""
    if isinstance(value, dict):
        return {k.split("_")[0] + "".join(p.title() for p in k.split("_")[1:]): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def steps(response) -> str:
    return response.headers["X-Sandbox-Steps"]


def lookup_body(app, n: int = 10) -> dict:
    slot = find_slot(app.extensions["mock_server"], vertical="classes")
    return {"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot)] * n}


def test_canonical_camelcase_and_faulted_lookups_take_the_same_steps_and_get_the_same_answer(app, client):
    body = lookup_body(app)
    canonical = client.post("/v3/BatchAvailabilityLookup", json=body)
    camel_case = client.post("/v3/batchavailabilitylookup/", json=camel(body))
    assert (
        client.post("/_admin/faults", json={"method": "ListBookings", "kind": "http_error", "status": 503}).status_code
        == 201
    )
    armed = client.post("/v3/BatchAvailabilityLookup", json=body)
    assert canonical.status_code == camel_case.status_code == armed.status_code == 200
    assert canonical.get_json() == camel_case.get_json() == armed.get_json()
    assert len(canonical.get_json()["slot_time_availability"]) == 10
    assert steps(canonical) == steps(camel_case) == steps(armed) == ANSWERED


def test_a_booking_with_payment_takes_the_same_steps_as_one_without(app, client):
    runtime = app.extensions["mock_server"]
    plain = create_body(find_slot(runtime, vertical="classes"), 1)
    plain.pop("payment_information", None)
    paid = create_body(find_slot(runtime, vertical="classes", skip=1), 2)
    paid["payment_information"] = {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"}
    first, second = client.post("/v3/CreateBooking", json=plain), client.post("/v3/CreateBooking", json=paid)
    assert first.get_json()["booking"]["status"] == second.get_json()["booking"]["status"] == "CONFIRMED"
    assert second.get_json()["booking"]["payment_information"] == {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"}
    assert steps(first) == steps(second) == ANSWERED


def test_a_step_that_answers_skips_the_rest_but_the_answer_is_always_encoded_logged_and_recorded(app, client):
    unknown = client.post("/v3/NoSuchMethod", json={})
    assert unknown.status_code == 404 and steps(unknown) == "route,apply_fault,encode"
    assert unknown.get_json()["message"].startswith("no such path: /v3/NoSuchMethod; v3 methods: /v3/Batch")
    invalid = client.post("/v3/ListBookings", json={"user_id": ""})
    assert invalid.status_code == 400
    assert steps(invalid) == ("route,authenticate,select_tenant,read_json,decide_fault,load_request,apply_fault,encode")
    records = [json.loads(line) for line in journal_file(app).read_text().splitlines()]
    assert [(r["rpc"], r["response"]["status"]) for r in records] == [("NoSuchMethod", 404), ("ListBookings", 400)]


def test_an_armed_fault_answers_at_decide_fault(app, client):
    client.post("/_admin/faults", json={"method": "ListBookings", "kind": "http_error", "status": 503})
    answer = client.post("/v3/ListBookings", json={"user_id": "u1"})
    assert answer.status_code == 503 and answer.get_json()["code"] == 503
    assert steps(answer) == "route,authenticate,select_tenant,read_json,decide_fault,apply_fault,encode"


def test_replay_mode_answers_from_the_recording_without_loading_the_request(tmp_path, app, client):
    client.post("/v3/ListBookings", json={"user_id": "u1"})
    replay = create_app({"recordings_dir": str(tmp_path / "r"), "replay": str(journal_file(app)), "trace": True})
    answer = replay.test_client().post("/v3/ListBookings", json={"user_id": "u1"})
    assert answer.status_code == 200 and answer.get_json() == {"bookings": []}
    assert answer.headers["X-Sandbox-Replay"] == "seq=1"
    assert steps(answer) == "route,authenticate,select_tenant,read_json,decide_fault,call_method,apply_fault,encode"


def test_no_trace_header_unless_asked(tmp_path):
    plain = create_app({"record": False}).test_client()
    assert "X-Sandbox-Steps" not in plain.get("/v3/HealthCheck").headers


def test_a_bug_in_a_method_is_a_logged_json_500_that_is_recorded(app, client, monkeypatch, caplog):
    def broken(runtime, request, exchange):
        raise RuntimeError("a bug")

    monkeypatch.setitem(
        methods.METHODS,
        "ListBookings",
        methods.V3Method("ListBookings", broken, methods.contract.ListBookingsRequestSchema),
    )
    with caplog.at_level(logging.ERROR, logger="mock_server"):
        answer = client.post("/v3/ListBookings", json={"user_id": "u1"})
    assert answer.status_code == 500 and answer.get_json() == {"code": 500, "status": "Internal Server Error"}
    assert "Exception on /v3/ListBookings [POST]" in caplog.text and "a bug" in caplog.text
    (record,) = [json.loads(line) for line in journal_file(app).read_text().splitlines()]
    assert record["response"]["status"] == 500


def test_verbs_each_method_takes(client):
    options = client.options("/v3/CreateBooking")
    assert options.status_code == 200 and options.headers["Allow"] == "OPTIONS, POST" and options.data == b""
    wrong = client.get("/v3/CreateBooking")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "OPTIONS, POST"
    assert wrong.get_json() == {
        "code": 405,
        "status": "Method Not Allowed",
        "message": "GET is not allowed on /v3/CreateBooking; use OPTIONS, POST",
    }
    head = client.head("/v3/HealthCheck")
    assert head.status_code == 200 and head.data == b"" and head.headers["Content-Length"] == "2"
    assert client.post("/v3/HealthCheck").status_code == 405


def test_the_control_plane_never_sees_a_v3_request(app, client):
    seen = []
    app.before_request(lambda: seen.append(1))
    assert client.get("/v3/HealthCheck").status_code == 200
    assert client.get("/_admin/health").status_code == 200
    assert seen == [1]  # only the /_admin call went through Flask


def test_the_gateway_declares_its_steps_in_one_ordered_list(app):
    gateway = app.extensions[GATEWAY_KEY]
    assert [name for name, _ in gateway.steps] == [
        "route",
        "authenticate",
        "select_tenant",
        "read_json",
        "decide_fault",
        "load_request",
        "call_method",
    ]
    assert [name for name, _ in gateway.always] == ["apply_fault", "encode", "log_access", "measure", "record"]


def test_a_schema_error_keyed_by_list_index_is_a_json_400(client):
    answer = client.post("/v3/BatchAvailabilityLookup", json={"merchant_id": "m", "slot_time": [{"start_sec": "1"}]})
    assert answer.status_code == 400
    body = orjson.loads(answer.data)
    assert body["message"] == "invalid request: slot_time.0.service_id: Missing data for required field."
    assert body["errors"] == {"json": {"slot_time": {"0": {"service_id": ["Missing data for required field."]}}}}


# ---- review findings: what the Flask pipeline did and the gateway must keep ----


def test_with_pii_redaction_a_400_keyed_by_list_index_is_answered_and_journalled(tmp_path):
    app = create_app({"recordings_dir": str(tmp_path), "recording": "r", "redact_pii": True})
    answer = app.test_client().post("/v3/BatchAvailabilityLookup", json={"merchant_id": "m", "slot_time": [{}]})
    assert answer.status_code == 400
    (record,) = [json.loads(line) for line in journal_file(app).read_text().splitlines()]
    assert record["response"]["status"] == 400 and "0" in record["response"]["body"]["errors"]["json"]["slot_time"]


@pytest.mark.parametrize(
    "content_type,depth", [("text/plain", 100), ("application/json", 3)], ids=["sent as text", "deeper than the limit"]
)
def test_a_fault_rule_matches_a_body_the_method_would_refuse(content_type, depth):
    client = create_app({"record": False, "max_json_depth": depth}).test_client()
    rule = {"method": "*", "kind": "http_error", "status": 503, "match": {"merchant_id": "salon-002"}}
    assert client.post("/_admin/faults", json=rule).status_code == 201
    body = {"merchant_id": "salon-002", "slot_time": [{"service_id": "s", "start_sec": "1", "resource_ids": {}}]}
    answer = client.post("/v3/BatchAvailabilityLookup", data=orjson.dumps(body), content_type=content_type)
    assert answer.status_code == 503 and "sandbox fault f1" in answer.get_json()["message"]
    client.delete("/_admin/faults")
    refused = client.post("/v3/BatchAvailabilityLookup", data=orjson.dumps(body), content_type=content_type)
    assert refused.status_code == (415 if content_type == "text/plain" else 400)


def test_a_magic_email_tag_fires_on_a_body_sent_as_text(app, client):
    body = create_body(find_slot(app.extensions["mock_server"], vertical="classes"), 1)
    body["user_information"]["email"] = "qa+http_503@example.com"
    answer = client.post("/v3/CreateBooking", data=orjson.dumps(body), content_type="text/plain")
    assert answer.status_code == 503


def test_faults_change_a_replayed_answer_as_they_change_a_live_one(tmp_path, app, client):
    body = lookup_body(app, 1)
    assert client.post("/v3/BatchAvailabilityLookup", json=body).get_json()["slot_time_availability"][0]["available"]
    replay = create_app({"recordings_dir": str(tmp_path / "r"), "replay": str(journal_file(app))}).test_client()
    rule = {"method": "BatchAvailabilityLookup", "kind": "slot_taken", "times": 1}
    assert replay.post("/_admin/faults", json=rule).status_code == 201
    taken = replay.post("/v3/BatchAvailabilityLookup", json=body)
    assert taken.get_json()["slot_time_availability"][0]["available"] is False
    again = replay.post("/v3/BatchAvailabilityLookup", json=body)  # the rule is spent; the book is as recorded
    assert again.get_json()["slot_time_availability"][0]["available"] is True


def test_a_lower_case_http_method_is_read_as_werkzeug_reads_it(app):
    seen = []
    out = app(
        {
            "REQUEST_METHOD": "get",
            "PATH_INFO": "/v3/HealthCheck",
            "SERVER_NAME": "x",
            "SERVER_PORT": "80",
            "wsgi.input": None,
            "wsgi.url_scheme": "http",
        },
        lambda status, headers: seen.append(status),
    )
    assert seen == ["200 OK"] and b"".join(out) == b"{}"


def test_a_path_next_to_v3_is_a_404_naming_the_methods(client):
    answer = client.get("/v3x")
    assert answer.status_code == 404
    assert answer.get_json()["message"].startswith("no such path: /v3x; v3 methods: /v3/BatchAvailabilityLookup")


LISTING = (
    "/v3/BatchAvailabilityLookup, /v3/BatchGetWaitEstimates, /v3/CheckAvailability, /v3/CreateBooking, "
    "/v3/CreateWaitlistEntry, /v3/DeleteWaitlistEntry, /v3/GetBookingStatus, /v3/GetWaitlistEntry, /v3/HealthCheck, "
    "/v3/ListBookings, /v3/SetMarketingPreference, /v3/UpdateBooking"
)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v3/CheckOrderFulfillability", "CheckOrderFulfillability"),
        ("/v3/CreateOrder", "CreateOrder"),
        ("/v3/ListOrders", "ListOrders"),
        ("/v3/listorders/", "ListOrders"),  # any case, a trailing slash: as the methods served are routed
    ],
)
def test_a_documented_order_method_is_a_501_not_a_typos_404(app, client, path, name):
    answer = client.post(path, json={"user_id": "u1"})
    assert answer.status_code == 501 and answer.content_type == "application/json"
    assert answer.get_json() == {
        "code": 501,
        "status": "Not Implemented",
        "message": f"/v3/{name} is a documented v3 method (of order-based booking servers) that this sandbox does "
        f"not implement; v3 methods: {LISTING}",
    }
    assert steps(answer) == "route,apply_fault,encode"
    [record] = [json.loads(line) for line in journal_file(app).read_text().splitlines()]
    assert (record["rpc"], record["response"]["status"]) == (name, 501)


@pytest.mark.parametrize("path", ["/v3/CreateOrders", "/v3/ListOrder", "/v3/CreateOrder/x"])
def test_a_near_miss_of_an_order_method_is_still_a_404(client, path):
    answer = client.post(path, json={})
    assert answer.status_code == 404
    assert answer.get_json() == {
        "code": 404,
        "status": "Not Found",
        "message": f"no such path: {path}; v3 methods: {LISTING}",
    }
