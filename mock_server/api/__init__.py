"""HTTP layer: blueprints registered in a fixed order."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    """Register every blueprint (imported here so the app factory stays the only entry)."""
    from . import admin, feeds
    from .admin import tenants

    for module in (feeds, admin, tenants):
        api.register_blueprint(module.blp)
