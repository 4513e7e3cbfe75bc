"""Response profiles (PATCH /_admin/settings {"response_profile": ...}): every method's answers, in every profile,
parse strictly as the v3 messages and are exactly the canonical answer printed another way.

The same calls go to two tenants, one canonical and one in the profile under test: both start alike (ids, tokens,
charges), so each answer of the second must be the first's as protobuf would print it (MessageToDict omits every
default: that is `minimal`; `numbers` is the canonical answer with each int64 a JSON number).
"""

from __future__ import annotations

import orjson
import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from tests.helpers import create_body, find_slot, journal_file, slot_time_json, user
from tests.proto_support import _INT64, canonical_form_problems, message_class, parse_strict

PROFILES = ["canonical", "minimal", "numbers"]
TOKEN = {"unparsed_payment_method_token": "tok_visa"}


@pytest.fixture(autouse=True)
def watch(strict_answers):
    return strict_answers


def calls(runtime) -> list[tuple[str, dict | None]]:
    """Every method, with answers that carry defaults: an unavailable slot, a failure, an empty list, a false."""
    now = runtime.clock.now()
    dining = find_slot(runtime, vertical="dining")
    prepaid = next(
        s for s in runtime.bookings.inventory.slots() if s.service_id == "color" and s.start_sec > now + 259200
    )
    later = next(
        s
        for s in runtime.bookings.inventory.slots()
        if (s.merchant_id, s.service_id, s.duration_sec, s.party_size)
        == (dining.merchant_id, dining.service_id, dining.duration_sec, dining.party_size)
        and s.start_sec > dining.start_sec
    )
    gone = slot_time_json(dining, start_sec=str(dining.start_sec + 60))
    return [
        ("HealthCheck", None),
        ("BatchAvailabilityLookup", {"merchant_id": dining.merchant_id, "slot_time": [slot_time_json(dining), gone]}),
        ("CheckAvailability", {"slot": create_body(dining)["slot"]}),
        ("CreateBooking", create_body(dining, token="p-1")),  # B0000001
        ("CreateBooking", create_body(prepaid, user_n=2, token="p-2", payment_processing_parameters=TOKEN)),  # B0000002
        ("CreateBooking", create_body(prepaid, user_n=3, token="p-3")),  # PAYMENT_ERROR: a failure, no booking
        (
            "UpdateBooking",
            {
                "booking": {
                    "booking_id": "B0000001",
                    "slot": {"start_sec": str(later.start_sec), "duration_sec": str(later.duration_sec)},
                }
            },
        ),
        ("GetBookingStatus", {"booking_id": "B0000002"}),
        ("ListBookings", {"user_id": user(2)["user_id"]}),
        ("ListBookings", {"user_id": "nobody"}),
        ("UpdateBooking", {"booking": {"booking_id": "B0000002", "status": "CANCELED"}}),
        ("SetMarketingPreference", {"user_information": user(1), "user_to_receive_marketing": True}),
        ("SetMarketingPreference", {"user_information": user(2), "user_to_receive_marketing": False}),
    ]


def answers(client, tenant: str, runtime) -> list[tuple[str, dict]]:
    out = []
    for method, body in calls(runtime):
        path = f"/t/{tenant}/v3/{method}"
        response = client.get(path) if body is None else client.post(path, json=body)
        assert response.status_code == 200, (method, response.get_json())
        out.append((method, response.get_json()))
    return out


def int64_as_numbers(descriptor: Descriptor, value: dict) -> dict:
    """A canonical answer with each int64 field a JSON number (walked along the message)."""
    out = {}
    for key, item in value.items():
        field = descriptor.fields_by_name[key]
        items = item if field.is_repeated else [item]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            items = [int64_as_numbers(field.message_type, each) for each in items]
        elif field.type in _INT64:
            items = [int(each) for each in items]
        out[key] = items if field.is_repeated else items[0]
    return out


def expected(method: str, body: dict | None, canonical: dict, profile: str) -> dict:
    if profile == "canonical":
        return canonical
    name = f"{method}Response"
    if profile == "numbers":
        return int64_as_numbers(message_class(name).DESCRIPTOR, canonical)
    if method == "UpdateBooking" and body["booking"].get("status") == "CANCELED":  # as Google's cancel sample
        return {"booking": {"booking_id": canonical["booking"]["booking_id"], "status": "CANCELED"}}
    return json_format.MessageToDict(parse_strict(name, canonical), preserving_proto_field_name=True)


@pytest.mark.parametrize("profile", PROFILES)
def test_every_answer_in_every_profile_is_the_canonical_one_printed_that_way(client, runtime, watch, profile):
    assert client.patch("/t/p/_admin/settings", json={"response_profile": profile}).status_code == 200
    canonical = answers(client, "c", runtime)
    shaped = answers(client, "p", runtime)
    for (method, body), (_, want), (_, got) in zip(calls(runtime), canonical, shaped, strict=True):
        assert got == expected(method, body, want, profile), method
        parse_strict(f"{method}Response", got)  # json_format takes int64 as numbers too
        if profile != "numbers":
            assert canonical_form_problems(f"{method}Response", got) == [], method
    assert set(watch.checked) == {method for method, _ in calls(runtime)}


def test_minimal_omits_what_canonical_prints_at_its_default(client, runtime):
    client.patch("/_admin/settings", json={"response_profile": "minimal"})
    answered = dict(enumerate(body for _, body in answers(client, "default", runtime)))
    assert answered[1]["slot_time_availability"][1] == {"slot_time": calls(runtime)[1][1]["slot_time"][1]}
    assert answered[1]["slot_time_availability"][0]["available"] is True
    assert answered[9] == {}  # ListBookings of nobody
    assert answered[10] == {"booking": {"booking_id": "B0000002", "status": "CANCELED"}}
    assert answered[12] == {"user_information": user(2)}


def test_numbers_prints_int64_as_json_numbers(client, runtime):
    client.patch("/_admin/settings", json={"response_profile": "numbers"})
    answered = [body for _, body in answers(client, "default", runtime)]
    slot = answered[6]["booking"]["slot"]  # the reschedule, as Google's UpdateBooking sample prints it
    assert type(slot["start_sec"]) is int and type(slot["duration_sec"]) is int
    assert answered[4]["booking"]["payment_information"]["price"] == {"price_micros": 95000000, "currency_code": "GBP"}


def test_errors_keep_their_shape_and_the_journal_records_the_answer_as_sent(app, client, runtime):
    client.patch("/_admin/settings", json={"response_profile": "minimal"})
    answer = client.post("/v3/GetBookingStatus", json={"booking_id": "B9"})
    assert answer.get_json() == {"code": 404, "status": "Not Found", "message": "unknown booking_id 'B9'"}
    slot = find_slot(runtime, vertical="dining")
    gone = slot_time_json(slot, start_sec=str(slot.start_sec + 60))
    sent = client.post("/v3/BatchAvailabilityLookup", json={"merchant_id": slot.merchant_id, "slot_time": [gone]})
    assert sent.get_json() == {"slot_time_availability": [{"slot_time": gone}]}
    line = orjson.loads(journal_file(app).read_bytes().splitlines()[-1])
    assert (line["response"]["body"], line["settings"]) == (
        sent.get_json(),
        {"strict": False, "response_profile": "minimal"},
    )


def test_a_journal_with_settings_replays_its_answers_as_recorded(tmp_path):
    from tests.replaying import make_app

    source = make_app(tmp_path, "source")
    client = source.test_client()
    client.patch("/_admin/settings", json={"strict": True, "response_profile": "numbers"})
    runtime = source.extensions["mock_server"]
    slot = find_slot(runtime, vertical="dining")
    body = {"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot)]}
    recorded = client.post("/v3/BatchAvailabilityLookup", json=body).get_json()
    assert type(recorded["slot_time_availability"][0]["slot_time"]["start_sec"]) is int
    mock = make_app(tmp_path, "mock", replay=str(journal_file(source)))
    assert mock.test_client().post("/v3/BatchAvailabilityLookup", json=body).get_json() == recorded
