"""/feeds: the inventory in Actions Center feed format, reflecting live state."""

from __future__ import annotations

from flask import request
from flask_smorest import abort

from ...domain import feeds
from ...runtime import get_runtime
from ..common import Blueprint, json_response

blp = Blueprint(
    "Feeds",
    __name__,
    url_prefix="/feeds",
    description="Merchants, services and availability feeds, so a client can discover what to book.",
)


@blp.before_request
def _existing_tenant_only():
    # Feeds are open to anyone (a web page too): they show a tenant, they never create one.
    from flask import current_app

    from ...tenancy import ENVIRON_KEY, TENANTS_KEY

    name = request.environ.get(ENVIRON_KEY)
    if name is not None and current_app.extensions[TENANTS_KEY].find(name) is None:
        abort(404, message=f"no such tenant: {name!r} (its first /v3 or /_admin request creates it)")


def _feed(key: str, entries: list) -> dict:
    runtime = get_runtime()
    now = runtime.clock.now()
    return {"metadata": feeds.metadata(now, nonce=now), key: entries}


@blp.route("/merchants.json", methods=["GET"])
@blp.response(200, description="Merchant feed")
def merchants_feed():
    """Merchant feed."""
    return json_response(_feed("merchant", feeds.merchants(get_runtime().bookings.inventory)))


@blp.route("/services.json", methods=["GET"])
@blp.response(200, description="Service feed")
def services_feed():
    """Service feed."""
    return json_response(_feed("service", feeds.services(get_runtime().bookings.inventory)))


@blp.route("/availability.json", methods=["GET"])
@blp.response(200, description="Availability feed (live spots_open); `?merchant_id=` narrows it")
def availability_feed():
    """Availability feed of future slots."""
    runtime = get_runtime()
    merchant_id = request.args.get("merchant_id")
    if merchant_id is not None and merchant_id not in runtime.bookings.inventory.merchants:
        abort(404, message=f"unknown merchant_id {merchant_id!r}")
    entries = feeds.availability(runtime.bookings, runtime.clock.now(), merchant_id)
    return json_response(_feed("service_availability", entries))
