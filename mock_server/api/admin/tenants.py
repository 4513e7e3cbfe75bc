"""/_admin/tenants: the tenants one server holds, and forgetting one. Un-prefixed only: it sees every tenant."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import abort
from marshmallow import Schema, fields

from ...tenancy import ENVIRON_KEY, TENANTS_KEY, Tenant, Tenants
from .. import auth
from ..common import json_response
from .schemas import CountsSchema

blp = auth.admin_blueprint(
    "Tenants",
    __name__,
    "/_admin/tenants",
    "Tenants: many isolated sandboxes in one server, each under /t/{tenant}/ (un-prefixed paths are `default`).",
)


class TenantSchema(Schema):
    """One tenant: its name, sizes and clock, and when a request last named it."""

    name = fields.String(metadata={"example": "ci-1234"})
    counts = fields.Nested(CountsSchema)
    clock_sec = fields.Integer()
    last_used_sec = fields.Float()


class TenantListSchema(Schema):
    """Every tenant, the default first, and the cap."""

    tenants = fields.List(fields.Nested(TenantSchema))
    max_tenants = fields.Integer(metadata={"description": "MOCK_MAX_TENANTS"})
    tenant_idle_s = fields.Integer(metadata={"description": "MOCK_TENANT_IDLE_S (0: never evicted)"})
    evicted = fields.Integer(metadata={"description": "Tenants forgotten for being idle since the start"})


@blp.before_request
def _unprefixed_only():
    if request.environ.get(ENVIRON_KEY) is not None:
        abort(404, message="/_admin/tenants is served only without a /t/{tenant}/ prefix: it sees every tenant")


def _tenants() -> Tenants:
    return current_app.extensions[TENANTS_KEY]


def _describe(tenant: Tenant) -> dict:
    runtime = tenant.runtime
    return {
        "name": tenant.name,
        "counts": {**runtime.bookings.inventory.counts(), **runtime.bookings.counts()},
        "clock_sec": runtime.clock.now(),
        "last_used_sec": round(tenant.last_used, 3),
    }


@blp.route("", methods=["GET"])
@blp.response(200, TenantListSchema, description="Every tenant, the default first, then by name")
def list_tenants():
    """The tenants this server holds (created on first use of /t/{tenant}/), with sizes and last use."""
    tenants = _tenants()
    return json_response(
        {
            "tenants": [_describe(t) for t in tenants.all()],
            "max_tenants": tenants.limit,
            "tenant_idle_s": tenants.idle_s,
            "evicted": tenants.evicted,
        }
    )


@blp.route("/<name>", methods=["DELETE"])
@blp.response(204, description="Forgotten: the next request naming it starts it afresh")
def delete_tenant(name: str):
    """Forget a tenant and everything it holds (the default tenant is emptied with POST /_admin/reset instead)."""
    if name == "default":
        abort(409, message="the default tenant is not deleted; POST /_admin/reset empties it")
    if not _tenants().remove(name):
        abort(404, message=f"no such tenant: {name!r}")
    return "", 204
