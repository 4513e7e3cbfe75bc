"""Control-plane guard: /_admin and its dashboard answer this machine's scripts and the sandbox's own pages only.

Any web page can make a browser send "simple" requests: a `no-cors` fetch or a form post, with a text/plain, form or
missing Content-Type, and with that page's Origin. A page whose domain was re-pointed at 127.0.0.1 (DNS rebinding)
is even same-origin, but its Host header still names that domain. So, on every /_admin route:

- Host must name this machine: loopback, MOCK_HOST, or MOCK_ALLOWED_HOSTS (403 otherwise);
- an Origin header, when sent, must be this server's own (403 otherwise; curl and scripts send none);
- a write to a JSON endpoint that carries a body must say Content-Type: application/json, which a page can only
  send cross-origin after a CORS preflight the sandbox never grants (415 otherwise; an empty body needs no type).

A request carrying the admin token passes the Host and Origin checks: a hostile page cannot know the token.
/v3 and /feeds are not guarded: integrators reach them by any name.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from webargs.core import is_json

from ..runtime import EXTENSION_KEY
from . import auth
from .common import error_response

CONTROL_PREFIX = "/_admin"
DASHBOARD_BLUEPRINT = "dashboard"  # its form posts are checked by CSRF token instead (ui/security.py)
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def install(app: Flask) -> None:
    """Run the guard before every request (app-level hooks run before the blueprints' token checks)."""
    app.before_request(_guard)


def _guard():
    rule = request.url_rule
    if rule is None or not rule.rule.startswith(CONTROL_PREFIX):
        return None  # not the control plane, or a 404/405 that reaches nothing
    settings = current_app.extensions[EXTENSION_KEY].settings  # shared: no tenant is made before the checks pass
    refusal = _host_refusal(settings) or _origin_refusal()
    if refusal is not None and not auth.bearer_ok(settings.admin_token):
        return refusal
    if request.method not in READ_METHODS and request.blueprint != DASHBOARD_BLUEPRINT:
        return _content_type_refusal()
    return None


def host_name(host_header: str) -> str:
    """The name in a Host header: lower case, without port, brackets or a trailing dot."""
    value = host_header.strip().lower()
    if value.startswith("["):
        inside, closed, _ = value[1:].partition("]")
        value = inside if closed else ""  # "[::1" is no name at all
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    return value.removesuffix(".")


def is_loopback(name: str) -> bool:
    """localhost, *.localhost (RFC 6761), 127.0.0.0/8, ::1 and ::ffff:127.x."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def allowed_names(settings) -> frozenset[str]:
    """Names allowed besides loopback: MOCK_ALLOWED_HOSTS ("*": any), and MOCK_HOST unless it is a wildcard bind."""
    names = {host_name(entry) for entry in settings.allowed_hosts.split(",") if entry.strip()}
    return frozenset(names | ({host_name(settings.host)} - WILDCARD_BINDS))


def _host_refusal(settings):
    sent = request.headers.get("Host")
    if sent is None:
        return None  # HTTP/1.0 without Host: not a browser, which always names the host
    name = host_name(sent)
    names = allowed_names(settings)
    if "*" in names or is_loopback(name) or name in names:
        return None
    return error_response(
        403,
        f"Host {name!r} may not reach the control plane (/_admin): use localhost or "
        f"127.0.0.1, or add {name!r} to MOCK_ALLOWED_HOSTS (comma-separated; * for any)",
    )


def is_own_origin(url: str) -> bool:
    """Does an Origin (or a Referer: only its scheme and host:port count) name this server?"""
    return names_host(url, request.headers.get("Host", ""))


def names_host(url: str, host_header: str) -> bool:
    """Does an Origin or Referer URL name the server a request's Host header names?"""
    own = host_header.strip().lower()
    try:
        parts = urlsplit(url.strip().lower())
    except ValueError:  # "http://[x": not an origin this server has
        return False
    # Browsers write both the Origin's host:port and the Host header the same way (default port left out).
    return parts.scheme in ("http", "https") and bool(own) and parts.netloc == own


def _origin_refusal():
    origin = request.headers.get("Origin")
    if origin is None or is_own_origin(origin):
        return None
    return error_response(
        403,
        f"cross-origin request refused: Origin {origin!r} is not this server; "
        "the control plane answers its own pages and scripts (curl sends no Origin)",
    )


def _content_type_refusal():
    has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if not has_body:
        # `curl -X POST .../_admin/reset`, `curl -d ''`, .NET's empty StringContent: nothing to smuggle, whatever
        # the label. A page sending the same is refused by its Origin.
        return None
    mimetype = request.mimetype
    if is_json(mimetype):
        return None
    got = f"got {mimetype!r}" if mimetype else "a request body was sent without one"
    return error_response(415, f"Content-Type must be application/json: {got}")
