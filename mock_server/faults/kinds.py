"""What each fault kind puts on the wire, before the method runs or in place of its answer."""

from __future__ import annotations

import base64
import hashlib

import orjson

from ..api.auth import REALM
from ..bodyread import error_payload
from ..v3.exchange import Exchange
from .drop import drop
from .engine import Effect

BROKEN_KINDS = frozenset({"malformed_json", "empty_response", "drop_connection"})

DESCRIPTIONS = {
    "SLOT_UNAVAILABLE": "the slot is no longer available",
    "SLOT_ALREADY_BOOKED_BY_USER": "this user already booked this slot",
    "LEASE_EXPIRED": "the lease has expired",
    "OUTSIDE_CANCELLATION_WINDOW": "too late to cancel under the merchant's cancellation policy",
    "PAYMENT_ERROR_CARD_TYPE_REJECTED": "this card type is not accepted",
    "PAYMENT_ERROR_CARD_DECLINED": "the card was declined",
    "PAYMENT_OPTION_NOT_VALID": "the payment option is not valid (used up or expired)",
    "PAYMENT_ERROR": "payment required: the payment could not be processed",
    "USER_CANNOT_USE_PAYMENT_OPTION": "this user cannot use this payment option",
    "BOOKING_ALREADY_CANCELLED": "this booking is already cancelled",
    "BOOKING_NOT_CANCELLABLE": "this booking cannot be cancelled",
    "OVERLAPPING_RESERVATION": "the user has another reservation too close to this time",
    "USER_OVER_BOOKING_LIMIT": "the user is over the booking limit",
    "DEAL_UNAVAILABLE": "the deal is not available for this slot",
    "PAYMENT_REQUIRES_3DS1": "the payment needs a 3-D Secure 1 challenge; retry after it",
    "OFFER_UNAVAILABLE": "the offer is not available for this slot",
}
HTTP_MESSAGES = {
    400: "invalid request",
    401: "missing or wrong credentials",
    403: "the caller is not permitted",
    404: "not found",
    409: "aborted: a concurrent change conflicted; retry",
    429: "resource exhausted: slow down",
    499: "the request was cancelled by the caller",
    500: "internal error",
    501: "not implemented",
    502: "bad gateway: the booking backend did not answer",
    503: "temporarily unavailable; retry with backoff",
    504: "deadline exceeded before the request completed",
}
# The first key of each method's answer: a body cut right after it is plausible and never valid JSON.
FIRST_KEY = {
    "BatchAvailabilityLookup": "slot_time_availability",
    "CheckAvailability": "slot",
    "CreateBooking": "booking",
    "UpdateBooking": "booking",
    "GetBookingStatus": "booking_id",
    "ListBookings": "bookings",
    "SetMarketingPreference": "user_information",
    "BatchGetWaitEstimates": "waitlist_status",
    "CreateWaitlistEntry": "waitlist_entry_id",
    "GetWaitlistEntry": "waitlist_entry",
    "HealthCheck": "status",
}


def runs_view(effect: Effect, method: str) -> bool:
    """True when the request is processed first and the fault then changes or replaces its answer."""
    kind = effect.kind
    if kind == "slot_taken":
        return method not in ("CreateBooking", "UpdateBooking")  # lookups answer, with the slots taken
    if kind == "timeout_after_commit":
        return True
    if kind in BROKEN_KINDS:
        return effect.params.get("commit", True)
    return False


def before_view(effect: Effect, method: str, hold, exchange: Exchange, token: str = "") -> None:
    """Answer in place of the method (which does not run)."""
    kind = effect.kind
    if kind in ("slot_taken", "payment_required", "booking_failure"):
        exchange.answer(200, {"booking_failure": booking_failure(effect, token)})
    elif kind == "waitlist_failure":
        exchange.answer(200, {"waitlist_business_logic_failure": waitlist_failure(effect)})
    elif kind == "http_error":
        http_error(effect, exchange)
    elif kind == "timeout":
        timeout(effect, hold, exchange)
    elif kind == "malformed_json":
        malformed(exchange, b'{"' + FIRST_KEY.get(method, "status").encode() + b'": ')
    elif kind == "empty_response":
        malformed(exchange, b"")
    elif kind == "drop_connection":
        drop(exchange)
    else:
        raise ValueError(f"{kind} does not replace the method's answer")


def after_view(effect: Effect, method: str, hold, exchange: Exchange) -> None:
    """Change or replace the method's answer."""
    kind = effect.kind
    exchange.touched = True
    if kind == "slot_taken":
        slots_taken(effect, method, exchange)
    elif kind == "timeout_after_commit":
        exchange.headers.clear()
        timeout(effect, hold, exchange)
    elif kind == "malformed_json":
        body = orjson.dumps(exchange.payload) if exchange.out is None else exchange.out
        malformed(exchange, body[: max(1, len(body) // 2)])  # any proper prefix of a JSON object is invalid
    elif kind == "empty_response":
        malformed(exchange, b"")
    elif kind == "drop_connection":
        drop(exchange)


def booking_failure(effect: Effect, token: str = "") -> dict:
    """A BookingFailure with the fields the spec requires for its cause."""
    cause = {"slot_taken": "SLOT_UNAVAILABLE", "payment_required": "PAYMENT_ERROR"}.get(effect.kind) or effect.params[
        "cause"
    ]
    out = {"cause": cause}
    if cause == "PAYMENT_ERROR_CARD_TYPE_REJECTED":
        out["rejected_card_type"] = effect.params.get("rejected_card_type", "VISA")
    if cause == "PAYMENT_REQUIRES_3DS1":
        out["payment_failure"] = {"threeds1_parameters": threeds1_parameters(effect, token)}
    description = effect.params.get("description") or DESCRIPTIONS.get(cause, cause)
    out["description"] = f"{description} (sandbox fault {effect.rule_id})"
    return out


def waitlist_failure(effect: Effect) -> dict:
    """A WaitlistBusinessLogicFailure of the rule's cause."""
    cause = effect.params["cause"]
    description = effect.params.get("description") or cause.lower().replace("_", " ")
    return {"cause": cause, "description": f"{description} (sandbox fault {effect.rule_id})"}


def threeds1_parameters(effect: Effect, token: str) -> dict:
    """Challenge parameters, stable for the same rule firing and idempotency token."""
    digest = hashlib.sha256(f"{effect.rule_id}:{effect.seq}:{token}".encode()).hexdigest()
    transaction_id = f"3ds1-{digest[:20]}"
    return {
        "acs_url": "https://acs.sandbox.example/3ds1/challenge",
        "pa_req": base64.b64encode(f"PaReq:{transaction_id}".encode()).decode(),
        "transaction_id": transaction_id,
        "md_merchant_data": base64.b64encode(f"MD:{digest[20:40]}".encode()).decode(),
    }


def http_error(effect: Effect, exchange: Exchange) -> None:
    """A protocol error with the sandbox's JSON error body and the headers that status carries."""
    status = effect.params["status"]
    headers = []
    if status == 401:
        headers.append(("WWW-Authenticate", REALM))
    if status == 429 or (status == 503 and "retry_after_s" in effect.params):
        headers.append(("Retry-After", str(effect.params.get("retry_after_s", 1))))
    message = effect.params.get("message") or f"{HTTP_MESSAGES[status]} (sandbox fault {effect.rule_id})"
    exchange.answer(status, error_payload(status, message), headers)


def timeout(effect: Effect, hold, exchange: Exchange) -> None:
    """Hold the request past the client's deadline (MOCK_TIMEOUT_MS at most), then 504."""
    held_ms = hold(effect.params.get("hold_ms"))
    message = f"deadline exceeded: held for {held_ms} ms (sandbox fault {effect.rule_id})"
    exchange.answer(504, error_payload(504, message))


def slots_taken(effect: Effect, method: str, exchange: Exchange) -> None:
    """Availability answers with the matching slots gone; other slots untouched."""
    body = exchange.payload
    if exchange.status != 200 or exchange.out is not None or type(body) is not dict:
        return
    if method == "CheckAvailability":
        body["count_available"] = 0
    else:
        service_id = effect.match.get("service_id")
        for entry in body.get("slot_time_availability", []):
            if service_id is None or entry.get("slot_time", {}).get("service_id") == service_id:
                entry["available"] = False


def malformed(exchange: Exchange, body: bytes) -> None:
    """HTTP 200, JSON content type, a body no JSON parser accepts (or none at all): it replaces the whole answer."""
    exchange.headers.clear()
    exchange.content_type = "application/json"
    exchange.answer(200, None, out=body)


def notification_failure(effect: Effect) -> tuple[int | None, dict | None]:
    """What a booking notification's attempt gets instead of the receiver's answer: (status, JSON body), or
    (None, None) when it times out."""
    if effect.params.get("timeout"):
        return None, None
    status = effect.params.get("status", 500)
    return status, error_payload(status, f"{HTTP_MESSAGES[status]} (sandbox fault {effect.rule_id})")
