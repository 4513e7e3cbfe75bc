"""/v3: the Booking Server API methods. Each view: load (schema) -> one domain call -> encode."""

from __future__ import annotations

from flask_smorest import abort

from ...domain.errors import BookingFailed, InvalidRequest, NotFound
from ...runtime import get_runtime
from ...v3 import answers, examples, responses, wire
from ...v3 import contract as schemas
from .. import auth
from ..common import Blueprint, error_response, json_response, note_warning

blp = Blueprint(
    "Booking Server v3", __name__, url_prefix="/v3",
    description="Google Actions Center Booking Server API v3 (REST/JSON). Business failures are "
                "HTTP 200 with `booking_failure`; int64 fields travel as strings.",
)


@blp.before_request
def _authenticate():
    auth.check_basic(get_runtime().basic_auth_header)


@blp.errorhandler(InvalidRequest)
def _invalid(exc: InvalidRequest):
    return error_response(400, exc.message)


@blp.route("/HealthCheck", methods=["GET"], strict_slashes=False)
@blp.response(200, description="Serving. The body is ignored by Google; only the status counts.")
def health_check():
    """HealthCheck: 200 while the server is serving."""
    return json_response({})


@blp.route("/BatchAvailabilityLookup", methods=["POST"], strict_slashes=False)
@blp.arguments(schemas.BatchAvailabilityLookupRequestSchema, example=examples.BAL_REQUEST)
@blp.response(200, responses.BatchAvailabilityLookupResponseSchema, example=examples.BAL_RESPONSE)
def batch_availability_lookup(req):
    """BatchAvailabilityLookup: live availability of each requested slot, in request order."""
    runtime = get_runtime()
    specs = req["specs"]
    if len(specs) > runtime.settings.max_slot_times:
        abort(400, message=f"too many slot_time entries: {len(specs)} > {runtime.settings.max_slot_times}")
    return json_response(answers.availability(runtime.bookings, req["merchant_id"], specs))


@blp.route("/CheckAvailability", methods=["POST"], strict_slashes=False)
@blp.arguments(schemas.CheckAvailabilityRequestSchema, example=examples.CHECK_REQUEST)
@blp.response(200, responses.CheckAvailabilityResponseSchema, example=examples.CHECK_RESPONSE)
def check_availability(req):
    """CheckAvailability (legacy, still used by Google's test client): open spots of one slot."""
    spec = req["slot"]
    count = get_runtime().bookings.count_available(spec)
    return json_response({"slot": wire.slot(spec), "count_available": count})


@blp.route("/CreateBooking", methods=["POST"], strict_slashes=False)
@blp.arguments(schemas.CreateBookingRequestSchema, example=examples.CREATE_REQUEST)
@blp.response(200, responses.BookingResultSchema, example=examples.CREATE_RESPONSE)
def create_booking(req):
    """CreateBooking: book a spot; idempotent on idempotency_token."""
    answer, warnings = answers.create(get_runtime().bookings, req)
    for warning in warnings:
        note_warning(warning)
    return json_response(answer)


@blp.route("/UpdateBooking", methods=["POST"], strict_slashes=False)
@blp.arguments(schemas.UpdateBookingRequestSchema, example=examples.UPDATE_REQUEST)
@blp.response(200, responses.BookingResultSchema, example=examples.UPDATE_RESPONSE)
def update_booking(req):
    """UpdateBooking: cancel (status CANCELED), reschedule (start/duration) or change the party size."""
    change = req["booking"]
    bookings = get_runtime().bookings
    try:
        current = bookings.get(change["booking_id"])
    except NotFound as exc:
        abort(400, message=exc.message)  # v3 status table: a booking that never existed is a bad request
    plan, changes = answers.plan_update(change, current)
    if plan == "cancel":
        if change.get("slot"):
            note_warning("UpdateBooking: slot ignored, status CANCELED cancels the booking")
        return json_response(answers.cancel(bookings, current.booking_id))
    try:
        outcome = bookings.modify(current.booking_id, *changes)
    except BookingFailed as exc:
        return json_response(answers.failure(exc))
    return json_response({"booking": wire.booking(outcome.booking)})


@blp.route("/GetBookingStatus", methods=["POST"], strict_slashes=False)
@blp.arguments(schemas.GetBookingStatusRequestSchema, example={"booking_id": "B0000001"})
@blp.response(200, responses.GetBookingStatusResponseSchema, example=examples.STATUS_RESPONSE)
def get_booking_status(req):
    """GetBookingStatus: status and prepayment status of a booking (unknown id: 404)."""
    try:
        booking = get_runtime().bookings.get(req["booking_id"])
    except NotFound as exc:
        abort(404, message=exc.message)
    return json_response({"booking_id": booking.booking_id, "booking_status": booking.status,
                          "prepayment_status": booking.prepayment_status})


@blp.route("/ListBookings", methods=["POST"], strict_slashes=False)
@blp.arguments(schemas.ListBookingsRequestSchema, example={"user_id": "4242424242424242424"})
@blp.response(200, responses.ListBookingsResponseSchema)
def list_bookings(req):
    """ListBookings: the user's future bookings that are not cancelled (unknown user: empty list)."""
    bookings = get_runtime().bookings.list_for_user(req["user_id"])
    return json_response({"bookings": [wire.booking(b) for b in bookings]})
