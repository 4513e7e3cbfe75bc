"""Dashboard access: the admin token traded for a server-side session cookie (or a Bearer header), CSRF checks."""

from __future__ import annotations

import hmac
import secrets

from flask import abort, current_app, g, redirect, request, url_for

from .. import auth
from ..guard import is_own_origin
from . import sessions
from .blueprint import BLUEPRINT_NAME, back, bp, cookie_path, is_local, render

SESSION_COOKIE = "rwg_ui_session"
CSRF_COOKIE = "rwg_ui_csrf"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = sessions.SESSION_SECONDS
PUBLIC_ENDPOINTS = frozenset({f"{BLUEPRINT_NAME}.static", f"{BLUEPRINT_NAME}.login"})


def signed_in(token: str) -> bool:
    """True when the request carries an open session cookie or `Authorization: Bearer <token>` (constant time)."""
    return sessions.store().valid(request.cookies.get(SESSION_COOKIE, "")) or auth.bearer_ok(token)


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
    token = current_app.extensions["mock_server"].settings.admin_token  # shared: no tenant made before the check
    if not token or signed_in(token):
        return None
    if request.method in ("GET", "HEAD") and request.accept_mimetypes.accept_html:
        here = request.script_root + request.full_path.rstrip("?")  # under a tenant's prefix too
        return redirect(url_for(f"{BLUEPRINT_NAME}.login", next=here), 303)
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
    """Trade the admin token for an HttpOnly, SameSite=Strict session cookie."""
    token = current_app.extensions["mock_server"].settings.admin_token  # shared: no tenant made before the check
    target = request.values.get("next", "")
    target = target if is_local(target) else url_for(f"{BLUEPRINT_NAME}.sandbox")
    if request.method == "GET":
        if not token or signed_in(token):
            return redirect(target, 303)
        return render("ui_login.html", next=target, error=None)
    sent = request.form.get("token", "")
    if not token:
        return redirect(target, 303)
    if not hmac.compare_digest(sent.encode(), token.encode()):
        return render("ui_login.html", 401, next=target, error="That is not the admin token (MOCK_ADMIN_TOKEN).")
    response = redirect(target, 303)
    response.set_cookie(
        SESSION_COOKIE,
        sessions.store().open(),
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
