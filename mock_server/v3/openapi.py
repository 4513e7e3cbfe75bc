"""The /v3 operations in the OpenAPI document, from the same contract the gateway loads requests with.

The data plane is not a Flask view, so flask-smorest cannot document it from decorators: each operation is
added to smorest's apispec directly, with the request schema (contract.py), the answer schema
(responses.py) and an example, in the shape smorest gives its own operations.
"""

from __future__ import annotations

from werkzeug.routing import Rule

from . import contract, examples, responses
from .methods import METHODS

TAG = "Booking Server v3"
DESCRIPTION = (
    "Google Actions Center Booking Server API v3 (REST/JSON), with the Reservations Waitlists methods. Business "
    "failures are HTTP 200 with `booking_failure` (`waitlist_business_logic_failure`); int64 fields travel as strings."
)

# method -> (answer schema, request example, answer example)
_DOCS = {
    "BatchAvailabilityLookup": (
        responses.BatchAvailabilityLookupResponseSchema,
        examples.BAL_REQUEST,
        examples.BAL_RESPONSE,
    ),
    "CheckAvailability": (responses.CheckAvailabilityResponseSchema, examples.CHECK_REQUEST, examples.CHECK_RESPONSE),
    "CreateBooking": (responses.BookingResultSchema, examples.CREATE_REQUEST, examples.CREATE_RESPONSE),
    "UpdateBooking": (responses.BookingResultSchema, examples.UPDATE_REQUEST, examples.UPDATE_RESPONSE),
    "GetBookingStatus": (
        responses.GetBookingStatusResponseSchema,
        {"booking_id": "B0000001"},
        examples.STATUS_RESPONSE,
    ),
    "ListBookings": (responses.ListBookingsResponseSchema, {"user_id": "4242424242424242424"}, None),
    "SetMarketingPreference": (
        responses.SetMarketingPreferenceResponseSchema,
        examples.MARKETING_REQUEST,
        examples.MARKETING_RESPONSE,
    ),
    "BatchGetWaitEstimates": (
        responses.BatchGetWaitEstimatesResponseSchema,
        examples.WAIT_ESTIMATES_REQUEST,
        examples.WAIT_ESTIMATES_RESPONSE,
    ),
    "CreateWaitlistEntry": (
        responses.CreateWaitlistEntryResponseSchema,
        examples.WAITLIST_CREATE_REQUEST,
        {"waitlist_entry_id": "W0000001"},
    ),
    "GetWaitlistEntry": (
        responses.GetWaitlistEntryResponseSchema,
        {"waitlist_entry_id": "W0000001"},
        examples.WAITLIST_ENTRY_RESPONSE,
    ),
    "DeleteWaitlistEntry": (responses.EmptySchema, {"waitlist_entry_id": "W0000001"}, {}),
}
_DEFAULT_ERROR = {"$ref": "#/components/responses/DEFAULT_ERROR"}


def document(api) -> None:
    """Add the v3 tag and the operations of the methods served to the app's OpenAPI document (before any blueprint's
    tag). The documented methods answered 501 are left out: the document lists what the sandbox does.

    smorest's Flask plugin names a path from a werkzeug Rule, so each operation is given one (never routed).
    """
    spec = api.spec
    spec.tag({"name": TAG, "description": DESCRIPTION})
    spec.path(
        rule=Rule("/v3/HealthCheck"),
        operations={
            "get": {
                "responses": {
                    "200": {"description": "Serving. The body is ignored by Google; only the status counts."},
                    "default": _DEFAULT_ERROR,
                },
                "summary": METHODS["HealthCheck"].summary,
                "tags": [TAG],
            }
        },
    )
    for name, (answer, request_example, answer_example) in _DOCS.items():
        method = METHODS[name]
        ok = {
            "description": "OK",
            "content": {
                "application/json": {
                    "schema": answer,
                    **({"example": answer_example} if answer_example is not None else {}),
                }
            },
        }
        spec.path(
            rule=Rule(f"/v3/{name}"),
            operations={
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": method.request, "example": request_example}},
                    },
                    "responses": {
                        "400": {"$ref": "#/components/responses/BAD_REQUEST"},
                        "200": ok,
                        "default": _DEFAULT_ERROR,
                    },
                    "summary": method.summary,
                    "tags": [TAG],
                }
            },
        )


__all__ = ["contract", "document"]
