"""`GET /`: where to go from here, as a small HTML page for a browser and JSON for a client that asks for it."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template_string, request

from .. import __version__
from .common import json_response

bp = Blueprint("index", __name__)

# Paths under the tenant's prefix when the page is asked for under /t/{tenant}/ (the OpenAPI docs are global).
TENANT_LINKS = (
    ("dashboard", "/_admin/ui/", "QA dashboard: faults, exchanges, bookings, inventory, clock"),
    ("health", "/_admin/health", "readiness and counts"),
    ("merchants_feed", "/feeds/merchants.json", "merchants feed"),
    ("services_feed", "/feeds/services.json", "services feed (policies: prepayment, cancellation window)"),
    ("availability_feed", "/feeds/availability.json", "availability feed (live spots open)"),
    ("v3_health_check", "/v3/HealthCheck", "the Booking Server API v3 (POST /v3/<Method>)"),
)
GLOBAL_LINKS = (
    ("docs", "/docs", "interactive API docs (Swagger UI)"),
    ("redoc", "/redoc", "API reference (ReDoc)"),
    ("openapi", "/openapi.json", "the OpenAPI document"),
)

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Booking Server v3 sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Booking Server v3 sandbox</h1>
<p>A local, stateful sandbox of Google's Actions Center Booking Server API v3 (version {{ version }}).</p>
<ul>
{% for name, href, text in links %}  <li><a href="{{ href }}">{{ href }}</a> &mdash; {{ text }}</li>
{% endfor %}</ul>
</body>
</html>
"""


@bp.route("/", methods=["GET"])
def index():
    """The links a new user needs: HTML by default, JSON when the client prefers it (Accept)."""
    root = request.script_root  # "/t/{tenant}" under a tenant's prefix, else ""
    links = [(name, root + path, text) for name, path, text in TENANT_LINKS] + list(GLOBAL_LINKS)
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        return json_response(
            {
                "name": "Booking Server v3 sandbox",
                "version": __version__,
                "links": {name: {"href": href, "title": text} for name, href, text in links},
            }
        )
    return render_template_string(PAGE, version=__version__, links=links)


def install(app: Flask) -> None:
    """Serve the index page at / (and at /t/{tenant}/)."""
    app.register_blueprint(bp)
