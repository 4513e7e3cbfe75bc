"""Every bad input is a 4xx JSON error that names the problem, and changes nothing.

The table (see badinput.py) covers broken and hostile JSON on every JSON endpoint, every required
field at every level, wrong types for every field of rich valid bodies, business-level nonsense,
limits, and every HTTP method a path does not take. After each probe the bookings, spots, clock
and fault rules must be exactly as before.
"""

from __future__ import annotations

import copy
import functools

import pytest

from mock_server import create_app
from mock_server.api.admin.schemas import ClockChangeSchema, MerchantDecisionSchema
from mock_server.config import Settings
from mock_server.faults.rules import RuleSchema
from mock_server.runtime import EXTENSION_KEY
from mock_server.v3 import contract as v3
from tests.conftest import FROZEN_AT
from tests.helpers import create_body, find_slot, slot_json, slot_time_json

from .badinput import JSON, Probe, depth_probes, encode, schema_probes, transport_probes
from .conftest import fresh_app

LIMIT = Settings().max_body_bytes
MAX_SLOT_TIMES = Settings().max_slot_times
BOOKING_ID = "B0000001"  # the module's one booking (the first id of a fresh sandbox)
WAIT_ESTIMATES = {"merchant_id": "dining-001", "service_id": "dinner", "party_size": [2, 3]}
JOIN = {
    **WAIT_ESTIMATES,
    "party_size": 3,
    "user_information": {"user_id": "u1", "given_name": "A", "family_name": "B", "telephone": "+1 555", "email": "a@b"},
    "additional_request": "window",
    "idempotency_token": "bad-join",
}


@functools.cache
def _planning_app():
    """An app to read the inventory and routes from while the table is built (same as every fresh one)."""
    return create_app({"clock": FROZEN_AT, "record": 0}, environ={})


@functools.cache
def _inventory():
    """Slots of the default fixture at the frozen clock."""
    runtime = _planning_app().extensions[EXTENSION_KEY]
    return (
        find_slot(runtime, vertical="classes"),
        find_slot(runtime, vertical="classes", skip=1),
        find_slot(runtime, vertical="dining"),
    )


def _valid_bodies() -> dict[str, tuple]:
    """path -> (schema, valid bodies): rich enough that every optional field is present somewhere."""
    booked, other, dining = _inventory()
    create = create_body(other, 7, token="bad-input-create")
    create["user_information"].update(
        address={
            "country": "US",
            "locality": "Springfield",
            "region": "IL",
            "postal_code": "62701",
            "street_address": "1 Main St",
        },
        language_code="en",
    )
    create["payment_information"] = {
        "prepayment_status": "PREPAYMENT_NOT_PROVIDED",
        "payment_transaction_id": "t1",
        "price": {"price_micros": "45000000", "currency_code": "USD", "pricing_option_tag": "std"},
        "deposit": {
            "deposit": {"price_micros": "1000000", "currency_code": "USD"},
            "min_advance_cancellation_sec": "3600",
            "deposit_type": "PER_PERSON",
        },
        "no_show_fee": {"fee": {"price_micros": "1", "currency_code": "USD"}, "fee_type": "FIXED_RATE_DEFAULT"},
        "payment_processed_by": "PROCESSED_BY_PARTNER",
    }
    create.update(
        lease_ref={"lease_id": "L1"},
        offer_id="o1",
        deal_id="d1",
        additional_request="window",
        payment_processing_parameters={
            "processor": "PROCESSOR_STRIPE",
            "payment_method_token": "tok",
            "version": "1",
            "tokenization_config": {"k": "v"},
        },
    )
    create["slot"]["confirmation_mode"] = "CONFIRMATION_MODE_SYNCHRONOUS"
    create["slot"]["availability_tag"] = "tag"
    moved = slot_json(booked, start_sec=str(booked.start_sec + 3600))
    moved["resources"]["party_size"] = 2
    lookup_time = slot_time_json(booked, confirmation_mode="CONFIRMATION_MODE_SYNCHRONOUS", availability_tag="t")
    return {
        "/v3/BatchAvailabilityLookup": (
            v3.BatchAvailabilityLookupRequestSchema(),
            [
                {"merchant_id": booked.merchant_id, "slot_time": [lookup_time, slot_time_json(other)]},
                {"merchant_id": dining.merchant_id, "slot_time": [slot_time_json(dining)]},
            ],
        ),
        "/v3/CheckAvailability": (v3.CheckAvailabilityRequestSchema(), [{"slot": slot_json(booked)}]),
        "/v3/CreateBooking": (v3.CreateBookingRequestSchema(), [create]),
        "/v3/UpdateBooking": (
            v3.UpdateBookingRequestSchema(),
            [
                {
                    "booking": {
                        "booking_id": BOOKING_ID,
                        "slot": moved,
                        "status": "CANCELED",
                        "user_information": {},
                        "payment_information": {},
                    }
                }
            ],
        ),
        "/v3/GetBookingStatus": (v3.GetBookingStatusRequestSchema(), [{"booking_id": BOOKING_ID}]),
        "/v3/ListBookings": (v3.ListBookingsRequestSchema(), [{"user_id": "u1"}]),
        "/v3/BatchGetWaitEstimates": (v3.BatchGetWaitEstimatesRequestSchema(), [WAIT_ESTIMATES]),
        "/v3/CreateWaitlistEntry": (v3.CreateWaitlistEntryRequestSchema(), [JOIN]),
        "/v3/GetWaitlistEntry": (v3.WaitlistEntryIdRequestSchema(), [{"waitlist_entry_id": "W0000001"}]),
        "/v3/DeleteWaitlistEntry": (v3.WaitlistEntryIdRequestSchema(), [{"waitlist_entry_id": "W0000001"}]),
        "/_admin/clock": (
            ClockChangeSchema(),
            [{"advance_sec": 60}, {"freeze": True}, {"unfreeze": True}, {"freeze_at_sec": FROZEN_AT}],
        ),
        f"/_admin/bookings/{BOOKING_ID}/merchant-decision": (MerchantDecisionSchema(), [{"decision": "confirm"}]),
        "/_admin/faults": (
            RuleSchema(),
            [
                {
                    "method": "CreateBooking",
                    "kind": "http_error",
                    "status": 503,
                    "times": 1,
                    "probability": 0.5,
                    "ttl_s": 60,
                    "match": {"merchant_id": "x"},
                }
            ],
        ),
    }


def _business_probes() -> list[Probe]:
    booked, other, _ = _inventory()
    lookup = {"merchant_id": booked.merchant_id, "slot_time": [slot_time_json(booked)]}
    create = create_body(other, 8, token="bad-business")
    update = {"booking": {"booking_id": BOOKING_ID, "slot": {"start_sec": str(booked.start_sec + 3600)}}}

    def post(name, path, body, status, fragment):
        return Probe(name, "POST", path, encode(body), status, fragment)

    def changed(body, path, value):
        doc = copy.deepcopy(body)
        *parents, last = path.split(".")
        target = doc
        for key in parents:
            target = target[key]
        target[last] = value
        return doc

    return [
        post(
            "empty slot_time list",
            "/v3/BatchAvailabilityLookup",
            {**lookup, "slot_time": []},
            400,
            "slot_time: must list at least one slot_time",
        ),
        post(
            "max+1 slot_times",
            "/v3/BatchAvailabilityLookup",
            {**lookup, "slot_time": [slot_time_json(booked)] * (MAX_SLOT_TIMES + 1)},
            400,
            f"too many slot_time entries: {MAX_SLOT_TIMES + 1} > {MAX_SLOT_TIMES}",
        ),
        post(
            "5,000 slot_times",
            "/v3/BatchAvailabilityLookup",
            {**lookup, "slot_time": [slot_time_json(booked)] * 5000},
            400,
            "too many slot_time entries: 5000",
        ),
        post(
            "unknown merchant",
            "/v3/BatchAvailabilityLookup",
            {**lookup, "merchant_id": "nope"},
            400,
            "unknown merchant_id 'nope'",
        ),
        post(
            "unknown service",
            "/v3/BatchAvailabilityLookup",
            changed(lookup, "slot_time", [slot_time_json(booked, service_id="nope")]),
            400,
            "unknown service_id 'nope'",
        ),
        post(
            "unknown merchant",
            "/v3/CreateBooking",
            changed(create, "slot.merchant_id", "nope"),
            400,
            "unknown merchant_id 'nope'",
        ),
        post(
            "unknown service",
            "/v3/CreateBooking",
            changed(create, "slot.service_id", "nope"),
            400,
            "unknown service_id 'nope'",
        ),
        post(
            "unknown merchant",
            "/v3/CheckAvailability",
            {"slot": slot_json(booked, merchant_id="nope")},
            400,
            "unknown merchant_id 'nope'",
        ),
        post(
            "unknown booking",
            "/v3/UpdateBooking",
            changed(update, "booking.booking_id", "B9999999"),
            400,
            "unknown booking_id 'B9999999'",
        ),
        post(
            "nothing to change",
            "/v3/UpdateBooking",
            {"booking": {"booking_id": BOOKING_ID}},
            400,
            "give a status (to cancel) or a slot (to reschedule)",
        ),
        post(
            "status other than CANCELED",
            "/v3/UpdateBooking",
            {"booking": {"booking_id": BOOKING_ID, "status": "NO_SHOW"}},
            400,
            "status can only be changed to CANCELED, not NO_SHOW",
        ),
        post(
            "move to another merchant",
            "/v3/UpdateBooking",
            changed(update, "booking.slot", {"merchant_id": "dining-001", "start_sec": "1"}),
            400,
            "slot.merchant_id cannot be changed by UpdateBooking",
        ),
        post(
            "unknown booking", "/v3/GetBookingStatus", {"booking_id": "B9999999"}, 404, "unknown booking_id 'B9999999'"
        ),
        post(
            "repeated party size", "/v3/BatchGetWaitEstimates", {**WAIT_ESTIMATES, "party_size": [2, 2]}, 400, "repeat"
        ),
        post(
            "service without a waitlist",
            "/v3/CreateWaitlistEntry",
            {**JOIN, "merchant_id": "salon-002", "service_id": "haircut"},
            400,
            "has no waitlist",
        ),
        post("party of 0", "/v3/CreateWaitlistEntry", {**JOIN, "party_size": 0}, 400, "party_size:"),
        *(
            post("unknown entry", f"/v3/{m}", {"waitlist_entry_id": "W9"}, 404, "unknown waitlist_entry_id 'W9'")
            for m in ("GetWaitlistEntry", "DeleteWaitlistEntry")
        ),
        post("no action", "/_admin/clock", {}, 400, "give exactly one of freeze_at_sec, freeze, advance_sec"),
        post("two actions", "/_admin/clock", {"advance_sec": 5, "freeze": True}, 400, "give exactly one of"),
        post(
            "null advance",
            "/_admin/clock",
            {"advance_sec": None, "freeze_at_sec": 5},
            400,
            "advance_sec: Field may not be null",
        ),
        post(
            "unknown booking",
            "/_admin/bookings/B9999999/merchant-decision",
            {"decision": "confirm"},
            404,
            "unknown booking_id 'B9999999'",
        ),
        post(
            "decision on a confirmed booking",
            f"/_admin/bookings/{BOOKING_ID}/merchant-decision",
            {"decision": "confirm"},
            409,
            "is CONFIRMED, not pending",
        ),
        post("unknown scenario", "/_admin/scenarios/no-such-scenario", {}, 404, "no-such-scenario"),
        post("bad scenario name", "/_admin/scenarios/a.b", {}, 400, "bad scenario name"),
        post("unknown v3 method", "/v3/CreateLease", {}, 404, "no such path: /v3/CreateLease; v3 methods:"),
        Probe("unknown recording seq", "GET", "/_admin/recordings/999999", None, 404, "999999", None),
        Probe("unknown fault rule", "GET", "/_admin/faults/nope", None, 404, "no active fault rule 'nope'", None),
        Probe("unknown fault rule", "DELETE", "/_admin/faults/nope", None, 404, "no active fault rule", None),
        Probe(
            "unknown feed merchant",
            "GET",
            "/feeds/availability.json?merchant_id=nope",
            None,
            404,
            "unknown merchant_id 'nope'",
            None,
        ),
        *[
            Probe(f"bookings query {query}", "GET", f"/_admin/bookings?{query}", None, 400, fragment, None)
            for query, fragment in [
                ("limit=0", "query.limit:"),
                ("limit=abc", "query.limit: Not a valid integer"),
                ("limit=100001", "query.limit:"),
                ("limit=" + "9" * 5000, "query.limit:"),
                ("status=NOPE", "query.status: Must be one of"),
            ]
        ],
    ]


def _method_probes() -> list[Probe]:
    """Every path, every HTTP method it does not take: 405 naming the ones it does."""
    probes = []
    for rule in _planning_app().url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule
        for name, value in (
            ("<booking_id>", BOOKING_ID),
            ("<int:seq>", "1"),
            ("<rule_id>", "nope"),
            ("<name>", "nope"),
        ):
            path = path.replace(name, value)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if method not in rule.methods and not _other_rule_takes(rule, method):
                probes.append(Probe("wrong method", method, path, None, 405, f"{method} is not allowed on", None))
    return probes


def _other_rule_takes(rule, method: str) -> bool:
    """Some paths have one rule per method (GET and POST /_admin/clock)."""
    return any(other.rule == rule.rule and method in other.methods for other in rule.map.iter_rules())


def _all_probes() -> list[Probe]:
    probes = []
    for path, (schema, bodies) in _valid_bodies().items():
        probes += transport_probes(path, LIMIT)
        for body in bodies:
            probes += schema_probes("POST", path, schema, body)
        if path.startswith("/v3/"):
            probes += depth_probes(path, bodies[0])
    probes += transport_probes("/_admin/reset", LIMIT, empty_allowed=True)
    probes += _business_probes() + _method_probes()
    unique = {}
    for probe in probes:
        unique.setdefault((probe.method, probe.path, probe.body, probe.content_type), probe)
    return list(unique.values())


PROBES = _all_probes()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """One sandbox for the whole table (every probe must leave it as it was), with one booking."""
    app = fresh_app(tmp_path_factory.mktemp("bad-input"))
    client = app.test_client()
    runtime = app.extensions[EXTENSION_KEY]
    booked, _, _ = _inventory()
    answer = client.post("/v3/CreateBooking", json=create_body(booked, 1, token="the-booking")).get_json()
    assert answer["booking"]["booking_id"] == BOOKING_ID
    feed = client.get("/feeds/availability.json").get_json()
    return client, runtime, _state(client, runtime), feed


def _state(client, runtime):
    """Bookings, spots of every slot, clock and fault rules."""
    return (
        client.get("/_admin/bookings?limit=100000").get_json(),
        client.get("/_admin/waitlist").get_json(),
        tuple(runtime.bookings.spots_open(slot) for slot in runtime.bookings.inventory.slots()),
        client.get("/_admin/clock").get_json(),
        client.get("/_admin/faults").get_json()["faults"],
    )


@pytest.mark.parametrize("probe", PROBES, ids=[p.id for p in PROBES])
def test_bad_input_is_a_named_4xx_and_changes_nothing(sandbox, probe, figures):
    client, runtime, before, _ = sandbox
    headers = {"Content-Type": probe.content_type} if probe.content_type and probe.body is not None else {}
    response = client.open(probe.path, method=probe.method, data=probe.body, headers=headers)
    body = response.get_json(silent=True)
    assert response.status_code == probe.status, (response.status_code, response.get_data()[:500])
    assert response.mimetype == JSON
    assert body["code"] == probe.status and body["status"], body
    assert probe.fragment in body["message"], body["message"]
    if probe.status == 405:
        assert response.headers["Allow"]
    assert _state(client, runtime) == before
    figures["bad inputs tried"] = figures.get("bad inputs tried", 0) + 1


def test_the_table_is_large_and_covers_every_json_endpoint():
    paths = {p.path for p in PROBES if p.method == "POST"}
    assert set(_valid_bodies()) | {"/_admin/reset"} <= paths
    assert len(PROBES) > 500


def test_availability_feed_is_unchanged_after_the_whole_table(sandbox):
    client, _, _, feed = sandbox
    assert client.get("/feeds/availability.json").get_json() == feed
