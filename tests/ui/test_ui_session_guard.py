"""Dashboard sessions live on the server: random ids, a 12-hour expiry, revoked by Sign out; `next` is a safe path."""

from __future__ import annotations

import pytest

from mock_server.api.ui import sessions

from .client import PREFIX, get, make_app, post

TOKEN = "s3cret-admin-token"
COOKIE = "rwg_ui_session"


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, admin_token=TOKEN)


def sign_in(client) -> str:
    """Sign in with the token; the session cookie's value."""
    get(client, "/login")  # as a browser does: the form sets the CSRF cookie
    response = post(client, "/login", {"token": TOKEN, "next": PREFIX + "/faults"}, follow=False)
    assert response.status_code == 303 and response.headers["Location"] == PREFIX + "/faults", response.get_data()
    return client.get_cookie(COOKIE, path=PREFIX).value


def sent_to_login(response) -> bool:
    """The dashboard refused the session: a 303 to its sign-in page (anything else fails the test)."""
    assert response.status_code == 303 and response.headers["Location"].startswith(PREFIX + "/login"), (
        response.status_code,
        response.headers.get("Location"),
    )
    return True


def with_cookie(app, value: str):
    """A fresh browser holding only this session cookie (as a copied or stolen cookie would be)."""
    client = app.test_client()
    client.set_cookie(COOKIE, value, path=PREFIX)
    return client


def test_the_cookie_is_a_random_id_not_derived_from_the_token(app, tmp_path):
    first, second = sign_in(app.test_client()), sign_in(app.test_client())
    assert first != second and len(first) >= 32
    assert TOKEN not in first
    # Another sandbox with the same token knows nothing of this one's sessions.
    other = make_app(tmp_path / "other", admin_token=TOKEN)
    assert sent_to_login(get(with_cookie(other, first), "/faults"))
    assert get(with_cookie(app, first), "/faults").status_code == 200


def test_sign_out_revokes_the_session_on_the_server(app):
    client = app.test_client()
    value = sign_in(client)
    copy = with_cookie(app, value)
    assert get(copy, "/faults").status_code == 200
    signed_out = post(client, "/logout", follow=False)
    assert signed_out.status_code == 303 and signed_out.headers["Location"] == PREFIX + "/login"
    # The old cookie value, replayed by any browser, no longer opens anything.
    page = get(copy, "/faults")
    assert page.status_code == 303 and page.headers["Location"].startswith(PREFIX + "/login")
    scripted = copy.get(PREFIX + "/exchanges/feed", headers={"Accept": "application/json"})
    assert (scripted.status_code, scripted.get_json()["code"]) == (401, 401)


def test_a_session_expires_after_12_hours(app, monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(sessions, "wall_clock", lambda: now[0])
    client = app.test_client()
    value = sign_in(client)
    now[0] += 12 * 3600 - 1
    assert get(client, "/faults").status_code == 200
    now[0] += 1
    expired = get(client, "/faults")
    assert expired.status_code == 303 and "/login" in expired.headers["Location"]
    # Gone from the store too, not just refused.
    assert sent_to_login(get(with_cookie(app, value), "/faults"))
    assert len(app.extensions[sessions.EXTENSION_KEY]) == 0


def test_the_store_stays_bounded(app, monkeypatch):
    monkeypatch.setattr(sessions, "MAX_SESSIONS", 5)
    client = app.test_client()
    values = [sign_in(client) for _ in range(8)]
    assert len(app.extensions[sessions.EXTENSION_KEY]) == 5
    assert sent_to_login(get(with_cookie(app, values[0]), "/faults"))  # the oldest made room
    assert get(with_cookie(app, values[-1]), "/faults").status_code == 200


def test_the_sandbox_clock_does_not_expire_sessions(app):
    client = app.test_client()
    sign_in(client)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/_admin/clock", json={"advance_sec": 30 * 86400}, headers=bearer).status_code == 200
    assert get(client, "/faults").status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "/_admin/ui/%0d%0aSet-Cookie:%20x=y",
        "/_admin/ui/%0aLocation:%20//evil",
        "/_admin/ui/faults%0d",
        "/_admin/ui/%00",
        "/_admin/ui/%09x",
        "/_admin/ui/%7f",
        "/_admin/ui%0d%0a/",
        "%0d%0a/_admin/ui/",
    ],
)
@pytest.mark.parametrize("token", [TOKEN, ""])
def test_control_characters_in_next_never_reach_a_header(tmp_path, target, token):
    client = make_app(tmp_path, admin_token=token).test_client()
    get(client, "/login")
    for response in (
        get(client, f"/login?next={target}"),
        post(client, f"/login?next={target}", {"token": TOKEN}, follow=False),
        post(
            client,
            "/login",
            {"token": TOKEN, "next": target.replace("%0d", "\r").replace("%0a", "\n").replace("%00", "\0")},
            follow=False,
        ),
        post(client, "/faults/clear", {"next": "/_admin/ui/\r\nX-Injected: 1"}, follow=False),
    ):
        assert response.status_code < 500, response.get_data()[:300]
        assert "X-Injected" not in response.headers
        assert "x=y" not in response.headers.get("Set-Cookie", "")
        location = response.headers.get("Location")
        if location is not None:
            assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in location), location
            assert location.startswith(PREFIX + "/"), location
        if response.status_code == 200:  # the sign-in form: next= is the default, not the hostile value
            assert f'value="{PREFIX}/"' in response.get_data(as_text=True)


def test_a_plain_next_still_works(tmp_path):
    client = make_app(tmp_path, admin_token=TOKEN).test_client()
    get(client, "/login")
    response = post(client, "/login?next=/_admin/ui/bookings?status%3DCONFIRMED", {"token": TOKEN}, follow=False)
    assert response.headers["Location"] == "/_admin/ui/bookings?status=CONFIRMED"
