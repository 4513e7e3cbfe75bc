"""The dashboard blueprint and what every page shares: rendering, flash messages, redirects, headers."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import orjson
from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from ...runtime import get_runtime
from ...tenancy import TENANTS_KEY
from . import timefmt

BLUEPRINT_NAME = "dashboard"
PREFIX = "/_admin/ui"


def cookie_path() -> str:
    """The dashboard's cookie path: under a tenant's /t/{tenant}/ prefix, that tenant's dashboard only."""
    return request.script_root + PREFIX


FLASH_COOKIE = "rwg_ui_flash"

bp = Blueprint(
    BLUEPRINT_NAME,
    __name__,
    url_prefix=PREFIX,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

NAV = (
    ("dashboard.sandbox", "Sandbox"),
    ("dashboard.faults", "Faults"),
    ("dashboard.exchanges", "Exchanges"),
    ("dashboard.bookings", "Bookings"),
    ("dashboard.inventory", "Inventory"),
    ("dashboard.waitlist", "Waitlist"),
)

# Pages are self-contained: scripts and styles only from the sandbox, never framed, never cached.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

for name, function in (
    ("utc", timefmt.utc),
    ("local", timefmt.local),
    ("local_time", timefmt.local_time),
    ("duration", timefmt.duration),
    ("pretty", timefmt.pretty_json),
    ("ago", timefmt.ago),
):
    bp.add_app_template_filter(function, f"ui_{name}")


def extension(key: str):
    """The current tenant's fault engine or recording state (by the app extension key), None when not installed."""
    from ...faults import ENGINE_KEY
    from ...recording import STATE_KEY
    from ...tenancy import TENANTS_KEY, current_tenant

    if key not in current_app.extensions:
        return None
    if TENANTS_KEY in current_app.extensions and key in (ENGINE_KEY, STATE_KEY):
        tenant = current_tenant()
        return tenant.engine if key == ENGINE_KEY else tenant.recording
    return current_app.extensions[key]


def render(template: str, status: int = 200, **context):
    """Render a page with the shared context (nav, flash message, clock, CSRF token)."""
    from .security import csrf_token, guarded

    runtime = get_runtime()
    shared = {
        "nav": NAV,
        "flash": _take_flash(),
        "now_sec": runtime.clock.now(),
        "clock": runtime.clock.state(),
        "csrf_token": csrf_token(),
        "auth_on": guarded(),
        "tenant": runtime.tenant,
        "tenants": [tenant.name for tenant in current_app.extensions[TENANTS_KEY].all()],
    }
    return render_template(template, **{**shared, **context}), status


def fragment(template: str, **context) -> str:
    """Render a partial (live updates) with the same filters."""
    return render_template(template, now_sec=get_runtime().clock.now(), **context)


def flash(text: str, level: str = "info") -> None:
    """Show a message on the next page (a short-lived cookie: no server-side session needed)."""
    g.ui_flash = {"text": text[:2000], "level": level if level in ("info", "success", "error") else "info"}


def back(default_endpoint: str, **values):
    """303 to the `next` form field when it is a dashboard path, else to the endpoint."""
    target = request.form.get("next") or request.args.get("next") or ""
    if not is_local(target):
        target = url_for(default_endpoint, **values)
    return redirect(target, 303)


def is_local(target: str) -> bool:
    """True for a path inside the dashboard (never another host, never a scheme-relative URL, never a header break)."""
    # Control characters (CR/LF above all) would break the Location header; browsers also drop tabs and
    # newlines from URLs, so what reads as local here could be another host there.
    if not target.isprintable():
        return False
    parts = urlsplit(target)
    home = cookie_path()  # the dashboard of this request's tenant
    return (
        not parts.scheme
        and not parts.netloc
        and (parts.path == home or parts.path.startswith(home + "/"))
        and not target.startswith("//")
        and "\\" not in target
    )


@bp.after_request
def _finish(response):
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    if request.endpoint != f"{BLUEPRINT_NAME}.static":
        response.headers.setdefault("Cache-Control", "no-store")
    pending = g.pop("ui_flash", None)
    if pending is not None:
        value = base64.urlsafe_b64encode(orjson.dumps(pending)).decode()
        response.set_cookie(
            FLASH_COOKIE,
            value,
            max_age=60,
            path=cookie_path(),
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
        )
    elif g.pop("ui_flash_taken", False):
        response.delete_cookie(
            FLASH_COOKIE, path=cookie_path(), httponly=True, samesite="Strict", secure=request.is_secure
        )
    return response


def _take_flash() -> dict | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    g.ui_flash_taken = True
    try:
        message = orjson.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(message, dict) or not isinstance(message.get("text"), str):
        return None
    return {"text": message["text"], "level": message.get("level", "info")}


def _error_page(error):
    """Errors inside the dashboard answer as a page (or JSON to a script), not the API's JSON body."""
    status = getattr(error, "code", 500) or 500
    message = getattr(error, "description", None) or "error"
    if request.accept_mimetypes.best == "application/json" or not request.accept_mimetypes.accept_html:
        return {"code": status, "message": message}, status
    from .security import csrf_token, guarded

    return render_template(
        "ui_error.html",
        nav=NAV,
        status=status,
        message=message,
        flash=None,
        csrf_token=csrf_token(),
        auth_on=guarded(),
        clock=get_runtime().clock.state(),
    ), status


for _code in (400, 401, 403, 404, 405, 409, 413):
    bp.register_error_handler(_code, _error_page)
