"""Dashboard access: the admin token (or a MOCK_TENANTS_FILE tenant's own password) traded for a server-side session
cookie, or sent as a header; CSRF checks."""

from __future__ import annotations

import hmac
import secrets

from flask import abort, current_app, g, redirect, request, url_for

from ...runtime import DEFAULT_TENANT
from ...tenancy import ENVIRON_KEY, TENANTS_KEY
from .. import auth
from ..guard import is_own_origin
from . import sessions
from .blueprint import BLUEPRINT_NAME, back, bp, cookie_path, is_local, render

SESSION_COOKIE = "rwg_ui_session"
CSRF_COOKIE = "rwg_ui_csrf"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = sessions.SESSION_SECONDS
PUBLIC_ENDPOINTS = frozenset({f"{BLUEPRINT_NAME}.static", f"{BLUEPRINT_NAME}.login"})


def _admin_token() -> str:
    return current_app.extensions["mock_server"].settings.admin_token  # shared: no tenant made before the check


def _tenant() -> str:
    """The tenant this dashboard is for (its path prefix; the default tenant without one)."""
    return request.environ.get(ENVIRON_KEY) or DEFAULT_TENANT


def _tenant_password() -> bytes | None:
    """This dashboard's tenant's own password (MOCK_TENANTS_FILE); None when it has none."""
    return current_app.extensions[TENANTS_KEY].passwords.get(_tenant())


def guarded() -> bool:
    """Whether this dashboard asks for a sign-in: there is an admin token, or its tenant has its own password."""
    return bool(_admin_token()) or _tenant_password() is not None


def signed_in() -> bool:
    """An open session of this tenant's dashboard, `Authorization: Bearer <admin token>`, or (for a tenant with
    its own password) its Basic credentials, as its /_admin takes them; compared in constant time."""
    if sessions.store().valid(request.cookies.get(SESSION_COOKIE, ""), _tenant()) or auth.bearer_ok(_admin_token()):
        return True
    password = _tenant_password()
    if password is None:
        return False
    user, sent = auth.basic_credentials(request.headers.get("Authorization"))
    return hmac.compare_digest(sent, password) and user == _tenant()


def _opens(sent: bytes) -> bool:
    """Whether what the sign-in form sent is the admin token or this tenant's own password."""
    token, password = _admin_token(), _tenant_password()
    admin = bool(token) and hmac.compare_digest(sent, token.encode())
    return admin or (password is not None and hmac.compare_digest(sent, password))


def csrf_token() -> str:
    """This browser's CSRF token (a random cookie value echoed in every form: double submit)."""
    token = g.get("ui_csrf")
    if token is None:
        token = request.cookies.get(CSRF_COOKIE) or ""
        if len(token) < 32:
            token = secrets.token_urlsafe(32)
            g.ui_csrf_new = True
        g.ui_csrf = token
    return token


def _same_origin() -> bool:
    """A browser names the page a POST came from; it must be this server (absent: not a browser form)."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    return origin is None or is_own_origin(origin)


def _csrf_ok() -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.form.get(CSRF_FIELD, "")
    return bool(cookie) and len(cookie) >= 32 and hmac.compare_digest(cookie.encode(), sent.encode())


@bp.before_request
def _guard():
    if request.method == "POST":
        # SameSite=Strict keeps the cookies off cross-site requests; the token and Origin check say so twice.
        if not _same_origin():
            abort(403, description="cross-origin form posts are refused")
        if not _csrf_ok():
            abort(403, description="missing or stale CSRF token: reload the page and try again")
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not guarded() or signed_in():
        return None
    if request.method in ("GET", "HEAD") and request.accept_mimetypes.accept_html:
        here = request.script_root + request.full_path.rstrip("?")  # under a tenant's prefix too
        return redirect(url_for(f"{BLUEPRINT_NAME}.login", next=here), 303)
    if _tenant_password() is not None:
        abort(
            401,
            description=f"sign in at {request.script_root}/_admin/ui/login with tenant {_tenant()!r}'s password "
            "(MOCK_TENANTS_FILE) or the admin token, or send its Basic credentials",
        )
    abort(401, description="sign in at /_admin/ui/login, or send Authorization: Bearer <MOCK_ADMIN_TOKEN>")


@bp.after_request
def _set_csrf_cookie(response):
    if g.pop("ui_csrf_new", False):
        response.set_cookie(
            CSRF_COOKIE, g.ui_csrf, path=cookie_path(), httponly=True, samesite="Strict", secure=request.is_secure
        )
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Trade the admin token (or the tenant's own password) for an HttpOnly, SameSite=Strict session cookie."""
    target = request.values.get("next", "")
    target = target if is_local(target) else url_for(f"{BLUEPRINT_NAME}.sandbox")
    own_password = _tenant_password() is not None
    if request.method == "GET":
        if not guarded() or signed_in():
            return redirect(target, 303)
        return render("ui_login.html", next=target, error=None, own_password=own_password)
    if not guarded():
        return redirect(target, 303)
    if not _opens(request.form.get("token", "").encode()):
        error = (
            f"That is neither tenant {_tenant()!r}'s password (MOCK_TENANTS_FILE) nor the admin token."
            if own_password
            else "That is not the admin token (MOCK_ADMIN_TOKEN)."
        )
        return render("ui_login.html", 401, next=target, error=error, own_password=own_password)
    response = redirect(target, 303)
    response.set_cookie(
        SESSION_COOKIE,
        sessions.store().open(_tenant()),
        max_age=SESSION_SECONDS,
        path=cookie_path(),
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session on the server (a copy of the cookie opens nothing after this) and drop the cookie."""
    sessions.store().close(request.cookies.get(SESSION_COOKIE, ""))
    response = back(f"{BLUEPRINT_NAME}.login")
    response.delete_cookie(
        SESSION_COOKIE, path=cookie_path(), httponly=True, samesite="Strict", secure=request.is_secure
    )
    return response
