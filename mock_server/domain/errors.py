"""Domain outcomes that are not a normal answer: business failures and invalid requests."""

from __future__ import annotations

from .models import JsonValue


class DomainError(Exception):
    """Base of every error the domain raises."""


class BookingFailed(DomainError):
    """A business failure: the API answers HTTP 200 with `booking_failure`."""

    def __init__(self, cause: str, description: str = "", **extra: JsonValue):
        super().__init__(f"{cause}: {description}" if description else cause)
        self.cause = cause
        self.description = description
        # Cause-specific fields the spec requires (rejected_card_type, payment_failure).
        self.extra = extra


class InvalidRequest(DomainError):
    """The request names something that does not exist or asks for the impossible (HTTP 400)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """An unknown booking (GetBookingStatus answers 404, UpdateBooking 400, per DESIGN.md)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class StoreFailed(DomainError):
    """The store could not make a change durable; nothing was changed (HTTP 507 when the disk is full, else 503)."""

    def __init__(self, message: str, disk_full: bool = False):
        super().__init__(message)
        self.message = message
        self.status = 507 if disk_full else 503
