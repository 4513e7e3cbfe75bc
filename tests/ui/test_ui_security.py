"""Dashboard access: admin token login cookie, Bearer header, CSRF and Origin checks, headers, redirects."""

from __future__ import annotations

import base64

import pytest

from .client import PREFIX, csrf, flash, get, make_app, post, text

TOKEN = "s3cret-admin-token"


@pytest.fixture
def open_client(tmp_path):
    return make_app(tmp_path).test_client()


@pytest.fixture
def locked_client(tmp_path):
    return make_app(tmp_path, admin_token=TOKEN).test_client()


def test_without_a_token_the_pages_are_open(open_client):
    for path in ("/", "/faults", "/exchanges", "/bookings", "/inventory"):
        response = get(open_client, path)
        assert response.status_code == 200, path
        assert "<h1>" in response.get_data(as_text=True)
    assert get(open_client, "/login").headers["Location"] == PREFIX + "/"


def test_with_a_token_pages_send_the_browser_to_the_login_form(locked_client):
    response = get(locked_client, "/bookings?status=CONFIRMED")
    assert response.status_code == 303
    assert response.headers["Location"] == PREFIX + "/login?next=/_admin/ui/bookings?status%3DCONFIRMED"
    scripted = locked_client.get(PREFIX + "/exchanges/feed", headers={"Accept": "application/json"})
    assert (scripted.status_code, scripted.get_json()["code"]) == (401, 401)
    assert "sign in at /_admin/ui/login" in scripted.get_json()["message"]


def test_login_sets_an_httponly_strict_cookie_that_is_not_the_token(locked_client):
    login_page = get(locked_client, "/login?next=/_admin/ui/faults")
    assert login_page.status_code == 200 and 'type="password"' in login_page.get_data(as_text=True)

    wrong = post(locked_client, "/login", {"token": "guess", "next": "/_admin/ui/faults"}, follow=False)
    assert wrong.status_code == 401
    assert "That is not the admin token (MOCK_ADMIN_TOKEN)." in text(wrong)
    assert "rwg_ui_session" not in wrong.headers.get("Set-Cookie", "")

    right = post(locked_client, "/login", {"token": TOKEN, "next": "/_admin/ui/faults"}, follow=False)
    assert (right.status_code, right.headers["Location"]) == (303, "/_admin/ui/faults")
    cookie = right.headers["Set-Cookie"]
    assert cookie.startswith("rwg_ui_session=")
    assert len(locked_client.get_cookie("rwg_ui_session", path=PREFIX).value) >= 32
    assert TOKEN not in cookie  # a random session id (tests/ui/test_ui_session_guard.py)
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/_admin/ui"):
        assert attribute in cookie
    assert get(locked_client, "/faults").status_code == 200

    post(locked_client, "/logout", follow=False)
    assert get(locked_client, "/faults").status_code == 303


def test_a_bearer_header_also_opens_the_dashboard_and_the_cookie_does_not_open_the_api(locked_client):
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert get(locked_client, "/bookings", headers=bearer).status_code == 200
    assert get(locked_client, "/bookings", headers={"Authorization": "Bearer nope"}).status_code == 303
    post(locked_client, "/login", {"token": TOKEN}, follow=False)
    # /_admin API auth is unchanged: it wants the header, whatever cookies the browser holds.
    session = locked_client.get_cookie("rwg_ui_session", path=PREFIX).value
    locked_client.set_cookie("rwg_ui_session", session, path="/")
    assert locked_client.get("/_admin/faults").status_code == 401
    assert locked_client.get("/_admin/faults", headers=bearer).status_code == 200


def test_posts_need_the_csrf_token_and_a_same_origin(open_client):
    token = csrf(open_client)
    headers = {"Origin": "http://localhost"}
    no_token = open_client.post(PREFIX + "/faults/clear", data={}, headers=headers)
    assert no_token.status_code == 403
    assert "CSRF" in no_token.get_json()["message"]
    wrong_token = open_client.post(PREFIX + "/faults/clear", data={"csrf_token": "x" * 43}, headers=headers)
    assert wrong_token.status_code == 403
    cross_site = open_client.post(
        PREFIX + "/faults/clear", data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403 and "cross-origin" in cross_site.get_json()["message"]
    by_referer = open_client.post(
        PREFIX + "/faults/clear", data={"csrf_token": token}, headers={"Referer": "https://evil.example/page"}
    )
    assert by_referer.status_code == 403
    ok = open_client.post(PREFIX + "/faults/clear", data={"csrf_token": token}, headers=headers)
    assert ok.status_code == 303


def test_the_csrf_cookie_is_httponly_and_strict(tmp_path):
    client = make_app(tmp_path).test_client()
    cookie = get(client, "/").headers["Set-Cookie"]
    assert cookie.startswith("rwg_ui_csrf=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/_admin/ui"):
        assert attribute in cookie
    page = get(client, "/").get_data(as_text=True)
    assert f'name="csrf_token" value="{csrf(client)}"' in page
    assert "Set-Cookie" not in get(client, "/").headers  # kept, not renewed on every page


def test_pages_carry_security_headers_and_never_redirect_off_site(open_client):
    response = get(open_client, "/faults")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    for target in ("//evil.example/x", "https://evil.example/", "/elsewhere", "/_admin/ui\\@evil"):
        redirect = post(open_client, "/faults/clear", {"next": target}, follow=False)
        assert redirect.headers["Location"] == "/_admin/ui/faults", target
    kept = post(open_client, "/faults/clear", {"next": "/_admin/ui/bookings?status=CANCELED"}, follow=False)
    assert kept.headers["Location"] == "/_admin/ui/bookings?status=CANCELED"


def test_errors_inside_the_dashboard_are_pages(open_client):
    response = get(open_client, "/exchanges/export?format=xml")
    assert response.status_code == 400
    assert "format must be jsonl or har" in text(response)
    assert response.mimetype == "text/html"
    assert flash(get(open_client, "/")) == ""


def _basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_a_filed_tenants_dashboard_takes_its_own_password_and_its_session_opens_no_other(tmp_path):
    path = tmp_path / "tenants.json"
    path.write_text('{"team-a": "pa55-a", "team-b": "pa55-b"}')
    client = make_app(tmp_path, tenants_file=str(path)).test_client()
    base, html = "/t/team-a/_admin/ui", {"Accept": "text/html"}
    # No admin token: the default tenant's dashboard is open, team-a's is not.
    assert get(client, "/").status_code == 200
    page = client.get(base + "/faults", headers=html)
    assert (page.status_code, page.headers["Location"]) == (303, base + "/login?next=/t/team-a/_admin/ui/faults")
    scripted = client.get(base + "/exchanges/feed", headers={"Accept": "application/json"})
    assert scripted.status_code == 401
    assert scripted.get_json()["message"] == (
        "sign in at /t/team-a/_admin/ui/login with tenant 'team-a''s password (MOCK_TENANTS_FILE) or the admin "
        "token, or send its Basic credentials"
    )
    login = client.get(base + "/login", headers=html)
    assert "This tenant has its own password" in text(login) and "Password or admin token" in text(login)
    assert "Sign out" not in text(login)

    def sign_in(secret: str):
        form = {"csrf_token": client.get_cookie("rwg_ui_csrf", path=base).value, "token": secret, "next": base}
        return client.post(base + "/login", data=form, headers={"Origin": "http://localhost", **html})

    wrong = sign_in("pa55-b")
    assert wrong.status_code == 401
    assert "That is neither tenant 'team-a''s password (MOCK_TENANTS_FILE) nor the admin token." in text(wrong)
    right = sign_in("pa55-a")
    assert (right.status_code, right.headers["Location"]) == (303, base)
    assert client.get_cookie("rwg_ui_session", path=base) is not None
    opened = client.get(base + "/faults", headers=html)
    assert opened.status_code == 200 and "Sign out" in text(opened)
    # The session is team-a's: a copy of its cookie sent to team-b's dashboard opens nothing there.
    client.set_cookie("rwg_ui_session", client.get_cookie("rwg_ui_session", path=base).value, path="/t/team-b")
    assert client.get("/t/team-b/_admin/ui/faults", headers=html).status_code == 303
    # Its Basic credentials open it too, as they open its /_admin; another tenant's do not.
    fresh = make_app(tmp_path, tenants_file=str(path)).test_client()
    assert fresh.get(base + "/faults", headers={**html, **_basic("team-a", "pa55-a")}).status_code == 200
    assert fresh.get(base + "/faults", headers={**html, **_basic("team-b", "pa55-b")}).status_code == 303


def test_the_admin_token_also_opens_a_filed_tenants_dashboard(tmp_path):
    path = tmp_path / "tenants.json"
    path.write_text('{"team-a": "pa55-a"}')
    client = make_app(tmp_path, tenants_file=str(path), admin_token=TOKEN).test_client()
    base = "/t/team-a/_admin/ui"
    assert client.get(base + "/faults", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    client.get(base + "/login", headers={"Accept": "text/html"})
    form = {"csrf_token": client.get_cookie("rwg_ui_csrf", path=base).value, "token": TOKEN}
    signed = client.post(base + "/login", data=form, headers={"Origin": "http://localhost"})
    assert signed.status_code == 303
    assert client.get(base + "/faults", headers={"Accept": "text/html"}).status_code == 200
