"""The fault admin API, scenarios, magic values, and what faults never touch."""

from __future__ import annotations

import pytest

from mock_server import create_app
from tests.helpers import feed_slot, keep_exchange_notes

NOW = 1_767_225_600


def make_app(**overrides):
    app = create_app({"record": 0, "clock": NOW, "timeout_ms": 2000, **overrides})
    app.exchange_notes = keep_exchange_notes(app)
    return app


@pytest.fixture(scope="module")
def shared_app():
    """One app for the module; each test starts from a reset (rules, bookings, ids, dice, clock)."""
    return make_app()


@pytest.fixture
def app(shared_app):
    shared_app.test_client().post("/_admin/reset")
    shared_app.exchange_notes.clear()
    return shared_app


@pytest.fixture
def client(app):
    return app.test_client()


def slot_of(client) -> dict:
    services = {(s["merchant_id"], s["service_id"]): s for s in client.get("/feeds/services.json").json["service"]}
    entry = next(
        a
        for group in client.get("/feeds/availability.json").json["service_availability"]
        for a in group["availability"]
        if services[(a["merchant_id"], a["service_id"])].get("prepayment_type") != "REQUIRED"
        and a["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS"
    )
    return feed_slot(entry)


def create(client, slot, token="tok-1", email="qa@example.com", headers=None):
    return client.post(
        "/v3/CreateBooking",
        headers=headers or {},
        json={
            "slot": slot,
            "idempotency_token": token,
            "user_information": {
                "user_id": "u-1",
                "given_name": "Ada",
                "family_name": "Lovelace",
                "telephone": "+1 555-010-0101",
                "email": email,
            },
        },
    )


# ---- rules ----


def test_post_answers_201_with_the_id_and_the_full_rule(client):
    response = client.post(
        "/_admin/faults",
        json={
            "method": "CreateBooking",
            "kind": "http_error",
            "status": 503,
            "times": 2,
            "match": {"merchant_id": "dining-001"},
        },
    )
    assert response.status_code == 201
    assert response.headers["Location"] == "/_admin/faults/f1"
    assert response.json == {
        "id": "f1",
        "method": "CreateBooking",
        "kind": "http_error",
        "status": 503,
        "match": {"merchant_id": "dining-001"},
        "times": 2,
        "probability": 1.0,
        "ttl_s": None,
        "created_sec": NOW,
        "expires_at_sec": None,
        "fired": 0,
        "remaining": 2,
        "source": "api",
    }


def test_get_lists_how_often_each_rule_fired_and_what_remains(client):
    slot = slot_of(client)
    client.post("/_admin/faults", json={"method": "CreateBooking", "kind": "delay", "delay_ms": 1, "times": 3})
    client.post("/_admin/faults", json={"method": "CreateBooking", "kind": "http_error", "status": 503, "times": 1})
    create(client, slot)
    listed = client.get("/_admin/faults").json
    assert [(r["id"], r["fired"], r["remaining"]) for r in listed["faults"]] == [("f1", 1, 2)]
    assert [(r["id"], r["fired"], r["retired"]) for r in listed["retired"]] == [("f2", 1, "used_up")]
    assert client.get("/_admin/faults/f1").json["fired"] == 1


def test_delete_one_and_all(client):
    for _ in range(3):
        client.post("/_admin/faults", json={"method": "*", "kind": "timeout"})
    assert client.delete("/_admin/faults/f2").json["id"] == "f2"
    missing = client.delete("/_admin/faults/f2")
    assert missing.status_code == 404 and "f2" in missing.json["message"]
    assert client.get("/_admin/faults/nope").status_code == 404
    assert client.delete("/_admin/faults").json == {"removed": 2}
    assert client.get("/_admin/faults").json["faults"] == []


@pytest.mark.parametrize(
    "rule, field",
    [
        ({"method": "CreateBooking"}, "kind"),
        ({"method": "CreateBooking", "kind": "http_error", "status": 299}, "status"),
        ({"method": "ListBookings", "kind": "slot_taken"}, "kind"),
        ({"method": "*", "kind": "timeout", "probability": 2}, "probability"),
        ({"method": "*", "kind": "timeout", "hold_ms": 2001}, "hold_ms"),
        ({"method": "*", "kind": "delay", "min_ms": 10, "max_ms": 5000}, "max_ms"),
        ({"method": "*", "kind": "timeout", "tims": 1}, "tims"),
        # a /v3 answer's kind on what the sandbox sends (was a 500)
        ({"method": "BookingNotification", "kind": "http_error", "status": 500}, "kind"),
        ({"method": "BookingNotification", "kind": "delay", "delay_ms": 5}, "kind"),
        ({"method": "CreateBooking", "kind": "notification_failure"}, "kind"),
        ({"method": "BookingNotification", "kind": "notification_failure", "status": 503, "timeout": True}, "timeout"),
    ],
)
def test_an_invalid_rule_gets_a_400_naming_the_field(client, rule, field):
    response = client.post("/_admin/faults", json=rule)
    assert response.status_code == 400
    assert field in response.json["errors"]["json"] and field in response.json["message"]


def test_a_taken_id_is_a_conflict(client):
    assert client.post("/_admin/faults", json={"id": "mine", "method": "*", "kind": "timeout"}).status_code == 201
    response = client.post("/_admin/faults", json={"id": "mine", "method": "*", "kind": "timeout"})
    assert response.status_code == 409 and "id" in response.json["errors"]["json"]


def test_admin_token_guards_the_fault_routes():
    client = make_app(admin_token="s3cret").test_client()
    rule = {"method": "*", "kind": "timeout"}
    denied = client.post("/_admin/faults", json=rule)
    assert denied.status_code == 401 and denied.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/_admin/scenarios").status_code == 401
    assert client.post("/_admin/faults", json=rule, headers={"Authorization": "Bearer s3cret"}).status_code == 201


def test_ttl_counts_sandbox_seconds(client):
    client.post("/_admin/faults", json={"method": "*", "kind": "timeout", "ttl_s": 60})
    assert client.get("/_admin/faults").json["faults"][0]["expires_at_sec"] == NOW + 60
    client.post("/_admin/clock", json={"advance_sec": 60})
    listed = client.get("/_admin/faults").json
    assert listed["faults"] == [] and listed["retired"][0]["retired"] == "expired"


def test_reset_clears_the_rules(client):
    client.post("/_admin/faults", json={"method": "*", "kind": "timeout"})
    client.post("/_admin/reset")
    assert client.get("/_admin/faults").json == {"faults": [], "retired": []}


def _fired_sequence() -> list[int]:
    client = make_app(seed=11).test_client()
    client.post(
        "/_admin/faults", json={"method": "HealthCheck", "kind": "http_error", "status": 503, "probability": 0.5}
    )
    return [client.get("/v3/HealthCheck").status_code for _ in range(30)]


def test_the_same_seed_and_calls_fire_the_same_faults():
    first = _fired_sequence()
    assert first == _fired_sequence() and {200, 503} == set(first)


def test_reset_reseeds_the_dice(client):
    client.post("/_admin/faults", json={"method": "HealthCheck", "kind": "empty_response", "probability": 0.5})
    before = [client.get("/v3/HealthCheck").get_data() for _ in range(20)]
    client.post("/_admin/reset")
    client.post("/_admin/faults", json={"method": "HealthCheck", "kind": "empty_response", "probability": 0.5})
    assert [client.get("/v3/HealthCheck").get_data() for _ in range(20)] == before


@pytest.mark.parametrize(
    "path", ["/_admin/health", "/_admin/bookings", "/feeds/merchants.json", "/openapi.json", "/docs"]
)
def test_faults_never_touch_the_control_plane_feeds_or_docs(client, path):
    client.post("/_admin/faults", json={"method": "*", "kind": "http_error", "status": 503})
    client.post("/_admin/faults", json={"method": "*", "kind": "delay", "delay_ms": 1})
    response = client.get(path)
    assert response.status_code == 200
    assert client.get("/_admin/faults").json["faults"][0]["fired"] == 0


# ---- scenarios ----


def test_scenarios_are_listed_with_descriptions(client):
    listed = {s["name"]: s for s in client.get("/_admin/scenarios").json["scenarios"]}
    for name in ("flaky_payments", "slow_lookups", "last_slot_vanishes", "retry_storm", "lost_response"):
        assert listed[name]["description"] and listed[name]["rules"] >= 1


def test_loading_a_scenario_adds_its_rules(client):
    slot = slot_of(client)
    response = client.post("/_admin/scenarios/retry_storm")
    assert response.status_code == 201
    assert response.json["scenario"] == "retry_storm" and response.json["description"]
    assert [(r["kind"], r["status"], r["times"], r["source"]) for r in response.json["faults"]] == [
        ("http_error", 503, 2, "scenario:retry_storm")
    ]
    answers = [create(client, slot, token="storm") for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    "name, status",
    [("nope", 404), ("..", 400), ("a.b", 400), ("..%2Fdefault", 404), ("../default", 404), ("%2e%2e", 400)],
)
def test_scenario_names_cannot_leave_the_folder(client, name, status):
    response = client.post(f"/_admin/scenarios/{name}")
    assert response.status_code == status
    assert client.get("/_admin/faults").json["faults"] == []


def test_a_scenario_at_start_up_and_after_reset():
    client = make_app(scenario="last_slot_vanishes,retry_storm").test_client()
    kinds = [(r["kind"], r["source"]) for r in client.get("/_admin/faults").json["faults"]]
    assert kinds == [("slot_taken", "scenario:last_slot_vanishes"), ("http_error", "scenario:retry_storm")]
    client.delete("/_admin/faults")
    client.post("/_admin/reset")  # a reset server behaves like a fresh start, start-up scenario included
    assert [r["fired"] for r in client.get("/_admin/faults").json["faults"]] == [0, 0]


def test_an_unknown_start_up_scenario_stops_the_server():
    with pytest.raises(SystemExit, match="no scenario 'nope'"):
        make_app(scenario="nope")


# ---- magic values ----


@pytest.mark.parametrize(
    "tag, status, key, value",
    [
        ("slot_taken", 200, "cause", "SLOT_UNAVAILABLE"),
        ("payment_required", 200, "cause", "PAYMENT_ERROR"),
        ("card_declined", 200, "cause", "PAYMENT_ERROR_CARD_DECLINED"),
        ("card_type_rejected", 200, "rejected_card_type", "VISA"),
        ("cause_user_over_booking_limit", 200, "cause", "USER_OVER_BOOKING_LIMIT"),
        ("http_503", 503, "code", 503),
        ("timeout_1", 504, "code", 504),
        ("timeout_after_commit_1", 504, "code", 504),
    ],
)
def test_a_magic_email_faults_that_call_only(app, client, tag, status, key, value):
    slot = slot_of(client)
    response = create(client, slot, email=f"qa+{tag}@example.com")
    assert response.status_code == status
    body = response.json.get("booking_failure", response.json)
    assert body[key] == value
    assert app.exchange_notes[-1]["faults"][-1]["id"] == "magic"
    assert create(client, slot, token="next").status_code == 200


def test_3ds1_magic_carries_the_challenge(client):
    failure = create(client, slot_of(client), email="qa+3ds1@example.com").json["booking_failure"]
    assert failure["cause"] == "PAYMENT_REQUIRES_3DS1"
    assert set(failure["payment_failure"]["threeds1_parameters"]) == {
        "acs_url",
        "pa_req",
        "transaction_id",
        "md_merchant_data",
    }


def test_magic_header_on_methods_without_a_user(app, client):
    slot = slot_of(client)
    lookup = {
        "merchant_id": slot["merchant_id"],
        "slot_time": [
            {"service_id": slot["service_id"], "start_sec": slot["start_sec"], "duration_sec": slot["duration_sec"]}
        ],
    }
    answer = client.post("/v3/BatchAvailabilityLookup", json=lookup, headers={"X-Sandbox-Fault": "slot_taken"})
    assert answer.json["slot_time_availability"][0]["available"] is False
    assert client.post("/v3/BatchAvailabilityLookup", json=lookup).json["slot_time_availability"][0]["available"]
    status = client.post("/v3/GetBookingStatus", json={"booking_id": "B1"}, headers={"X-Sandbox-Fault": "http_429"})
    assert status.status_code == 429 and status.headers["Retry-After"] == "1"
    dropped = client.get("/v3/HealthCheck", headers={"X-Sandbox-Fault": "drop_connection"})
    assert dropped.get_data() == b"" and app.exchange_notes[-1]["no_response"] == "drop_connection"


def test_a_bad_magic_header_is_a_400_that_lists_the_tags(client):
    response = client.get("/v3/HealthCheck", headers={"X-Sandbox-Fault": "slow"})
    assert response.status_code == 400
    assert "X-Sandbox-Fault" in response.json["message"] and "http_<status>" in response.json["message"]
    response = client.post("/v3/ListBookings", json={"user_id": "u"}, headers={"X-Sandbox-Fault": "slot_taken"})
    assert response.status_code == 400 and "does not apply to ListBookings" in response.json["message"]


def test_magic_on_an_invalid_request_keeps_its_400(client):
    response = client.post("/v3/CreateBooking", json={"user_information": {"email": "qa+slot_taken@example.com"}})
    body = response.get_json()
    assert response.status_code == 400 and "booking_failure" not in body
    assert "idempotency_token: Missing data for required field." in body["message"]


def test_magic_wins_over_rules_and_leaves_them_unused(client):
    slot = slot_of(client)
    client.post("/_admin/faults", json={"method": "CreateBooking", "kind": "http_error", "status": 500, "times": 1})
    assert create(client, slot, email="qa+slot_taken@example.com").status_code == 200
    assert client.get("/_admin/faults").json["faults"][0]["remaining"] == 1


def test_plus_addressing_that_is_not_a_fault_books_normally(app, client):
    response = create(client, slot_of(client), email="ada+newsletter@example.com")
    assert response.json["booking"]["status"] == "CONFIRMED"
    assert any("newsletter" in w for w in app.exchange_notes[-1]["warnings"])
