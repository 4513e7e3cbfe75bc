"""Fault admin blueprint (/_admin/faults, /_admin/scenarios)."""

from .routes import blp

__all__ = ["blp"]
