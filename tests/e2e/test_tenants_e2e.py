"""Two tenants of one real server, raced over HTTP: each has its own last spot, reset and journal."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import feed_slot

pytestmark = pytest.mark.e2e

TENANTS = ("a", "b")
RACERS = 12  # per tenant


def one_spot_slot(server) -> tuple[dict, dict | None]:
    """A synchronous one-spot slot from the feed, and the payment its service asks for."""
    services = {(s["merchant_id"], s["service_id"]): s for s in server.get("/feeds/services.json")["service"]}
    for group in server.get("/feeds/availability.json")["service_availability"]:
        for entry in group["availability"]:
            if entry["spots_total"] == 1 and entry["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS":
                prepaid = services[(entry["merchant_id"], entry["service_id"])].get("prepayment_type") == "REQUIRED"
                return feed_slot(entry), {"prepayment_status": "PREPAYMENT_PROVIDED"} if prepaid else None
    raise AssertionError("the fixture has no one-spot slot")


def create_body(slot: dict, payment: dict | None, tenant: str, n: int) -> dict:
    """A CreateBooking whose user names its tenant; the tokens repeat across tenants on purpose."""
    body = {
        "slot": slot,
        "idempotency_token": f"race-{n}",
        "user_information": {
            "user_id": f"{tenant}-racer-{n}",
            "given_name": "R",
            "family_name": "C",
            "telephone": "+1 555-010-0101",
            "email": f"{tenant}{n}@example.com",
        },
    }
    if payment:
        body["payment_information"] = payment
    return body


def journal(server, name: str) -> list[dict]:
    """The lines of a journal file (listing the tenant's recordings first writes out every pending line)."""
    path = server.log.parent / "rec" / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_racing_tenants_each_get_one_winner_and_keep_their_own_state_and_journal(start_server):
    server = start_server(MOCK_RECORDING="race", MOCK_THREADS="8", MOCK_LOG_LEVEL="INFO")
    slot, payment = one_spot_slot(server)

    def attempt(job: tuple[str, int]) -> tuple[str, int, dict]:
        tenant, n = job
        status, body = server.post(f"/t/{tenant}/v3/CreateBooking", create_body(slot, payment, tenant, n))
        return tenant, status, body

    jobs = [(tenant, n) for n in range(RACERS) for tenant in TENANTS]  # interleaved: both races at once
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(attempt, jobs, timeout=120))  # all answers: a loaded machine is slow

    winners = {}
    for tenant in TENANTS:
        answers = [body for t, status, body in results if t == tenant and status == 200]
        assert len(answers) == RACERS, [(s, b) for t, s, b in results if t == tenant and s != 200]
        won = [b["booking"] for b in answers if "booking" in b]
        lost = [b["booking_failure"] for b in answers if "booking_failure" in b]
        assert len(won) == 1 and len(lost) == RACERS - 1, (tenant, answers)
        assert (won[0]["booking_id"], won[0]["status"], won[0]["slot"]) == ("B0000001", "CONFIRMED", slot)
        assert won[0]["user_information"]["user_id"].startswith(f"{tenant}-racer-")
        assert {f["cause"] for f in lost} == {"SLOT_UNAVAILABLE"}
        winners[tenant] = won[0]
    assert server.get("/_admin/health")["counts"]["bookings"] == 0  # the default took no part

    reset = server.post("/t/a/_admin/reset", {})[1]
    assert (reset["tenant"], reset["counts"]["bookings"]) == ("a", 0)
    assert server.get("/t/a/_admin/bookings") == {"bookings": [], "count": 0}
    kept = server.get("/t/b/_admin/bookings")
    assert [(b["booking_id"], b["user_information"]) for b in kept["bookings"]] == [
        ("B0000001", winners["b"]["user_information"])
    ]
    again = server.post("/t/a/v3/CreateBooking", create_body(slot, payment, "a", RACERS))[1]
    assert (again["booking"]["booking_id"], again["booking"]["user_information"]["user_id"]) == (
        "B0000001",
        f"a-racer-{RACERS}",
    )

    for tenant in TENANTS:  # a's: one more booking, and its reset's marker
        assert server.get(f"/t/{tenant}/_admin/recordings")["recorded"] == RACERS + 2 * (tenant == "a")
    lines = {tenant: journal(server, f"race--{tenant}.jsonl") for tenant in TENANTS}
    (marker,) = [line for line in lines["a"] if "marker" in line]
    assert (marker["marker"], marker["tenant"]) == ("reset", "a")
    lines["a"].remove(marker)
    for tenant, own in lines.items():
        assert len(own) == RACERS + (tenant == "a")
        assert {line["tenant"] for line in own} == {tenant}
        assert {line["rpc"] for line in own} == {"CreateBooking"}
        users = {line["request"]["body"]["user_information"]["user_id"] for line in own}
        assert all(u.startswith(f"{tenant}-racer-") for u in users) and len(users) == len(own)
        booked = [line["response"]["body"]["booking"] for line in own if "booking" in line["response"]["body"]]
        assert booked[0] == winners[tenant]
    assert [line for line in journal(server, "race.jsonl") if line.get("rpc") == "CreateBooking"] == []

    server.stop()  # the access log's buffer is written out on the way down
    access = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith('{"method"')]
    creates = [line.get("tenant") for line in access if line["path"] == "/v3/CreateBooking"]
    assert sorted(creates) == ["a"] * (RACERS + 1) + ["b"] * RACERS


def _call(server, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        server.url + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _basic(user: str, password: str) -> dict:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_clock_faults_scenarios_selection_and_the_cap_over_http(start_server, tmp_path):
    tenants_file = tmp_path / "tenants.json"
    tenants_file.write_text('{"team-x": "x-pass"}')
    server = start_server(MOCK_BASIC_AUTH="*:shared", MOCK_TENANTS_FILE=str(tenants_file), MOCK_MAX_TENANTS="4")
    a, b = _basic("ci-a", "shared"), _basic("ci-b", "shared")
    # The username names the tenant of an un-prefixed call; the clock and fault rules stay in it.
    assert _call(server, "POST", "/t/ci-a/_admin/clock", {"freeze_at_sec": 1_900_000_000})[0] == 200
    assert _call(server, "GET", "/t/ci-a/_admin/clock")[1]["now_sec"] == 1_900_000_000
    assert _call(server, "GET", "/t/ci-b/_admin/clock")[1]["now_sec"] != 1_900_000_000
    rule = {"method": "ListBookings", "kind": "http_error", "status": 503}
    assert _call(server, "POST", "/t/ci-a/_admin/faults", rule)[0] == 201
    assert _call(server, "POST", "/_admin/scenarios/flaky_payments", headers=None)[0] in (200, 201)  # default only
    assert _call(server, "POST", "/v3/ListBookings", {"user_id": "u"}, a)[0] == 503
    assert _call(server, "POST", "/v3/ListBookings", {"user_id": "u"}, b) == (200, {"bookings": []})
    assert [r["id"] for r in _call(server, "GET", "/t/ci-b/_admin/faults")[1]["faults"]] == []
    # A tenant's own password opens that tenant only; another prefix with it is a 403.
    assert _call(server, "GET", "/v3/HealthCheck", headers=_basic("team-x", "x-pass"))[0] == 200
    assert _call(server, "GET", "/v3/HealthCheck", headers=_basic("team-x", "shared"))[0] == 401
    assert _call(server, "GET", "/t/ci-a/v3/HealthCheck", headers=_basic("team-x", "x-pass"))[0] == 403
    # default, ci-a, ci-b, team-x: the cap of 4 is reached.
    names = [t["name"] for t in _call(server, "GET", "/_admin/tenants")[1]["tenants"]]
    assert names == ["default", "ci-a", "ci-b", "team-x"]
    status, body = _call(server, "GET", "/v3/HealthCheck", headers=_basic("ci-c", "shared"))
    assert status == 503 and body["message"].startswith("tenant limit reached: 4 tenants")
