"""Payment rules: the price a CreateBooking may pay, what a payment token records, and the refund a cancel gives.

PaymentInformation is kept as the wire carries it (int64 as strings), so what is stored is what is answered.
"""

from __future__ import annotations

import hashlib

from .errors import BookingFailed
from .models import PREPAYMENT_PROVIDED, PREPAYMENT_REFUNDED, JsonObject, Service


def check_price(service: Service, payment: JsonObject | None) -> None:
    """PAYMENT_ERROR when the client's `payment_information.price` is not the service's price (amount and currency).

    Google's payments guide says the partner charges the amount of the services feed's price field, in the feed's
    currency (developers.google.com/actions-center/verticals/reservations/e2e/add-ons/add-payments/
    set-payment-types). BookingFailure.Cause has no price-specific value: PAYMENT_ERROR is the one its definition
    gives "to indicate a general payment related error, only if the error does not match to a specific payment
    error above" (…/e2e/reference/booking-server-api-rest/e2e-definitions/bookingfailure-definition).
    A service whose feed lists no price has nothing to check against.
    """
    price = (payment or {}).get("price")
    if not isinstance(price, dict) or not service.price_micros:
        return
    micros, currency = price.get("price_micros") or "0", price.get("currency_code") or ""
    # Loaded in wire form an int64 is a string of digits (v3/contract.py); a caller in Python may pass an int.
    sent = micros if type(micros) is int else int(micros) if isinstance(micros, str) and micros.isdigit() else None
    if sent != service.price_micros or currency != service.currency_code:
        raise BookingFailed(
            "PAYMENT_ERROR",
            f"price {micros} {currency or '(no currency)'} does not match the service's price "
            f"{service.price_micros} {service.currency_code}",
        )


def transaction_id(idempotency_token: str) -> str:
    """The mock processor's transaction id for the charge a booking request made: stable, so a retry answers it."""
    return "txn-" + hashlib.sha256(idempotency_token.encode()).hexdigest()[:16]


def paid_by_token(service: Service, payment: JsonObject | None, idempotency_token: str) -> JsonObject:
    """The PaymentInformation of a booking a payment token paid: the client's, with the charge recorded.

    prepayment_status PREPAYMENT_PROVIDED, the charge's payment_transaction_id, and the price charged (the
    service's, when the client sent none).
    """
    out: JsonObject = dict(payment or {})
    out["prepayment_status"] = PREPAYMENT_PROVIDED
    out["payment_transaction_id"] = transaction_id(idempotency_token)
    if "price" not in out and service.price_micros:
        out["price"] = {"price_micros": str(service.price_micros), "currency_code": service.currency_code}
    return out


def refund_percent(service: Service, seconds_before_start: int) -> int:
    """The share of a prepayment a cancel this long before the start gets back, per the service's refund conditions.

    Each condition is Google's RefundCondition (SchedulingRules.cancellation_policy in the Maps Booking API):
    `refund_percent` is refunded when the booking is cancelled at least `min_duration_before_start_sec` before the
    start; several make steps, and the best one met applies. No condition: not refundable (refund_percent's default
    is 0, "the service is not refundable").
    """
    met = [
        int(c.get("refund_percent", 0))
        for c in service.refund_conditions
        if seconds_before_start >= int(c.get("min_duration_before_start_sec", 0))
    ]
    return max(met, default=0)


def after_cancel(service: Service, payment: JsonObject | None, seconds_before_start: int) -> JsonObject | None:
    """The PaymentInformation once the booking is cancelled: PREPAYMENT_REFUNDED when prepaid and the rule refunds.

    A partial refund is PREPAYMENT_REFUNDED too: PrepaymentStatus has no partial state. Otherwise unchanged
    (PREPAYMENT_PROVIDED stays: the merchant keeps the payment).
    """
    if not payment or payment.get("prepayment_status") != PREPAYMENT_PROVIDED:
        return payment
    if refund_percent(service, seconds_before_start) <= 0:
        return payment
    return {**payment, "prepayment_status": PREPAYMENT_REFUNDED}


def refunded(payment: JsonObject | None) -> JsonObject | None:
    """The PaymentInformation once the partner gives a prepayment back whole (its own cancel, a failure)."""
    if not payment or payment.get("prepayment_status") != PREPAYMENT_PROVIDED:
        return payment
    return {**payment, "prepayment_status": PREPAYMENT_REFUNDED}
