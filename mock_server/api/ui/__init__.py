"""QA dashboard at /_admin/ui: server-rendered pages over the runtime, fault engine and recorder."""

from __future__ import annotations

from flask import Flask

from .blueprint import BLUEPRINT_NAME, bp

__all__ = ["BLUEPRINT_NAME", "bp", "install"]


def install(app: Flask) -> None:
    """Register the dashboard blueprint (call once per app, before the first request)."""
    from . import bookings, exchanges, faults, sandbox, security, waitlist  # noqa: F401  (they add their routes to bp)

    if BLUEPRINT_NAME not in app.blueprints:
        app.register_blueprint(bp)
