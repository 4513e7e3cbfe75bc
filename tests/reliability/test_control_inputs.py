"""Control inputs never get a 500 (issue 13, item 13): recordings `since`, fault rules, magic tags, the clock.

Each input out of range is a 4xx JSON error (or, in the dashboard, the form again with the message) that names
the bound; each value that is accepted leaves every /v3 call and every dashboard page working.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from mock_server.api.ui import install
from mock_server.domain.clock import LATEST_SEC, ClockRangeError, SandboxClock
from mock_server.domain.waitlist import RETENTION_SEC
from mock_server.runtime import EXTENSION_KEY
from tests.conftest import FROZEN_AT
from tests.helpers import create_body, find_slot, slot_json, slot_time_json, user
from tests.ui.client import flash, get, post

from .conftest import fresh_app

HUGE = "9" * 5000  # over Python's 4,300-digit limit on int(str)


@pytest.fixture
def app(tmp_path):
    app = fresh_app(tmp_path)
    install(app)
    return app


def assert_error(response, status: int, *fragments: str) -> dict:
    """A JSON {code, status, message} error with this status whose message names each fragment."""
    body = response.get_json(silent=True)
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert body["code"] == status and body["status"], body
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body


# ---- /_admin/recordings?since= ----


@pytest.mark.parametrize(
    "since",
    [
        "nan",
        "NaN",
        "-inf",
        "inf",
        "Infinity",
        "-1e400",
        "1e400",
        HUGE,
        "-" + HUGE,
        "-1",
        str(LATEST_SEC + 1),
        "1_000",
        "١٢",
    ],
)
def test_since_out_of_range_or_not_a_number_is_a_400(client, since):
    assert_error(client.get(f"/_admin/recordings?since={since}"), 400, "since", "1099511627776")


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00+14:00"])
def test_since_at_the_ends_of_iso_8601_is_answered(client, since):
    response = client.get(f"/_admin/recordings?since={since}")
    assert response.status_code in (200, 400), response.get_data()[:300]
    assert response.get_json()["code" if response.status_code == 400 else "count"] is not None


def test_since_in_range_still_filters(client, runtime):
    for _ in range(3):
        client.get("/v3/HealthCheck")
    assert [e["seq"] for e in client.get("/_admin/recordings?since=1").get_json()["exchanges"]] == [3, 2]
    assert client.get("/_admin/recordings?since=1.5e9").get_json()["count"] == 3
    assert client.get(f"/_admin/recordings?since={LATEST_SEC}").get_json()["count"] == 0


# ---- /_admin/faults: counters that fit the answer ----


@pytest.mark.parametrize(
    "field, value, bound",
    [
        ("ttl_s", 18446744073709551615, "315360000"),
        ("ttl_s", 315360001, "315360000"),
        ("times", 18446744073709551615, "1000000000"),
    ],
)
def test_a_rule_counter_out_of_range_is_a_400_and_the_list_still_works(client, field, value, bound):
    rule = {"method": "*", "kind": "http_error", "status": 503, field: value}
    assert_error(client.post("/_admin/faults", json=rule), 400, field, bound)
    assert client.get("/_admin/faults").get_json() == {"faults": [], "retired": []}


def test_the_largest_ttl_is_listed(client, runtime):
    client.post("/_admin/clock", json={"freeze_at_sec": LATEST_SEC})
    added = client.post(
        "/_admin/faults",
        json={"method": "*", "kind": "delay", "delay_ms": 1, "ttl_s": 315360000, "times": 1_000_000_000},
    )
    assert added.status_code == 201
    listed = client.get("/_admin/faults").get_json()["faults"][0]
    assert (listed["expires_at_sec"], listed["remaining"]) == (LATEST_SEC + 315360000, 1_000_000_000)


# ---- magic tags ----


@pytest.mark.parametrize(
    "tag", ["delay_" + HUGE, "http_" + HUGE, "timeout_" + HUGE, "timeout_after_commit_" + HUGE, "delay_1234567890"]
)
def test_a_magic_header_number_over_the_limit_is_a_400_naming_it(client, tag):
    body = assert_error(
        client.get("/v3/HealthCheck", headers={"X-Sandbox-Fault": tag}), 400, "X-Sandbox-Fault", "at most 9 digits"
    )
    assert len(body["message"]) < 400  # the tag is not echoed in full


def test_a_magic_email_number_over_the_limit_is_a_400_naming_it(tmp_path):
    app = fresh_app(tmp_path)
    client, runtime = app.test_client(), app.extensions[EXTENSION_KEY]
    body = create_body(find_slot(runtime, vertical="classes"))
    body["user_information"]["email"] = f"qa+delay_{HUGE}@example.com"
    assert_error(client.post("/v3/CreateBooking", json=body), 400, "email", "at most 9 digits")
    assert client.get("/_admin/bookings").get_json()["count"] == 0


# ---- the sandbox clock ----


def test_the_clock_refuses_to_leave_its_range():
    with pytest.raises(ClockRangeError, match="1099511627776"):
        SandboxClock(frozen_at=10**20)
    clock = SandboxClock(frozen_at=LATEST_SEC)
    with pytest.raises(ClockRangeError):
        clock.advance(1)
    with pytest.raises(ClockRangeError):
        clock.freeze(-1)
    clock.unfreeze()
    with pytest.raises(ClockRangeError):
        clock.advance(10)
    assert LATEST_SEC - 5 <= clock.now() <= LATEST_SEC


@pytest.mark.parametrize("change", [{"advance_sec": 1}, {"advance_sec": -(LATEST_SEC + 1)}])
def test_the_api_refuses_an_advance_past_the_range(client, change):
    client.post("/_admin/clock", json={"freeze_at_sec": LATEST_SEC})
    if change["advance_sec"] < 0:
        client.post("/_admin/clock", json={"freeze_at_sec": 0})
    before = client.get("/_admin/clock").get_json()
    assert_error(client.post("/_admin/clock", json=change), 400, "1099511627776")
    assert client.get("/_admin/clock").get_json() == before


def _v3_calls(runtime, booking_id: str):
    slot = find_slot(runtime, vertical="classes", min_spots=1, skip=1)
    return [
        ("GET", "/v3/HealthCheck", None),
        ("POST", "/v3/BatchAvailabilityLookup", {"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot)]}),
        ("POST", "/v3/CheckAvailability", {"slot": slot_json(slot)}),
        ("POST", "/v3/CreateBooking", create_body(slot, 3)),
        ("POST", "/v3/UpdateBooking", {"booking": {"booking_id": booking_id, "status": "CANCELED"}}),
        ("POST", "/v3/GetBookingStatus", {"booking_id": booking_id}),
        ("POST", "/v3/ListBookings", {"user_id": "u1"}),
        (
            "POST",
            "/v3/SetMarketingPreference",
            {"user_information": user(), "user_to_receive_marketing": True},
        ),
        ("POST", "/v3/BatchGetWaitEstimates", {"merchant_id": "dining-001", "service_id": "dinner", "party_size": [2]}),
        ("POST", "/v3/CreateWaitlistEntry", _waitlist_body("u2", "late")),
        ("POST", "/v3/GetWaitlistEntry", {"waitlist_entry_id": "W0000001"}),
        ("POST", "/v3/DeleteWaitlistEntry", {"waitlist_entry_id": "W0000001"}),
    ]


def _waitlist_body(user_id: str, token: str) -> dict:
    user = {"user_id": user_id, "given_name": "Ada", "family_name": "Lee", "telephone": "+1 555-010-0101"}
    return {
        "merchant_id": "dining-001",
        "service_id": "dinner",
        "party_size": 2,
        "user_information": user,
        "idempotency_token": token,
    }


def _join_a_waitlist(client, runtime) -> int:
    """An entry (W0000001) made while dining-001's waitlist is open, for the calls that read one; when it was made."""
    merchant = runtime.bookings.inventory.merchant("dining-001")
    rules = runtime.bookings.inventory.service("dining-001", "dinner").waitlist
    opens = next(p["from"] for p in rules["schedule"] if p["status"] == "OPEN")
    zone = ZoneInfo(merchant.timezone)
    day = dt.datetime.fromtimestamp(runtime.clock.now(), zone).date() + dt.timedelta(days=1)
    hour, minute = map(int, opens.split(":"))
    at = int(dt.datetime.combine(day, dt.time(hour, minute + 10), tzinfo=zone).timestamp())
    assert client.post("/_admin/clock", json={"freeze_at_sec": at}).status_code == 200
    made = client.post("/v3/CreateWaitlistEntry", json=_waitlist_body("u1", "early")).get_json()
    assert made == {"waitlist_entry_id": "W0000001"}, made
    return at


def _dashboard_pages(app, booking_id: str) -> list[str]:
    """Every GET page of the dashboard, from the URL map, and its live fragments."""
    pages = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/_admin/ui") and "GET" in rule.methods and "<" not in rule.rule:
            pages.append(rule.rule[len("/_admin/ui") :])
    return pages + [
        "/?fragment=status",
        "/faults?fragment=rules",
        f"/bookings?user_id={booking_id}",
        f"/inventory?at={LATEST_SEC}",
        "/inventory?at=99999999999",
    ]


@pytest.mark.parametrize("at", [LATEST_SEC, 0])
def test_a_clock_at_either_end_leaves_every_page_and_every_v3_call_working(app, client, runtime, at):
    slot = find_slot(runtime, vertical="classes", window=False)
    booking = client.post("/v3/CreateBooking", json=create_body(slot, 1, token="kept")).get_json()["booking"]
    joined_at = _join_a_waitlist(client, runtime)
    client.post("/_admin/faults", json={"method": "*", "kind": "delay", "delay_ms": 0, "ttl_s": 60})
    assert client.post("/_admin/clock", json={"freeze_at_sec": at}).status_code == 200
    client.get("/v3/HealthCheck")  # an exchange recorded at that clock, for the exchanges page
    for method, path, body in _v3_calls(runtime, booking["booking_id"]):
        response = client.open(path, method=method, json=body)
        # An entry is kept 30 days: past them GetWaitlistEntry and DeleteWaitlistEntry answer 404.
        kept = at <= joined_at + RETENTION_SEC or "WaitlistEntry" not in path or "Create" in path
        assert response.status_code == (200 if kept else 404), (path, response.get_data()[:300])
        assert response.get_json() is not None
    pages = _dashboard_pages(app, booking["booking_id"])
    assert {"/", "/faults", "/exchanges", "/bookings", "/inventory"} <= set(pages)
    for page in pages:
        response = get(client, page, follow_redirects=True)  # /login sends to / when no token is set
        assert response.status_code == 200, (page, response.get_data()[:300])
    assert client.get("/_admin/recordings/export?format=har").status_code == 200


# ---- the dashboard's forms ----


@pytest.mark.parametrize(
    "form, message",
    [
        ({"action": "freeze_at", "at": str(10**20)}, "1099511627776"),
        ({"action": "freeze_at", "at": HUGE}, "epoch seconds"),
        ({"action": "freeze_at", "at": "²"}, "epoch seconds"),
        ({"action": "freeze_at", "at": "-1"}, "1099511627776"),
        ({"action": "advance", "amount": str(10**20), "unit": "seconds"}, "1099511627776"),
        ({"action": "advance", "amount": HUGE, "unit": "days"}, "whole number"),
        ({"action": "advance", "amount": "١٢", "unit": "days"}, "whole number"),
    ],
)
def test_the_dashboard_clock_form_refuses_what_the_api_refuses(client, runtime, form, message):
    before = runtime.clock.state()
    page = post(client, "/clock", form)
    assert page.status_code == 200
    assert flash(page).startswith("Clock unchanged:") and message in flash(page), flash(page)
    assert runtime.clock.state() == before
    assert client.get("/v3/HealthCheck").status_code == 200


def test_the_dashboard_clock_form_takes_the_largest_value_and_v3_keeps_working(client, runtime):
    page = post(client, "/clock", {"action": "freeze_at", "at": str(LATEST_SEC)})
    assert "Clock frozen at" in flash(page) and runtime.clock.now() == LATEST_SEC
    body = create_body(find_slot(runtime, vertical="classes"))
    answer = client.post("/v3/CreateBooking", json=body)
    assert answer.status_code == 200
    assert answer.get_json()["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"  # every slot is in the past


@pytest.mark.parametrize("field", ["times", "ttl_s", "delay_ms", "status"])
def test_the_dashboard_fault_form_refuses_a_5000_digit_number(client, field):
    form = {"method": "*", "kind": "http_error", "status": "503", field: HUGE}
    if field in ("delay_ms",):
        form["kind"] = "delay"
        del form["status"]
    page = post(client, "/faults", form)
    assert page.status_code == 400
    assert "Not a valid integer" in page.get_data(as_text=True)
    assert client.get("/_admin/faults").get_json()["faults"] == []


@pytest.mark.parametrize("at", ["²", "١٢", HUGE, "-5"])
def test_the_inventory_page_ignores_an_at_that_is_not_epoch_seconds(client, at):
    assert get(client, f"/inventory?at={at}").status_code == 200


def test_a_reset_brings_the_clock_back(client, runtime):
    client.post("/_admin/clock", json={"freeze_at_sec": LATEST_SEC})
    client.post("/_admin/reset")
    assert runtime.clock.now() == FROZEN_AT
