"""Request/response examples for the OpenAPI document, after the spec's dining samples (§9)."""

_SLOT_TIME = {
    "service_id": "dinner",
    "start_sec": "1767279600",
    "duration_sec": "5400",
    "resource_ids": {"party_size": 2},
}
_SLOT = {
    "merchant_id": "dining-001",
    "service_id": "dinner",
    "start_sec": "1767279600",
    "duration_sec": "5400",
    "resources": {"party_size": 2},
    "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS",
}
_USER = {
    "user_id": "4242424242424242424",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "telephone": "+1 555-010-0101",
    "email": "ada@example.com",
}
_PAYMENT = {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"}
_BOOKING = {
    "booking_id": "B0000001",
    "slot": _SLOT,
    "user_information": _USER,
    "payment_information": _PAYMENT,
    "status": "CONFIRMED",
}

BAL_REQUEST = {
    "merchant_id": "dining-001",
    "slot_time": [_SLOT_TIME, {**_SLOT_TIME, "resource_ids": {"party_size": 6}}],
}
# The answer adds each slot's confirmation_mode from inventory, as Google's slot-click sample shows.
_ANSWERED = {**_SLOT_TIME, "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS"}
BAL_RESPONSE = {
    "slot_time_availability": [
        {"slot_time": _ANSWERED, "available": True},
        {"slot_time": {**_ANSWERED, "resource_ids": {"party_size": 6}}, "available": False},
    ]
}
CHECK_REQUEST = {"slot": _SLOT}
CHECK_RESPONSE = {"slot": _SLOT, "count_available": 3}
CREATE_REQUEST = {
    "slot": _SLOT,
    "user_information": _USER,
    "payment_information": _PAYMENT,
    "idempotency_token": "7700112233445566778",
}
CREATE_RESPONSE = {"booking": _BOOKING}
UPDATE_REQUEST = {"booking": {"booking_id": "B0000001", "slot": {"start_sec": "1767286800", "duration_sec": "5400"}}}
UPDATE_RESPONSE = {"booking": {**_BOOKING, "slot": {**_SLOT, "start_sec": "1767286800"}}}
STATUS_RESPONSE = {
    "booking_id": "B0000001",
    "booking_status": "CONFIRMED",
    "prepayment_status": "PREPAYMENT_NOT_PROVIDED",
}
MARKETING_REQUEST = {"user_information": _USER, "user_to_receive_marketing": True}
MARKETING_RESPONSE = MARKETING_REQUEST  # kept, and echoed

WAIT_ESTIMATES_REQUEST = {"merchant_id": "dining-001", "service_id": "dinner", "party_size": [2, 3, 9]}
WAIT_ESTIMATES_RESPONSE = {
    "waitlist_status": "OPEN",
    "wait_estimate": [
        {"party_size": 2, "wait_length": {}, "waitlist_confirmation_mode": "WAITLIST_CONFIRMATION_MODE_SYNCHRONOUS"},
        {
            "party_size": 3,
            "wait_length": {
                "parties_ahead_count": 3,
                "estimated_seat_time_range": {"start_seconds": "1767343200", "end_seconds": "1767344160"},
            },
            "waitlist_confirmation_mode": "WAITLIST_CONFIRMATION_MODE_SYNCHRONOUS",
        },
    ],
}
WAITLIST_CREATE_REQUEST = {
    "merchant_id": "dining-001",
    "service_id": "dinner",
    "party_size": 3,
    "user_information": {"user_id": "4242", "given_name": "Ada", "family_name": "Lovelace", "telephone": "+1 555-0100"},
    "idempotency_token": "wl-token-1",
}
WAITLIST_ENTRY_RESPONSE = {
    "waitlist_entry": {
        "waitlist_entry_state": "WAITING",
        "waitlist_entry_state_times": {"created_time_seconds": "1767340800"},
        "wait_estimate": WAIT_ESTIMATES_RESPONSE["wait_estimate"][1],
    }
}
