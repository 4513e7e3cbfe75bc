"""What each fault kind puts on the wire, before the view runs or in place of its answer."""

from __future__ import annotations

import base64
import hashlib
from http import HTTPStatus

import orjson
from flask import Response

from ..api.auth import REALM
from ..api.common import json_response
from .drop import dropped_response
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
    400: "invalid request", 401: "missing or wrong credentials", 403: "the caller is not permitted",
    404: "not found", 409: "aborted: a concurrent change conflicted; retry", 429: "resource exhausted: slow down",
    499: "the request was cancelled by the caller", 500: "internal error", 501: "not implemented",
    502: "bad gateway: the booking backend did not answer", 503: "temporarily unavailable; retry with backoff",
    504: "deadline exceeded before the request completed",
}
# The first key of each method's answer: a body cut right after it is plausible and never valid JSON.
FIRST_KEY = {"BatchAvailabilityLookup": "slot_time_availability", "CheckAvailability": "slot",
             "CreateBooking": "booking", "UpdateBooking": "booking", "GetBookingStatus": "booking_id",
             "ListBookings": "bookings", "HealthCheck": "status"}


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


def before_view(effect: Effect, method: str, hold, environ: dict, token: str = "") -> Response:
    """The answer that replaces the view (which does not run)."""
    kind = effect.kind
    if kind in ("slot_taken", "payment_required", "booking_failure"):
        return json_response({"booking_failure": booking_failure(effect, token)})
    if kind == "http_error":
        return http_error(effect)
    if kind == "timeout":
        return timeout(effect, hold)
    if kind == "malformed_json":
        return malformed(b'{"' + FIRST_KEY.get(method, "status").encode() + b'": ')
    if kind == "empty_response":
        return empty()
    if kind == "drop_connection":
        return dropped_response(environ)
    raise ValueError(f"{kind} does not replace the view")


def after_view(effect: Effect, method: str, response: Response, hold, environ: dict) -> Response:
    """The view's answer, changed or replaced."""
    kind = effect.kind
    if kind == "slot_taken":
        return slots_taken(effect, method, response)
    if kind == "timeout_after_commit":
        return timeout(effect, hold)
    if kind == "malformed_json":
        body = response.get_data()
        return malformed(body[: max(1, len(body) // 2)])  # any proper prefix of a JSON object is invalid
    if kind == "empty_response":
        return empty()
    if kind == "drop_connection":
        return dropped_response(environ)
    return response


def booking_failure(effect: Effect, token: str = "") -> dict:
    """A BookingFailure with the fields the spec requires for its cause."""
    cause = {"slot_taken": "SLOT_UNAVAILABLE", "payment_required": "PAYMENT_ERROR"}.get(effect.kind) \
        or effect.params["cause"]
    out = {"cause": cause}
    if cause == "PAYMENT_ERROR_CARD_TYPE_REJECTED":
        out["rejected_card_type"] = effect.params.get("rejected_card_type", "VISA")
    if cause == "PAYMENT_REQUIRES_3DS1":
        out["payment_failure"] = {"threeds1_parameters": threeds1_parameters(effect, token)}
    description = effect.params.get("description") or DESCRIPTIONS.get(cause, cause)
    out["description"] = f"{description} (sandbox fault {effect.rule_id})"
    return out


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


def http_error(effect: Effect) -> Response:
    """A protocol error with the sandbox's JSON error body and the headers that status carries."""
    status = effect.params["status"]
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = REALM
    if status == 429 or (status == 503 and "retry_after_s" in effect.params):
        headers["Retry-After"] = str(effect.params.get("retry_after_s", 1))
    message = effect.params.get("message") or f"{HTTP_MESSAGES[status]} (sandbox fault {effect.rule_id})"
    return json_response({"code": status, "status": _phrase(status), "message": message}, status, headers)


def timeout(effect: Effect, hold) -> Response:
    """Hold the request past the client's deadline (MOCK_TIMEOUT_MS at most), then 504."""
    held_ms = hold(effect.params.get("hold_ms"))
    message = f"deadline exceeded: held for {held_ms} ms (sandbox fault {effect.rule_id})"
    return json_response({"code": 504, "status": _phrase(504), "message": message}, 504)


def slots_taken(effect: Effect, method: str, response: Response) -> Response:
    """Availability answers with the matching slots gone; other slots untouched."""
    if response.status_code != 200 or response.mimetype != "application/json":
        return response
    body = orjson.loads(response.get_data())
    if method == "CheckAvailability":
        body["count_available"] = 0
    else:
        service_id = effect.match.get("service_id")
        for entry in body.get("slot_time_availability", []):
            if service_id is None or entry.get("slot_time", {}).get("service_id") == service_id:
                entry["available"] = False
    response.set_data(orjson.dumps(body))
    return response


def malformed(body: bytes) -> Response:
    """HTTP 200, JSON content type, a body no JSON parser accepts."""
    return Response(body, status=200, mimetype="application/json")


def empty() -> Response:
    """HTTP 200 with a JSON content type and nothing in the body."""
    return Response(b"", status=200, mimetype="application/json")


def _phrase(status: int) -> str:
    return "Client Closed Request" if status == 499 else HTTPStatus(status).phrase
