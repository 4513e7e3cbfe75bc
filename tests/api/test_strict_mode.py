"""Strict mode (PATCH /_admin/settings {"strict": true}): what the lenient loader ignores with a warning is a 400
naming it; and the proto3 JSON forms both modes accept (integer enums, int32 strings, int64 in exponent form)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mock_server.v3.methods import METHODS
from tests.helpers import book, create_body, find_slot, keep_exchange_notes, slot_json, slot_time_json, user

HINT = " (strict mode; see /_admin/settings)"


@pytest.fixture
def notes(app):
    return keep_exchange_notes(app)


def served(notes: list[dict]) -> list[str]:
    """The last exchange's warnings but the one about Basic auth (these tests send none)."""
    return [w for w in notes[-1].get("warnings", []) if not w.startswith("no Basic auth")]


def strict(client, on: bool = True) -> None:
    assert client.patch("/_admin/settings", json={"strict": on}).status_code == 200


def unknown_400(paths: list[str]) -> dict:
    """The whole strict-mode answer for these unknown fields."""
    return {
        "code": 400,
        "status": "Bad Request",
        "message": "invalid request: " + "; ".join(f"{p}: unknown field{HINT}" for p in paths),
        "errors": {"json": {p: ["Unknown field."] for p in paths}},
    }


def tagged_slot(runtime, service_id: str | None = None):
    return next(
        s
        for s in runtime.bookings.inventory.slots()
        if s.availability_tag and s.start_sec > 1767300000 and service_id in (None, s.service_id)
    )


def unknown_field_cases(runtime, client) -> list[tuple[str, dict, list[str]]]:
    """(method, body with unknown fields, their paths): one per position of each message."""
    slot = find_slot(runtime, vertical="dining")
    booked = book(client, find_slot(runtime, vertical="dining", skip=3))
    lookup = {"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot), slot_time_json(slot)]}
    lookup["slot_time"][0]["resources"] = {"party_size": 2}  # Slot's name for it, not SlotTime's resource_ids
    create_slot = create_body(slot)
    create_slot["slot"]["resources"]["seats"] = 2
    create_user = create_body(slot, user_information={**user(), "phone": "+1 555"})
    create_payment = create_body(
        slot, payment_information={"prepayment_status": "PREPAYMENT_NOT_PROVIDED", "amount": 1}
    )
    return [
        ("BatchAvailabilityLookup", lookup, ["slot_time[0].resources"]),
        ("CreateBooking", create_slot, ["slot.resources.seats"]),
        ("CreateBooking", create_user, ["user_information.phone"]),
        ("CreateBooking", create_payment, ["payment_information.amount"]),
        (
            "UpdateBooking",
            {"booking": {"booking_id": booked["booking_id"], "slot": {"startTime": "1", "start_sec": "1"}}},
            ["booking.slot.startTime"],
        ),
        ("GetBookingStatus", {"booking_id": booked["booking_id"], "merchant_id": "dining-001"}, ["merchant_id"]),
        ("ListBookings", {"user_id": "1", "pageSize": 10, "page_token": "p2"}, ["pageSize", "page_token"]),
        ("CheckAvailability", {"slot": {**slot_json(slot), "resource_ids": {"party_size": 2}}}, ["slot.resource_ids"]),
        (
            "SetMarketingPreference",
            {"user_information": {**user(), "mail": "a@example.com"}, "user_to_receive_marketing": True, "email": ""},
            ["user_information.mail", "email"],
        ),
        (
            "BatchGetWaitEstimates",
            {"merchant_id": "dining-001", "service_id": "dinner", "party_size": [2], "party_sizes": [2]},
            ["party_sizes"],
        ),
        (
            "CreateWaitlistEntry",
            {
                "merchant_id": "dining-001",
                "service_id": "dinner",
                "party_size": 2,
                "idempotency_token": "strict-1",
                "user_information": {**user(), "phone": "+1 555"},
                "additionalRequest": "window",
                "additional_requests": "none",
            },
            ["user_information.phone", "additional_requests"],
        ),
        ("GetWaitlistEntry", {"waitlist_entry_id": "W0000001", "merchant_id": "dining-001"}, ["merchant_id"]),
        ("DeleteWaitlistEntry", {"waitlistEntryId": "W0000001", "entry_id": "W0000001"}, ["entry_id"]),
    ]


def test_every_method_with_a_request_body_has_an_unknown_field_case(client, runtime):
    with_bodies = {name for name, method in METHODS.items() if method.request is not None}
    assert {method for method, _, _ in unknown_field_cases(runtime, client)} == with_bodies


def test_strict_mode_names_every_unknown_field_by_its_path(client, runtime):
    strict(client)
    for method, body, paths in unknown_field_cases(runtime, client):
        answer = client.post(f"/v3/{method}", json=body)
        assert (method, answer.status_code, answer.get_json()) == (method, 400, unknown_400(paths))


def test_lenient_mode_serves_the_same_bodies_and_notes_each_unknown_field(client, runtime, notes):
    for method, body, paths in unknown_field_cases(runtime, client):
        answer = client.post(f"/v3/{method}", json=body)
        assert answer.status_code in (200, 400, 404), method  # the method's own answer, whatever it is
        leaves = [p.rsplit(".", 1)[-1].rsplit("]", 1)[-1] for p in paths]
        assert sorted(f"unknown field ignored: {leaf}" for leaf in leaves) == sorted(
            w for w in notes[-1].get("warnings", []) if w.startswith("unknown field")
        ), method


def test_a_null_unknown_field_counts_in_strict_mode_as_protobuf_counts_it(client):
    strict(client)
    answer = client.post("/v3/ListBookings", json={"user_id": "1", "page_token": None})
    assert (answer.status_code, answer.get_json()) == (400, unknown_400(["page_token"]))


def test_an_unknown_field_named_in_camel_case_is_known(client, runtime):
    strict(client)
    slot = find_slot(runtime, vertical="dining")
    body = {"merchantId": slot.merchant_id, "slotTime": [{**slot_time_json(slot)}]}
    body["slotTime"][0]["resourceIds"] = body["slotTime"][0].pop("resource_ids")
    assert client.post("/v3/BatchAvailabilityLookup", json=body).status_code == 200


def test_strict_mode_refuses_a_staff_change_that_lenient_mode_ignores_with_a_warning(client, runtime, notes):
    slot = find_slot(runtime, vertical="appointments")
    booking = book(client, slot)
    change = {"booking": {"booking_id": booking["booking_id"], "slot": {"resources": {"staff_id": "someone-else"}}}}
    answer = client.post("/v3/UpdateBooking", json=change)
    assert (answer.status_code, answer.get_json()) == (200, {"booking": booking})
    why = "booking.slot.resources.staff_id cannot be changed by UpdateBooking; cancel and book again"
    assert served(notes) == [f"{why}; ignored (strict mode would answer 400)"]
    strict(client)
    answer = client.post("/v3/UpdateBooking", json=change)
    assert (answer.status_code, answer.get_json()) == (
        400,
        {"code": 400, "status": "Bad Request", "message": f"invalid request: {why}{HINT}"},
    )


def test_a_whole_booking_echoed_back_changes_nothing_in_strict_mode_either(client, runtime, notes):
    booking = book(client, find_slot(runtime, vertical="classes"))
    strict(client)
    echoed = {**booking, "userInformation": {**booking.pop("user_information"), "language_code": None}}
    response = client.post("/v3/UpdateBooking", json={"update_mask": "status", "booking": echoed})
    assert (response.status_code, response.get_json()) == (200, {"booking": {**booking, "user_information": user()}})
    assert served(notes) == []


def test_strict_mode_refuses_user_information_in_an_update(client, runtime):
    booking = book(client, find_slot(runtime, vertical="appointments"))
    strict(client)
    change = {"booking": {"booking_id": booking["booking_id"], "status": "CONFIRMED", "user_information": user(2)}}
    answer = client.post("/v3/UpdateBooking", json=change)
    assert answer.status_code == 400
    assert answer.get_json()["message"] == (
        f"invalid request: booking.user_information is not changed by UpdateBooking{HINT}"
    )


def test_a_tag_or_mode_the_inventory_contradicts_is_a_400_in_strict_mode_and_a_warning_otherwise(
    client, runtime, notes
):
    slot = tagged_slot(runtime, "hiit")  # a prepaid class
    times = [
        slot_time_json(slot, availability_tag=slot.availability_tag),
        slot_time_json(slot, availability_tag="yoga@23:59"),
        slot_time_json(slot, confirmation_mode="CONFIRMATION_MODE_ASYNCHRONOUS"),
    ]
    body = {"merchant_id": slot.merchant_id, "slot_time": times}
    answer = client.post("/v3/BatchAvailabilityLookup", json=body)
    assert answer.status_code == 200
    assert served(notes) == [
        f"slot_time[1].availability_tag 'yoga@23:59' is not the inventory entry's tag ({slot.availability_tag!r}); "
        "ignored (strict mode would answer 400)",
        "slot_time[2].confirmation_mode CONFIRMATION_MODE_ASYNCHRONOUS is not the inventory entry's mode "
        "(CONFIRMATION_MODE_SYNCHRONOUS); ignored (strict mode would answer 400)",
    ]
    strict(client)
    answer = client.post("/v3/BatchAvailabilityLookup", json=body)
    assert (answer.status_code, answer.get_json()["message"]) == (
        400,
        f"invalid request: slot_time[1].availability_tag 'yoga@23:59' is not the inventory entry's tag "
        f"({slot.availability_tag!r}){HINT}",
    )
    create = create_body(slot)
    create["slot"]["confirmation_mode"] = "CONFIRMATION_MODE_ASYNCHRONOUS"
    answer = client.post("/v3/CreateBooking", json=create)
    assert answer.status_code == 400
    assert answer.get_json()["message"].startswith("invalid request: slot.confirmation_mode ")
    create["slot"]["confirmation_mode"] = "CONFIRMATION_MODE_SYNCHRONOUS"
    create["slot"]["availability_tag"] = slot.availability_tag
    # Agreeing claims are served (this HIIT class is prepaid: the domain's own PAYMENT_ERROR, not a 400).
    assert client.post("/v3/CreateBooking", json=create).get_json()["booking_failure"]["cause"] == "PAYMENT_ERROR"


def test_a_time_not_in_inventory_contradicts_nothing(client, runtime):
    strict(client)
    slot = tagged_slot(runtime)
    body = {
        "merchant_id": slot.merchant_id,
        "slot_time": [slot_time_json(slot, start_sec=str(slot.start_sec + 60), availability_tag="other")],
    }
    answer = client.post("/v3/BatchAvailabilityLookup", json=body)
    assert answer.status_code == 200
    assert answer.get_json()["slot_time_availability"][0]["available"] is False


@pytest.mark.parametrize("mode", [False, True])
def test_proto3_json_forms_protobuf_accepts_are_read_as_their_canonical_spelling(client, runtime, notes, mode):
    strict(client, mode)
    slot = find_slot(runtime, vertical="dining")
    canonical = {"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot)]}
    expected = client.post("/v3/BatchAvailabilityLookup", json=canonical).get_json()
    exponent = f"{Decimal(slot.start_sec).normalize():E}"  # e.g. 1.7673696E+9
    forms = [
        {"start_sec": exponent},
        {"start_sec": float(slot.start_sec)},
        {"duration_sec": f"{slot.duration_sec}.0"},
        {"resource_ids": {"party_size": str(slot.party_size)}},
        {"resource_ids": {"party_size": float(slot.party_size)}},
        {"confirmation_mode": 1},  # CONFIRMATION_MODE_SYNCHRONOUS by number
    ]
    for form in forms:
        body = {"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot, **form)]}
        answer = client.post("/v3/BatchAvailabilityLookup", json=body)
        assert (form, answer.status_code, answer.get_json()) == (form, 200, expected)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"start_sec": 1767369600.5}, "slot_time.0.start_sec: must be an int64 (a decimal string or an integer)"),
        ({"start_sec": "1.5e0"}, "slot_time.0.start_sec: must be an int64 (a decimal string or an integer)"),
        ({"start_sec": "1e30"}, "slot_time.0.start_sec: out of the int64 range"),
        ({"start_sec": "9" * 5000}, "slot_time.0.start_sec: out of the int64 range"),
        ({"resource_ids": {"party_size": "2.5"}}, "slot_time.0.resource_ids.party_size: must be an int32 (an integer)"),
        ({"resource_ids": {"party_size": True}}, "slot_time.0.resource_ids.party_size: must be an int32 (an integer)"),
        ({"confirmation_mode": 7}, "slot_time.0.confirmation_mode: Not a valid string."),
    ],
)
def test_numbers_that_are_not_whole_or_in_range_are_still_400s(client, runtime, form, message):
    slot = find_slot(runtime, vertical="dining")
    body = {"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot, **form)]}
    answer = client.post("/v3/BatchAvailabilityLookup", json=body)
    assert (answer.status_code, answer.get_json()["message"]) == (400, f"invalid request: {message}")


@pytest.mark.parametrize(
    ("method", "body", "path"),
    [
        ("BatchAvailabilityLookup", {"MerchantId": "dining-001", "slot_time": []}, "MerchantId"),
        ("GetBookingStatus", {"BookingId": "B0000001"}, "BookingId"),
        ("ListBookings", {"user_ID": "u1"}, "user_ID"),
    ],
)
def test_strict_mode_takes_a_fields_name_or_its_json_name_only(client, method, body, path):
    assert client.patch("/_admin/settings", json={"strict": True}).status_code == 200
    answer = client.post(f"/v3/{method}", json=body)
    assert answer.status_code == 400
    assert answer.get_json()["message"] == f"invalid request: {path}: unknown field (strict mode; see /_admin/settings)"


def test_a_booking_echoed_back_in_any_proto3_spelling_changes_nothing_in_strict_mode(client, runtime, notes):
    payment = {
        "prepayment_status": "PREPAYMENT_NOT_PROVIDED",
        "deposit": {"min_advance_cancellation_sec": "0", "deposit_type": "FIXED_RATE_DEFAULT"},
    }
    booking = book(client, find_slot(runtime, vertical="classes"), payment_information=payment, offer_id="spring")
    assert booking["offer_info"] == {"offer_id": "spring"}
    strict(client)
    # As a client would echo it: an enum by number, an int64 as a number, defaults left out or spelled otherwise.
    echoed = {
        **booking,
        "payment_information": {"prepaymentStatus": 2, "deposit": {"min_advance_cancellation_sec": 0}},
        "virtual_session_info": {},
    }
    response = client.post("/v3/UpdateBooking", json={"booking": {**echoed, "status": "CONFIRMED"}})
    assert (response.status_code, response.get_json()) == (200, {"booking": booking})
    assert served(notes) == ["int64 field min_advance_cancellation_sec sent as a JSON number (Google sends strings)"]
    other_offer = {**echoed, "offer_info": {"offer_id": "autumn"}}
    response = client.post("/v3/UpdateBooking", json={"booking": other_offer})
    assert (response.status_code, response.get_json()["message"]) == (
        400,
        f"invalid request: booking.offer_info is not changed by UpdateBooking{HINT}",
    )
