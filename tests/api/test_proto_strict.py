"""Every v3 method's success answers parsed strictly with the v3 messages (tests/proto/v3.proto), as a
protobuf-based client parses them: json_format.Parse rejects unknown fields, wrong types and unknown enum names.

Requests are built from the feeds, as a Google-side client builds them, and are themselves parsed as their
request message first. Each call checks its answer at the call site; the `strict_answers` watch also checks every
200 answer the gateway sends during the test, faults included. The feeds are not parsed: v3.proto has no feed
messages (Merchant, Service, Availability live in Google's separate feed protos).
"""

from __future__ import annotations

import itertools

import pytest

from mock_server.faults.rules import CAUSES
from mock_server.v3 import wire
from mock_server.v3.methods import METHODS
from tests.api.test_waitlist import at_open
from tests.api.test_waitlist import user as waitlist_user
from tests.helpers import feed_resource_ids
from tests.proto_support import ProtoMismatch, parse_answer, parse_request, parse_strict


@pytest.fixture(autouse=True)
def watch(strict_answers):
    """Every test here also has every 200 answer of its app checked as sent."""
    return strict_answers


class Feeds:
    """The services and availability feeds as a client reads them, and the v3 requests it builds from them."""

    def __init__(self, client):
        self.services = {
            (s["merchant_id"], s["service_id"]): s for s in client.get("/feeds/services.json").get_json()["service"]
        }
        self.entries = [
            entry
            for group in client.get("/feeds/availability.json").get_json()["service_availability"]
            for entry in group["availability"]
        ]

    def service(self, entry: dict) -> dict:
        return self.services[(entry["merchant_id"], entry["service_id"])]

    def entry(
        self, prefix: str, *, prepaid=False, asynchronous=False, window=None, spots=None, skip=0, where=None
    ) -> dict:
        """The `skip`-th open entry of a merchant whose id starts with `prefix` (dining, salon, studio)."""
        for entry in self.entries:
            service = self.service(entry)
            if not entry["merchant_id"].startswith(prefix) or entry["spots_open"] < 1:
                continue
            if (service.get("prepayment_type") == "REQUIRED") != prepaid:
                continue
            if (entry["confirmation_mode"] == "CONFIRMATION_MODE_ASYNCHRONOUS") != asynchronous:
                continue
            if window is not None and ("min_advance_online_canceling" in service.get("rules", {})) != window:
                continue
            if spots is not None and entry["spots_total"] != spots:
                continue
            if where is not None and not where(entry):
                continue
            if skip == 0:
                return entry
            skip -= 1
        raise AssertionError(f"the feeds have no open {prefix} entry with prepaid={prepaid} async={asynchronous}")

    def sibling(self, entry: dict, *, hours=0, party_size=None) -> dict:
        """The entry of the same service and resources `hours` later (or for another party size)."""
        ids = feed_resource_ids(entry)
        if party_size is not None:
            ids = {**ids, "party_size": party_size}
        for other in self.entries:
            if (
                (other["merchant_id"], other["service_id"]) == (entry["merchant_id"], entry["service_id"])
                and other["start_sec"] == entry["start_sec"] + hours * 3600
                and feed_resource_ids(other) == ids
            ):
                return other
        raise AssertionError(f"the feeds have no entry {hours} h after {entry} with {ids}")

    def price(self, entry: dict) -> dict:
        """The service's price, as the services feed lists it."""
        return dict(self.service(entry)["price"])


def slot(entry: dict) -> dict:
    """The v3 Slot of a feed entry, with every field Google sends (tag and confirmation mode included)."""
    out = {
        "merchant_id": entry["merchant_id"],
        "service_id": entry["service_id"],
        "start_sec": str(entry["start_sec"]),
        "duration_sec": str(entry["duration_sec"]),
        "confirmation_mode": entry["confirmation_mode"],
    }
    if entry.get("availability_tag"):
        out["availability_tag"] = entry["availability_tag"]
    if feed_resource_ids(entry):
        out["resources"] = feed_resource_ids(entry)
    return out


def slot_time(entry: dict, **changes) -> dict:
    """The BAL SlotTime of a feed entry (its merchant is the request's)."""
    out = {"service_id": entry["service_id"], "start_sec": str(entry["start_sec"])}
    out["duration_sec"] = str(entry["duration_sec"])
    if entry.get("availability_tag"):
        out["availability_tag"] = entry["availability_tag"]
    if feed_resource_ids(entry):
        out["resource_ids"] = feed_resource_ids(entry)
    out.update(changes)
    return out


def user(n: int = 1) -> dict:
    """A UserInformation with every field of the message."""
    return {
        "user_id": f"{4242424242424242000 + n}",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "address": {
            "country": "GB",
            "locality": "London",
            "region": "England",
            "postal_code": "W1J 7NT",
            "street_address": "12 St James's Square",
        },
        "telephone": "+44 20 7946 0000",
        "email": f"ada{n}@example.com",
        "language_code": "en-GB",
    }


_tokens = itertools.count(1)


def create_request(entry: dict, user_n: int = 1, **changes) -> dict:
    body = {
        "slot": slot(entry),
        "user_information": user(user_n),
        "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
        "idempotency_token": f"strict-{next(_tokens)}",
    }
    body.update(changes)
    return body


def call(client, method: str, body: dict | None = None) -> dict:
    """A v3 call whose request is a valid <method>Request; it must answer 200 with a valid <method>Response."""
    if body is None:
        response = client.get(f"/v3/{method}")
    else:
        parse_request(method, body)
        response = client.post(f"/v3/{method}", json=body)
    assert response.status_code == 200, (method, response.get_json())
    parse_answer(method, response.data)
    return response.get_json()


def create(client, entry: dict, user_n: int = 1, **changes) -> dict:
    return call(client, "CreateBooking", create_request(entry, user_n, **changes))


def update(client, booking_id: str, **fields) -> dict:
    return call(client, "UpdateBooking", {"booking": {"booking_id": booking_id, **fields}})


def add_rule(client, **rule) -> None:
    response = client.post("/_admin/faults", json=rule)
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def feeds(client):
    return Feeds(client)


# --- Each method -------------------------------------------------------------------------------------------


def test_health_check(client):
    assert call(client, "HealthCheck") == {}


@pytest.mark.parametrize("prefix", ["dining", "salon", "studio"])
def test_availability_lookup_of_each_vertical(client, feeds, prefix):
    """Entries with a party size, a staff member, or a room and a tag; and a time the merchant does not offer."""
    first = feeds.entry(prefix)
    offered = [e for e in feeds.entries if e["merchant_id"] == first["merchant_id"]][:6]
    times = [slot_time(e) for e in offered] + [slot_time(first, start_sec=str(first["start_sec"] + 60))]
    answer = call(client, "BatchAvailabilityLookup", {"merchant_id": first["merchant_id"], "slot_time": times})
    expected = [e["spots_open"] > 0 for e in offered] + [False]
    assert [a["available"] for a in answer["slot_time_availability"]] == expected


def test_availability_lookup_of_an_asynchronous_merchant(client, feeds):
    entry = feeds.entry("salon", asynchronous=True)
    answer = call(
        client, "BatchAvailabilityLookup", {"merchant_id": entry["merchant_id"], "slot_time": [slot_time(entry)]}
    )
    assert answer["slot_time_availability"][0]["available"] is True


def test_check_availability(client, feeds):
    entry = feeds.entry("studio", where=lambda e: e["spots_total"] > 1)
    answer = call(client, "CheckAvailability", {"slot": slot(entry)})
    assert answer["count_available"] == entry["spots_open"]


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("class with a room and a tag", "CONFIRMED"),
        ("appointment with a staff member", "CONFIRMED"),
        ("dining party", "CONFIRMED"),
        ("asynchronous appointment", "PENDING_MERCHANT_CONFIRMATION"),
        ("asynchronous dining party", "PENDING_MERCHANT_CONFIRMATION"),
        ("prepaid, paid through Google", "CONFIRMED"),
        ("prepaid, the partner charges a token", "CONFIRMED"),
        ("with an offer", "CONFIRMED"),
    ],
)
def test_create_booking(client, feeds, case, status):
    entry, changes = {
        "class with a room and a tag": (lambda: (feeds.entry("studio"), {})),
        "appointment with a staff member": (lambda: (feeds.entry("salon"), {})),
        "dining party": (lambda: (feeds.entry("dining", where=lambda e: e["resources"]["party_size"] == 4), {})),
        "asynchronous appointment": (lambda: (feeds.entry("salon", asynchronous=True), {})),
        "asynchronous dining party": (lambda: (feeds.entry("dining", asynchronous=True), {})),
        "prepaid, paid through Google": (lambda: _prepaid(feeds, "studio", token=False)),
        "prepaid, the partner charges a token": (lambda: _prepaid(feeds, "salon", token=True)),
        "with an offer": (lambda: (feeds.entry("studio", skip=1), {"offer_id": "spring-10"})),
    }[case]()
    booking = create(client, entry, **changes)["booking"]
    assert (booking["status"], booking["slot"]["start_sec"]) == (status, str(entry["start_sec"]))


def _prepaid(feeds, prefix: str, token: bool) -> tuple[dict, dict]:
    entry = feeds.entry(prefix, prepaid=True)
    if not token:
        payment = {"prepayment_status": "PREPAYMENT_PROVIDED", "price": feeds.price(entry)}
        return entry, {"payment_information": payment}
    return entry, {
        "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED", "price": feeds.price(entry)},
        "payment_processing_parameters": {"unparsed_payment_method_token": "tok_visa", "payment_processor": "stripe"},
    }


def test_create_booking_business_failures(client, feeds):
    """SLOT_UNAVAILABLE (full, and a time not offered), SLOT_ALREADY_BOOKED_BY_USER, PAYMENT_ERROR."""
    single = feeds.entry("salon", spots=1)
    create(client, single, user_n=1)
    causes = [create(client, single, user_n=2)["booking_failure"]["cause"]]
    roomy = feeds.entry("studio", where=lambda e: e["spots_total"] > 2)
    create(client, roomy, user_n=3)
    causes.append(create(client, roomy, user_n=3)["booking_failure"]["cause"])
    causes.append(create(client, feeds.entry("studio", prepaid=True))["booking_failure"]["cause"])
    unoffered = {**roomy, "start_sec": roomy["start_sec"] + 60}
    causes.append(create(client, unoffered, user_n=4)["booking_failure"]["cause"])
    assert causes == ["SLOT_UNAVAILABLE", "SLOT_ALREADY_BOOKED_BY_USER", "PAYMENT_ERROR", "SLOT_UNAVAILABLE"]


@pytest.mark.parametrize("cause", CAUSES)
def test_every_failure_cause_a_fault_gives(client, feeds, cause):
    """The cause-specific fields (rejected_card_type, payment_failure.threeds1_parameters) parse too."""
    add_rule(client, method="CreateBooking", kind="booking_failure", cause=cause, times=1)
    failure = create(client, feeds.entry("studio"))["booking_failure"]
    assert failure["cause"] == cause


def test_update_booking_failure_from_a_fault(client, feeds):
    booking = create(client, feeds.entry("studio", window=False))["booking"]
    add_rule(client, method="UpdateBooking", kind="booking_failure", cause="PAYMENT_REQUIRES_3DS1", times=1)
    failure = update(client, booking["booking_id"], status="CANCELED")["booking_failure"]
    assert set(failure["payment_failure"]["threeds1_parameters"]) >= {"acs_url", "pa_req"}


def test_lookups_under_a_slot_taken_fault(client, feeds):
    entry = feeds.entry("studio")
    add_rule(client, method="*", kind="slot_taken")
    lookup = {"merchant_id": entry["merchant_id"], "slot_time": [slot_time(entry)]}
    assert call(client, "BatchAvailabilityLookup", lookup)["slot_time_availability"][0]["available"] is False
    assert call(client, "CheckAvailability", {"slot": slot(entry)})["count_available"] == 0


def test_update_booking_reschedule_and_party_size(client, feeds):
    entry = feeds.entry("salon", window=False, spots=1)
    later = feeds.sibling(entry, hours=1)
    booking = create(client, entry)["booking"]
    moved = update(
        client,
        booking["booking_id"],
        slot={"start_sec": str(later["start_sec"]), "duration_sec": str(later["duration_sec"])},
    )["booking"]
    assert moved["slot"]["start_sec"] == str(later["start_sec"])

    two = feeds.entry("dining", where=lambda e: e["resources"]["party_size"] == 2)
    feeds.sibling(two, party_size=4)  # the fixture seats 4 at that time too
    dinner = create(client, two, user_n=2)["booking"]
    bigger = update(client, dinner["booking_id"], slot={"resources": {"party_size": 4}})["booking"]
    assert bigger["slot"]["resources"] == {"party_size": 4}


def test_update_booking_cancel_and_its_failures(client, feeds):
    """Cancel; cancel again (BOOKING_ALREADY_CANCELLED); a move to a full slot (SLOT_UNAVAILABLE); a cancel
    inside the services feed's cancellation window (OUTSIDE_CANCELLATION_WINDOW)."""
    entry = feeds.entry("salon", window=False, spots=1)
    booking = create(client, entry)["booking"]
    assert update(client, booking["booking_id"], status="CANCELED")["booking"]["status"] == "CANCELED"
    causes = [update(client, booking["booking_id"], status="CANCELED")["booking_failure"]["cause"]]

    mine = create(client, entry, user_n=2)["booking"]
    taken = feeds.sibling(entry, hours=1)
    create(client, taken, user_n=3)
    move = {"start_sec": str(taken["start_sec"]), "duration_sec": str(taken["duration_sec"])}
    causes.append(update(client, mine["booking_id"], slot=move)["booking_failure"]["cause"])

    windowed = feeds.entry("studio", window=True)
    held = create(client, windowed, user_n=4)["booking"]
    window = feeds.service(windowed)["rules"]["min_advance_online_canceling"]
    assert client.post("/_admin/clock", json={"freeze_at_sec": windowed["start_sec"] - window + 60}).status_code == 200
    causes.append(update(client, held["booking_id"], status="CANCELED")["booking_failure"]["cause"])
    assert causes == ["BOOKING_ALREADY_CANCELLED", "SLOT_UNAVAILABLE", "OUTSIDE_CANCELLATION_WINDOW"]


def test_get_booking_status_of_each_status(client, feeds):
    confirmed = create(client, feeds.entry("studio", window=False))["booking"]
    pending = create(client, feeds.entry("salon", asynchronous=True), user_n=2)["booking"]
    declined = create(client, feeds.entry("salon", asynchronous=True, skip=1), user_n=3)["booking"]
    decided = client.post(f"/_admin/bookings/{declined['booking_id']}/merchant-decision", json={"decision": "decline"})
    assert decided.status_code == 200
    cancelled = create(client, feeds.entry("studio", window=False, skip=1), user_n=4)["booking"]
    update(client, cancelled["booking_id"], status="CANCELED")
    entry, changes = _prepaid(feeds, "studio", token=False)
    prepaid = create(client, entry, user_n=5, **changes)["booking"]
    seen = [
        call(client, "GetBookingStatus", {"booking_id": b["booking_id"]})
        for b in (confirmed, pending, declined, cancelled, prepaid)
    ]
    assert [(s["booking_status"], s["prepayment_status"]) for s in seen] == [
        ("CONFIRMED", "PREPAYMENT_NOT_PROVIDED"),
        ("PENDING_MERCHANT_CONFIRMATION", "PREPAYMENT_NOT_PROVIDED"),
        ("DECLINED_BY_MERCHANT", "PREPAYMENT_NOT_PROVIDED"),
        ("CANCELED", "PREPAYMENT_NOT_PROVIDED"),
        ("CONFIRMED", "PREPAYMENT_PROVIDED"),
    ]


def test_list_bookings(client, feeds):
    made = [
        create(client, feeds.entry("studio"), user_n=7)["booking"],
        create(client, feeds.entry("salon", asynchronous=True), user_n=7)["booking"],
        create(client, feeds.entry("dining"), user_n=7)["booking"],
    ]
    entry, changes = _prepaid(feeds, "salon", token=False)
    made.append(create(client, entry, 7, **changes)["booking"])
    listed = call(client, "ListBookings", {"user_id": user(7)["user_id"]})["bookings"]
    assert sorted(b["booking_id"] for b in listed) == sorted(b["booking_id"] for b in made)
    assert call(client, "ListBookings", {"user_id": "nobody"}) == {"bookings": []}


# --- Every method, the OpenAPI examples, and the net itself ------------------------------------------------


def test_every_v3_method_is_driven_and_its_answer_parsed(client, feeds, watch, runtime):
    """One booking's life through every method; a method added to METHODS must be added here."""
    entry = feeds.entry("salon", window=False, spots=1)
    later = feeds.sibling(entry, hours=1)
    call(client, "HealthCheck")
    call(client, "BatchAvailabilityLookup", {"merchant_id": entry["merchant_id"], "slot_time": [slot_time(entry)]})
    call(client, "CheckAvailability", {"slot": slot(entry)})
    booking = create(client, entry)["booking"]
    update(
        client,
        booking["booking_id"],
        slot={"start_sec": str(later["start_sec"]), "duration_sec": str(later["duration_sec"])},
    )
    call(client, "GetBookingStatus", {"booking_id": booking["booking_id"]})
    call(client, "ListBookings", {"user_id": user(1)["user_id"]})
    update(client, booking["booking_id"], status="CANCELED")
    call(client, "SetMarketingPreference", {"user_information": user(1), "user_to_receive_marketing": True})
    call(client, "SetMarketingPreference", {"user_information": user(2), "user_to_receive_marketing": False})
    at_open(runtime)  # the waitlist's: dining-001's open hours
    call(client, "BatchGetWaitEstimates", {"merchant_id": "dining-001", "service_id": "dinner", "party_size": [2, 3]})
    joined = {"merchant_id": "dining-001", "service_id": "dinner", "party_size": 3, "idempotency_token": "wl"}
    joined["user_information"] = waitlist_user(1)
    entry_id = call(client, "CreateWaitlistEntry", joined)["waitlist_entry_id"]
    call(client, "GetWaitlistEntry", {"waitlist_entry_id": entry_id})
    call(client, "DeleteWaitlistEntry", {"waitlist_entry_id": entry_id})
    assert sorted(watch.checked) == sorted(METHODS)


def test_openapi_examples_are_valid_messages(client):
    """The request and answer examples of /openapi.json, as a reader of the document would copy them."""
    paths = client.get("/openapi.json").get_json()["paths"]
    parsed = set()
    for path, operation in paths.items():
        if not path.startswith("/v3/"):
            continue
        name = path.removeprefix("/v3/")
        for spec in operation.values():
            example = spec.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
            if example is not None:
                parse_request(name, example)
                parsed.add(f"{name}Request")
            answer = spec["responses"]["200"].get("content", {}).get("application/json", {}).get("example")
            if answer is not None:
                parse_answer(name, answer)
                parsed.add(f"{name}Response")
    posts = {name for name, method in METHODS.items() if "POST" in method.verbs}
    assert {f"{name}Request" for name in posts} <= parsed
    assert {f"{name}Response" for name in posts - {"ListBookings"}} <= parsed  # ListBookings has no answer example


def test_the_watch_rejects_an_answer_with_a_field_the_proto_lacks(client, feeds, watch, monkeypatch):
    real = wire.booking
    monkeypatch.setattr(wire, "booking", lambda b: {**real(b), "notes": "not a Booking field"})
    with pytest.raises(ProtoMismatch, match='no field named "notes"'):
        create(client, feeds.entry("studio"))
    assert len(watch.problems) == 1 and "CreateBooking" in watch.problems[0]
    watch.problems.clear()  # seen: the teardown check would fail the test otherwise


def test_the_watch_leaves_bodies_a_fault_breaks_on_purpose(client, feeds, watch):
    add_rule(client, method="CreateBooking", kind="malformed_json", times=1)
    response = client.post("/v3/CreateBooking", json=create_request(feeds.entry("studio")))
    assert response.status_code == 200
    with pytest.raises(ProtoMismatch):
        parse_strict("CreateBookingResponse", response.data)
    assert (watch.problems, watch.checked["CreateBooking"]) == ([], 0)
