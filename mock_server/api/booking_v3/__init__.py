"""The Booking Server v3 blueprint."""

from .routes import blp

__all__ = ["blp"]
