"""A booking (v1alpha `notification.partners.bookings.patch`) and a waitlist entry
(`notification.partners.waitlistEntries.patch`) as the Maps Booking API's notifications take them.

Its JSON is lowerCamelCase, with RFC 3339 timestamps, "<n>s" durations and int64 as strings
(developers.google.com/maps-booking/reference/maps-booking-api/rest/v1alpha/notification.partners.bookings).
"""

from __future__ import annotations

import time

from ..domain.models import Booking
from ..domain.waitlist import Estimate, WaitlistEntry

# The booking fields a notification may change, in updateMask order ("status" first, as Google's cancel sample).
MASK_FIELDS = ("status", "startTime", "duration", "partySize", "paymentInformation.prepaymentStatus")
# The Maps Booking API's PostalAddress names its fields apart from v3's (the v1alpha Booking resource): an unknown
# field is a 400 there, so v3 names are renamed, never passed on as they are.
ADDRESS_FIELDS = {
    "country": "addressCountry",
    "locality": "addressLocality",
    "region": "addressRegion",
    "postal_code": "postalCode",
    "street_address": "streetAddress",
}


def booking_name(partner_id: str, booking_id: str) -> str:
    """The booking's resource name: partners/{partner_id}/bookings/{booking_id}."""
    return f"partners/{partner_id}/bookings/{booking_id}"


def booking_path(partner_id: str, booking_id: str) -> str:
    """Where its notification goes, under the notification base URL."""
    return f"/v1alpha/notification/{booking_name(partner_id, booking_id)}"


def booking_body(booking: Booking, partner_id: str) -> dict:
    """The whole Booking: name, merchantId, serviceId, startTime, duration, status, clientInformation,
    paymentInformation (when the booking has one) and partySize (when it names one)."""
    slot = booking.slot
    out: dict = {
        "name": booking_name(partner_id, booking.booking_id),
        "merchantId": slot.merchant_id,
        "serviceId": slot.service_id,
        "startTime": rfc3339(slot.start_sec),
    }
    held = booking.held  # what the booking holds says what the client's slot left open
    duration = slot.duration_sec if slot.duration_sec is not None else held.duration_sec if held else None
    if duration is not None:
        out["duration"] = f"{duration}s"
    out["clientInformation"] = client_information(booking)
    out["status"] = booking.status
    payment = payment_information(booking.payment_information)
    if payment:
        out["paymentInformation"] = payment
    party_size = slot.party_size or (held.party_size if held else 0)
    if party_size:
        out["partySize"] = str(party_size)
    return out


def client_information(booking: Booking) -> dict:
    """ClientInformation: the user's names, address, telephone and email (empty ones omitted)."""
    user = booking.user
    out: dict = {}
    if user.given_name:
        out["givenName"] = user.given_name
    if user.family_name:
        out["familyName"] = user.family_name
    address = {ADDRESS_FIELDS[key]: value for key, value in user.address if key in ADDRESS_FIELDS and value}
    if address:
        out["address"] = address
    if user.telephone:
        out["telephone"] = user.telephone
    if user.email:
        out["email"] = user.email
    return out


def payment_information(payment: dict | None) -> dict:
    """The Maps Booking API's PaymentInformation: prepaymentStatus and paymentTransactionId only (v3's price, fees,
    deposit... have no place in it)."""
    out: dict = {}
    if payment and payment.get("prepayment_status"):
        out["prepaymentStatus"] = payment["prepayment_status"]
    if payment and payment.get("payment_transaction_id"):
        out["paymentTransactionId"] = payment["payment_transaction_id"]
    return out


def update_mask(before: Booking | None, after: Booking) -> list[str]:
    """The notification's fields whose values differ between the two bookings, in MASK_FIELDS order."""
    if before is None:
        return list(MASK_FIELDS[:1])
    old, new = mask_values(before), mask_values(after)
    return [name for name in MASK_FIELDS if old[name] != new[name]]


def mask_values(booking: Booking) -> dict[str, object]:
    """Each MASK_FIELDS field's value in a booking's notification body."""
    body = booking_body(booking, "-")
    return {
        "status": body["status"],
        "startTime": body["startTime"],
        "duration": body.get("duration"),
        "partySize": body.get("partySize"),
        "paymentInformation.prepaymentStatus": booking.prepayment_status,
    }


def rfc3339(epoch_sec: int) -> str:
    """2026-01-01T10:00:00Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_sec))


# ---- waitlist entries (v1alpha `notification.partners.waitlistEntries.patch`) ----

# A waitlist entry's notification tells its new state and the times of the states reached.
WAITLIST_MASK = ("waitlistEntryState", "waitlistEntryStateTimes")
# WaitlistEntryStateTimes: v3's int64 seconds fields, as the Maps Booking API's Timestamp fields.
STATE_TIME_FIELDS = {
    "created_time_seconds": "createdTime",
    "canceled_time_seconds": "canceledTime",
    "service_readied_time_seconds": "serviceReadiedTime",
    "checked_in_time_seconds": "checkedInTime",
    "seated_time_seconds": "seatedTime",
    "marked_no_show_time_seconds": "markedNoShowTime",
}


def waitlist_entry_name(partner_id: str, entry_id: str) -> str:
    """The entry's resource name: partners/{partner_id}/waitlistEntries/{waitlist_entry_id}."""
    return f"partners/{partner_id}/waitlistEntries/{entry_id}"


def waitlist_entry_path(partner_id: str, entry_id: str) -> str:
    """Where its notification goes, under the notification base URL."""
    return f"/v1alpha/notification/{waitlist_entry_name(partner_id, entry_id)}"


def waitlist_entry_body(entry: WaitlistEntry, estimate: Estimate, partner_id: str, at: int) -> dict:
    """The whole WaitlistEntry as of second `at`: name, merchantId, serviceId, partySize, waitlistEntryState,
    waitlistEntryStateTimes (RFC 3339) and waitEstimate."""
    times = {STATE_TIME_FIELDS[key]: rfc3339(int(sec)) for key, sec in entry.state_times(at).items()}
    return {
        "name": waitlist_entry_name(partner_id, entry.entry_id),
        "merchantId": entry.merchant_id,
        "serviceId": entry.service_id,
        "partySize": entry.party_size,
        "waitlistEntryState": entry.state_at(at),
        "waitlistEntryStateTimes": times,
        "waitEstimate": wait_estimate(estimate),
    }


def wait_estimate(estimate: Estimate) -> dict:
    """The Maps Booking API's WaitEstimate: v3's, camelCase, with a TimeRange of timestamps (an empty waitLength
    when nobody is ahead and the table is ready, as v3's answer has it)."""
    length: dict[str, object] = {}
    if estimate.turn_sec:
        half = estimate.turn_sec // 2
        start = max(estimate.ready_sec - half, 0)
        if estimate.parties_ahead:
            length["partiesAheadCount"] = estimate.parties_ahead
        length["estimatedSeatTimeRange"] = {
            "startTime": rfc3339(start),
            "endTime": rfc3339(max(start, estimate.ready_sec + half)),
        }
    return {
        "partySize": estimate.party_size,
        "waitLength": length,
        "waitlistConfirmationMode": estimate.confirmation_mode,
    }
