"""Tenants: every path also under /t/{tenant}/, and nothing one tenant does shows in another (or in the default)."""
# ruff: noqa: F811 - app, client and last_spot are pytest fixtures imported from tenant_support

from __future__ import annotations

import logging

import orjson

from mock_server.runtime import EXTENSION_KEY, tenant_seed
from tests.api.tenant_support import (  # noqa: F401 - app, client and last_spot are fixtures
    HTML,
    NAME_RULE,
    NO_FAULTS,
    NO_SPOT,
    NOW,
    UI,
    app,
    at,
    available,
    booked,
    booking_ids,
    client,
    create,
    journal_lines,
    last_spot,
    make_app,
)
from tests.helpers import find_slot, user

# ---- bookings, ids, tokens ----


def test_booking_ids_restart_at_b0000001_in_each_tenant(client, last_spot):
    other = find_slot(client.application.extensions[EXTENSION_KEY], skip=5)
    assert create(client, None, other, 9) == booked(other, "B0000001", 9)
    assert create(client, None, last_spot, 8) == booked(last_spot, "B0000002", 8)
    assert create(client, "a", last_spot) == booked(last_spot, "B0000001")
    assert create(client, "b", other) == booked(other, "B0000001")
    assert create(client, "a", other, 2) == booked(other, "B0000002", 2)
    assert (booking_ids(client, None), booking_ids(client, "a"), booking_ids(client, "b")) == (
        ["B0000001", "B0000002"],
        ["B0000001", "B0000002"],
        ["B0000001"],
    )


def test_two_tenants_each_win_the_same_last_spot_once(client, last_spot):
    for tenant in ("a", "b"):
        assert create(client, tenant, last_spot, 1) == booked(last_spot, "B0000001", 1)
        assert create(client, tenant, last_spot, 2) == NO_SPOT
        assert not available(client, tenant, last_spot)
    assert available(client, None, last_spot) and available(client, "c", last_spot)

    def spots_open(tenant):
        feed = client.get(at(tenant, "/feeds/availability.json")).get_json()["service_availability"]
        return next(
            e["spots_open"]
            for group in feed
            for e in group["availability"]
            if (e["merchant_id"], e["service_id"], e["start_sec"])
            == (last_spot.merchant_id, last_spot.service_id, last_spot.start_sec)
        )

    assert (spots_open("a"), spots_open("b"), spots_open(None)) == (0, 0, 1)


def test_an_idempotency_token_replays_only_in_its_own_tenant(client, last_spot):
    other = find_slot(client.application.extensions[EXTENSION_KEY], skip=3)
    # The same token with another body in another tenant is a new booking there, not a token mismatch.
    assert create(client, "a", last_spot, 1, "shared") == booked(last_spot, "B0000001", 1)
    assert create(client, "b", other, 2, "shared") == booked(other, "B0000001", 2)
    assert create(client, None, last_spot, 3, "shared") == booked(last_spot, "B0000001", 3)
    assert create(client, "a", last_spot, 1, "shared") == booked(last_spot, "B0000001", 1)  # a replay in a
    tokens = {
        tenant: [b["idempotency_token"] for b in client.get(at(tenant, "/_admin/bookings")).get_json()["bookings"]]
        for tenant in (None, "a", "b")
    }
    assert tokens == {None: ["shared"], "a": ["shared"], "b": ["shared"]}


# ---- reset, clock, faults, scenarios ----


def test_a_tenants_reset_empties_only_that_tenant(app, client, last_spot, tmp_path):
    for tenant in (None, "a", "b"):
        create(client, tenant, last_spot)
    fixture_counts = {k: v for k, v in client.get("/_admin/health").get_json()["counts"].items() if "bookings" not in k}
    response = client.post("/t/a/_admin/reset")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "tenant": "a",
        "seed": tenant_seed(42, "a"),
        "fixture": "fixtures/default.json",
        "persistent": False,
        "state": "memory",
        "anchor_sec": NOW,
        "counts": {**fixture_counts, "bookings": 0, "active_bookings": 0},
        "clock": {"now_sec": NOW, "frozen": True, "offset_sec": 0},
        # The booking, and the reset's marker.
        "recording": {"journal": str(tmp_path / "rec" / "rec--a.jsonl"), "recorded": 2, "dropped": 0},
    }
    assert (booking_ids(client, None), booking_ids(client, "a"), booking_ids(client, "b")) == (
        ["B0000001"],
        [],
        ["B0000001"],
    )
    assert available(client, "a", last_spot) and not available(client, "b", last_spot)


def test_a_tenants_clock_moves_alone(client, last_spot):
    frozen = {"now_sec": NOW, "frozen": True, "offset_sec": 0}
    assert client.post("/t/a/_admin/clock", json={"advance_sec": 3600}).get_json() == {**frozen, "now_sec": NOW + 3600}
    assert client.post("/t/b/_admin/clock", json={"freeze_at_sec": NOW + 86400}).get_json() == {
        **frozen,
        "now_sec": NOW + 86400,
    }
    assert client.get("/_admin/clock").get_json() == frozen
    assert client.get("/t/c/_admin/clock").get_json() == frozen
    for tenant in (None, "a", "b"):
        create(client, tenant, last_spot)
    created = {
        t: client.get(at(t, "/_admin/bookings")).get_json()["bookings"][0]["created_sec"] for t in (None, "a", "b")
    }
    assert created == {None: NOW, "a": NOW + 3600, "b": NOW + 86400}
    client.post("/t/a/_admin/reset")
    assert client.get("/t/a/_admin/clock").get_json() == frozen
    assert client.get("/t/b/_admin/clock").get_json() == {**frozen, "now_sec": NOW + 86400}


def test_a_fault_rule_is_listed_and_fires_only_in_its_tenant(client, last_spot):
    rule = {"method": "CreateBooking", "kind": "slot_taken", "times": 1}
    added = client.post("/t/a/_admin/faults", json=rule)
    assert added.status_code == 201 and added.get_json() == {
        "id": "f1",
        **rule,
        "match": {},
        "probability": 1.0,
        "ttl_s": None,
        "created_sec": NOW,
        "expires_at_sec": None,
        "fired": 0,
        "remaining": 1,
        "source": "api",
    }
    assert client.get("/_admin/faults").get_json() == NO_FAULTS
    assert client.get("/t/b/_admin/faults").get_json() == NO_FAULTS
    assert create(client, None, last_spot) == booked(last_spot, "B0000001")
    assert create(client, "b", last_spot) == booked(last_spot, "B0000001")
    assert create(client, "a", last_spot) == {
        "booking_failure": {
            "cause": "SLOT_UNAVAILABLE",
            "description": "the slot is no longer available (sandbox fault f1)",
        }
    }
    assert create(client, "a", last_spot) == booked(last_spot, "B0000001")
    retired = client.get("/t/a/_admin/faults").get_json()["retired"]
    assert [(r["id"], r["fired"], r["retired"]) for r in retired] == [("f1", 1, "used_up")]


def test_a_scenario_loads_only_in_its_tenant(client, last_spot):
    loaded = client.post("/t/a/_admin/scenarios/last_slot_vanishes")
    assert loaded.status_code == 201
    body = loaded.get_json()
    assert (body["scenario"], [(f["id"], f["kind"], f["source"]) for f in body["faults"]]) == (
        "last_slot_vanishes",
        [("f1", "slot_taken", "scenario:last_slot_vanishes")],
    )
    assert client.get("/_admin/faults").get_json() == NO_FAULTS
    assert client.get("/t/b/_admin/faults").get_json() == NO_FAULTS
    assert create(client, "b", last_spot) == booked(last_spot, "B0000001")
    assert create(client, "a", last_spot)["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"


def test_start_up_scenarios_arm_each_tenant_its_own_copy(tmp_path):
    client = make_app(tmp_path, scenario="last_slot_vanishes").test_client()
    slot = find_slot(client.application.extensions[EXTENSION_KEY], spots_total=1)

    def armed(tenant):
        return [(f["id"], f["remaining"]) for f in client.get(at(tenant, "/_admin/faults")).get_json()["faults"]]

    assert create(client, "a", slot)["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"  # a's copy is used up
    assert (armed("a"), armed("b"), armed(None)) == ([], [("f1", 1)], [("f1", 1)])
    assert create(client, "b", slot)["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"
    client.post("/t/a/_admin/reset")  # back to a's start-up rules, not b's
    assert (armed("a"), armed("b"), armed(None)) == ([("f1", 1)], [], [("f1", 1)])


# ---- journals and the access log ----


def test_each_tenant_journals_its_own_exchanges_in_its_own_file(app, client, last_spot):
    client.get("/v3/HealthCheck")
    create(client, "a", last_spot, 7)
    client.get("/t/b/v3/HealthCheck")
    client.get("/t/b/v3/NoSuchMethod")  # answered before any method: still b's
    journals = {t: journal_lines(app, t) for t in ("default", "a", "b")}
    summary = {
        t: (name, [(x["rpc"], x["response"]["status"], x.get("tenant")) for x in xs])
        for t, (name, xs) in journals.items()
    }
    assert summary == {
        "default": ("rec.jsonl", [("HealthCheck", 200, None)]),
        "a": ("rec--a.jsonl", [("CreateBooking", 200, "a")]),
        "b": ("rec--b.jsonl", [("HealthCheck", 200, "b"), ("NoSuchMethod", 404, "b")]),
    }
    assert journals["a"][1][0]["request"]["body"]["user_information"] == user(7)
    listed = {
        t: [x["rpc"] for x in client.get(at(t, "/_admin/recordings")).get_json()["exchanges"]] for t in (None, "a", "b")
    }
    assert listed == {None: ["HealthCheck"], "a": ["CreateBooking"], "b": ["NoSuchMethod", "HealthCheck"]}
    assert client.delete("/t/b/_admin/recordings").get_json()["cleared"] == 2
    client.post("/t/a/_admin/reset", json={"recordings": True})
    counts = {t: client.get(at(t, "/_admin/recordings")).get_json()["recorded"] for t in (None, "a", "b")}
    assert counts == {None: 1, "a": 1, "b": 0}  # a's journal: emptied, then the reset's marker


def test_a_prefixed_request_of_a_tenant_not_yet_made_is_never_journaled_as_the_defaults(tmp_path):
    app = make_app(tmp_path, max_tenants=2)
    client = app.test_client()
    client.get("/t/a/v3/HealthCheck")
    assert client.get("/t/fresh/v3/NoSuchMethod").status_code == 404
    assert client.get("/t/over/v3/HealthCheck").status_code == 503
    assert journal_lines(app, "default")[1] == []


def test_the_access_line_of_a_prefixed_request_names_its_tenant(client, caplog):
    with caplog.at_level(logging.INFO, logger="mock_server.access"):
        client.get("/t/a/v3/HealthCheck")
        client.get("/t/a/_admin/health")
        client.get("/v3/HealthCheck")
    lines = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == "mock_server.access"]
    assert [(x["method"], x["path"], x["status"], x.get("tenant")) for x in lines] == [
        ("GET", "/v3/HealthCheck", 200, "a"),
        ("GET", "/_admin/health", 200, "a"),
        ("GET", "/v3/HealthCheck", 200, None),
    ]
