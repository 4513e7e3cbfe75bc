"""Credentials: HTTP Basic for /v3 and a bearer token for /_admin, compared in constant time."""

from __future__ import annotations

import base64
import hmac

from flask import current_app, request
from flask_smorest import abort

REALM = 'Basic realm="booking-server", charset="UTF-8"'
NO_AUTH_WARNING = "no Basic auth sent (Google always sends it)"
BEARER_CHECKED = "mock_server.bearer_ok"  # in the WSGI environ: per request, even under a shared app context


def with_scheme(header: str, scheme: str) -> str:
    """The header with its auth-scheme word spelled `scheme` when it is that scheme in any case (RFC 7235)."""
    word, space, rest = header.partition(" ")
    # Only the scheme word is case-folded: the credentials after it are compared exactly, in constant time.
    return f"{scheme} {rest}" if space and word.lower() == scheme.lower() else header


def bearer_ok(token: str) -> bool:
    """True when `Authorization: Bearer <token>` is sent (compared once per request, in constant time)."""
    if not token:
        return False
    checked = request.environ.get(BEARER_CHECKED)
    if checked is None:
        sent = with_scheme(request.headers.get("Authorization", ""), "Bearer")
        checked = request.environ[BEARER_CHECKED] = hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    return checked


def check_bearer(token: str) -> None:
    """401 unless `Authorization: Bearer <token>` matches (when a token is configured)."""
    if token and not bearer_ok(token):
        abort(
            401,
            message="admin token required: Authorization: Bearer <MOCK_ADMIN_TOKEN>",
            headers={"WWW-Authenticate": 'Bearer realm="sandbox-admin"'},
        )


def admin_blueprint(name: str, import_name: str, url_prefix: str, description: str):
    """A control-plane blueprint: documented as such, and guarded by the admin token when one is set."""
    from .common import Blueprint

    blp = Blueprint(
        name,
        import_name,
        url_prefix=url_prefix,
        description=description + " Takes `Authorization: Bearer $MOCK_ADMIN_TOKEN` when that is set.",
    )

    @blp.before_request
    def _authorise():
        token = current_app.extensions["mock_server"].settings.admin_token  # shared: checked before any tenant is made
        tenant = request.environ.get("mock_server.tenant")  # tenancy.ENVIRON_KEY: the tenant a prefix names
        passwords = current_app.extensions["mock_server.tenants"].passwords  # tenancy.TENANTS_KEY
        if tenant in passwords:
            # A MOCK_TENANTS_FILE tenant's control plane: its own Basic credentials, or the admin token.
            if token and bearer_ok(token):
                return
            user, password = basic_credentials(request.headers.get("Authorization"))
            if user == tenant and hmac.compare_digest(password, passwords[tenant]):
                return
            abort(
                401,
                message=f"tenant {tenant!r}'s control plane takes its own Basic credentials "
                "(MOCK_TENANTS_FILE) or the admin token",
                headers={"WWW-Authenticate": REALM},
            )
        check_bearer(token)

    return blp


def basic_credentials(header: str | None) -> tuple[str, bytes]:
    """(username, password bytes) of a Basic Authorization header; ("", b"") when it is not one."""
    if header is None:
        return "", b""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", b""
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        return user.decode(), password
    except (ValueError, UnicodeDecodeError):
        return "", b""
