"""/feeds: the inventory in Actions Center feed format, reflecting live state."""

from __future__ import annotations

from flask import request
from flask_smorest import abort
from marshmallow import Schema, fields

from ...domain import feeds
from ...runtime import get_runtime
from ..common import Blueprint, json_response

blp = Blueprint(
    "Feeds",
    __name__,
    url_prefix="/feeds",
    description="Merchants, services and availability feeds, so a client can discover what to book.",
)


class FeedQuerySchema(Schema):
    """The query every feed takes."""

    merchant_id = fields.String(
        metadata={"description": "only this merchant's entries (404 for a merchant not in the inventory)"}
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


def _merchant(query: dict) -> str | None:
    """The merchant a feed is narrowed to (None: every merchant); 404 for one the inventory does not have."""
    merchant_id = query.get("merchant_id")
    if merchant_id is not None and merchant_id not in get_runtime().bookings.inventory.merchants:
        abort(404, message=f"unknown merchant_id {merchant_id!r}")
    return merchant_id


@blp.route("/merchants.json", methods=["GET"])
@blp.arguments(FeedQuerySchema, location="query")
@blp.response(200, description="Merchant feed; `?merchant_id=` narrows it")
def merchants_feed(query):
    """Merchant feed."""
    merchant_id = _merchant(query)
    return json_response(_feed("merchant", feeds.merchants(get_runtime().bookings.inventory, merchant_id)))


@blp.route("/services.json", methods=["GET"])
@blp.arguments(FeedQuerySchema, location="query")
@blp.response(200, description="Service feed; `?merchant_id=` narrows it")
def services_feed(query):
    """Service feed."""
    merchant_id = _merchant(query)
    return json_response(_feed("service", feeds.services(get_runtime().bookings.inventory, merchant_id)))


@blp.route("/availability.json", methods=["GET"])
@blp.arguments(FeedQuerySchema, location="query")
@blp.response(200, description="Availability feed (live spots_open); `?merchant_id=` narrows it")
def availability_feed(query):
    """Availability feed of future slots."""
    runtime = get_runtime()
    merchant_id = _merchant(query)
    entries = feeds.availability(runtime.bookings, runtime.clock.now(), merchant_id)
    return json_response(_feed("service_availability", entries))
