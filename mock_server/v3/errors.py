"""The one table from what a /v3 method raised to what the client is answered."""

from __future__ import annotations

from ..domain.errors import BookingFailed, InvalidRequest, NotFound, StoreFailed
from ..domain.waitlist import WaitlistFailed
from .exchange import BodyRefused, Exchange
from .loader import RequestInvalid
from .wire import booking_failure, waitlist_failure

# A booking that never existed: GetBookingStatus says 404; UpdateBooking's v3 status table says 400 (and any
# other method naming an unknown merchant or service asks for the impossible: 400 too). An unknown waitlist entry is
# a 404 for both its methods (DeleteWaitlistEntry's page says so; GetWaitlistEntry is a read like GetBookingStatus).
NOT_FOUND_STATUS = {"GetBookingStatus": 404, "GetWaitlistEntry": 404, "DeleteWaitlistEntry": 404}


def answer_error(exchange: Exchange, exc: Exception) -> bool:
    """Answer what `exc` means for this method; False when it is not a contract outcome (a bug: the caller's 500)."""
    if isinstance(exc, BookingFailed):
        exchange.answer(200, {"booking_failure": booking_failure(exc)})  # business failures are HTTP 200
    elif isinstance(exc, WaitlistFailed):
        exchange.answer(200, {"waitlist_business_logic_failure": waitlist_failure(exc)})
    elif isinstance(exc, BodyRefused):
        exchange.fail(exc.status, exc.message)
    elif isinstance(exc, RequestInvalid):
        exchange.fail(400, exc.message, errors=exc.errors)
    elif isinstance(exc, InvalidRequest):
        exchange.fail(400, exc.message)
    elif isinstance(exc, NotFound):
        exchange.fail(NOT_FOUND_STATUS.get(exchange.rpc or "", 400), exc.message)
    elif isinstance(exc, StoreFailed):
        # A change the store could not keep was not made: 507 (disk full) or 503, never a success later.
        exchange.fail(exc.status, exc.message)
    else:
        return False
    return True
