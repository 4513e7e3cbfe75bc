"""Tenants: the dashboard under a prefix, names, the cap and the list, the fault dice and persistence."""
# ruff: noqa: F811 - app, client and last_spot are pytest fixtures imported from tenant_support

from __future__ import annotations

import html
import re
import time

import pytest

from mock_server.runtime import EXTENSION_KEY, tenant_seed
from tests.api.tenant_support import (  # noqa: F401 - app, client and last_spot are fixtures
    HTML,
    NAME_RULE,
    NO_FAULTS,
    NOW,
    UI,
    app,
    at,
    available,
    booked,
    booking_ids,
    client,
    create,
    journal_lines,
    last_spot,
    make_app,
)
from tests.helpers import find_slot, user

# ---- the dashboard under a prefix ----


def links(response) -> set[str]:
    """Every href, action and src of a page but the tenant switcher's (those lead to the other tenants)."""
    page = re.sub(r'<nav aria-label="Tenant".*?</nav>', "", response.get_data(as_text=True), flags=re.S)
    return set(re.findall(r'(?:href|action|src)="([^"#][^"]*)"', page))


def form_of(response, action_ending: str) -> tuple[str, dict]:
    """The action and hidden fields of the page's form whose action ends so."""
    for action, inner in re.findall(
        r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', response.get_data(as_text=True), re.S
    ):
        if action.endswith(action_ending):
            hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', inner)
            return html.unescape(action), {name: html.unescape(value) for name, value in hidden}
    raise AssertionError(f"no form posting to *{action_ending}")


def test_dashboard_pages_answer_under_a_prefix_with_the_tenants_state_and_links(client, last_spot):
    create(client, "x", last_spot, 77)
    create(client, None, last_spot, 88)
    client.post("/t/x/_admin/clock", json={"advance_sec": 90061})  # 2026-01-02 01:01:01 UTC
    client.post(
        "/t/x/_admin/faults", json={"method": "CreateBooking", "kind": "slot_taken", "match": {"merchant_id": "only-x"}}
    )
    pages = {
        page: client.get(f"/t/x{UI}/{page}", headers=HTML)
        for page in ("", "faults", "exchanges", "bookings", "inventory")
    }
    assert {page: r.status_code for page, r in pages.items()} == dict.fromkeys(pages, 200)
    for page, response in pages.items():
        dashboard_links = {link for link in links(response) if UI in link}
        assert dashboard_links and all(link.startswith(f"/t/x{UI}/") for link in dashboard_links), (
            page,
            dashboard_links,
        )
    assert "01:01:01" in pages[""].get_data(as_text=True)
    assert "01:01:01" not in client.get(f"{UI}/", headers=HTML).get_data(as_text=True)
    assert "only-x" in pages["faults"].get_data(as_text=True)
    assert "only-x" not in client.get(f"{UI}/faults", headers=HTML).get_data(as_text=True)
    bookings = pages["bookings"].get_data(as_text=True)
    assert user(77)["user_id"] in bookings and user(88)["user_id"] not in bookings
    assert client.get(f"/t/x{UI}/login", headers=HTML).headers["Location"] == f"/t/x{UI}/"


def test_dashboard_forms_under_a_prefix_change_that_tenant_and_come_back_to_it(client):
    # As a browser does it: the page sets the cookies, its forms post them back, the redirect shows the message.
    posting = {**HTML, "Origin": "http://localhost"}
    action, fields = form_of(client.get(f"/t/x{UI}/", headers=HTML), "/clock")
    assert action == f"/t/x{UI}/clock"
    advanced = client.post(
        action, data={**fields, "action": "advance", "amount": "2", "unit": "hours"}, headers=posting
    )
    assert (advanced.status_code, advanced.headers["Location"]) == (303, f"/t/x{UI}/")
    assert re.findall(r"Path=([^;]+)", " ".join(advanced.headers.getlist("Set-Cookie"))) == [f"/t/x{UI}"]
    shown = client.get(advanced.headers["Location"], headers=HTML).get_data(as_text=True)
    assert "Clock frozen at 2026-01-01 02:00:00 UTC." in html.unescape(shown)
    action, fields = form_of(client.get(f"/t/x{UI}/faults", headers=HTML), "/faults")
    rule = {**fields, "method": "HealthCheck", "kind": "http_error", "status": "503"}
    added = client.post(action, data=rule, headers=posting)
    assert (added.status_code, added.headers["Location"]) == (303, f"/t/x{UI}/faults")
    assert client.get("/t/x/_admin/clock").get_json()["now_sec"] == NOW + 7200
    assert client.get("/_admin/clock").get_json()["now_sec"] == NOW
    assert [f["kind"] for f in client.get("/t/x/_admin/faults").get_json()["faults"]] == ["http_error"]
    assert client.get("/_admin/faults").get_json() == NO_FAULTS


def test_dashboard_next_targets_keep_the_prefix(tmp_path):
    client = make_app(tmp_path, admin_token="s3cret").test_client()
    slot = find_slot(client.application.extensions[EXTENSION_KEY], spots_total=1)
    booking_id = create(client, "x", slot)["booking"]["booking_id"]
    posting = {**HTML, "Origin": "http://localhost"}
    # Signing in from a prefixed page leads back to that page, as a browser follows the forms.
    login_page = client.get(client.get(f"/t/x{UI}/faults", headers=HTML).headers["Location"], headers=HTML)
    action, fields = form_of(login_page, "/login")
    signed_in = client.post(action, data={**fields, "token": "s3cret"}, headers=posting)
    assert signed_in.headers["Location"] == f"/t/x{UI}/faults"
    # Cancelling from a filtered bookings page leads back to that page.
    page = client.get(f"/t/x{UI}/bookings?status=CONFIRMED", headers={**HTML, "Authorization": "Bearer s3cret"})
    action, fields = form_of(page, f"/{booking_id}/cancel")
    cancelled = client.post(action, data=fields, headers={**posting, "Authorization": "Bearer s3cret"})
    assert cancelled.headers["Location"] == f"/t/x{UI}/bookings?status=CONFIRMED"


def test_dashboard_feed_links_keep_the_prefix(client):
    feeds = {link for link in links(client.get(f"/t/x{UI}/", headers=HTML)) if "/feeds/" in link}
    assert feeds == {f"/t/x/feeds/{name}.json" for name in ("merchants", "services", "availability")}


# ---- names, the cap, the list ----


@pytest.mark.parametrize("name", ["Acme", "-a", ".a", "_a", "a b", "a:b", "a%", "a" * 64, ""])
@pytest.mark.parametrize("path", ["/v3/HealthCheck", "/_admin/health", "/feeds/merchants.json", f"{UI}/"])
def test_a_name_that_cannot_be_a_tenant_is_a_json_404_on_both_planes(client, name, path):
    response = client.get(f"/t/{name}{path}".replace("%", "%25"), headers=HTML)
    assert (response.status_code, response.get_json()) == (
        404,
        {"code": 404, "status": "Not Found", "message": f"no such tenant: {name!r} ({NAME_RULE})"},
    )
    assert [t["name"] for t in client.get("/_admin/tenants").get_json()["tenants"]] == ["default"]


@pytest.mark.parametrize("name", ["a" * 63, "0", "0.9_x-y", "ci-1234"])
def test_every_name_the_rule_allows_is_a_tenant(client, name):
    assert client.get(f"/t/{name}/_admin/health").get_json()["tenant"] == name
    assert client.get(f"/t/{name}/v3/HealthCheck").get_json() == {}
    assert [t["name"] for t in client.get("/_admin/tenants").get_json()["tenants"]] == ["default", name]


def test_the_cap_counts_the_default_and_a_deleted_tenant_starts_afresh(tmp_path, last_spot):
    client = make_app(tmp_path, max_tenants=3).test_client()
    refused = {
        "code": 503,
        "status": "Service Unavailable",
        "message": "tenant limit reached: 3 tenants (MOCK_MAX_TENANTS); remove one with DELETE /_admin/tenants/<name>",
    }
    create(client, "a", last_spot)
    client.post("/t/a/_admin/clock", json={"advance_sec": 60})
    client.post("/t/a/_admin/faults", json={"method": "HealthCheck", "kind": "http_error", "status": 500})
    assert client.get("/t/b/_admin/health").status_code == 200
    for path in ("/v3/HealthCheck", "/_admin/health"):
        response = client.get(f"/t/c{path}")
        assert (response.status_code, response.get_json()) == (503, refused), path
    feed = client.get("/t/c/feeds/merchants.json")  # feeds show a tenant, never make one
    assert feed.status_code == 404
    assert feed.get_json()["message"] == "no such tenant: 'c' (its first /v3 or /_admin request creates it)"
    assert client.get("/v3/HealthCheck").status_code == 200  # the default is always served
    assert [t["name"] for t in client.get("/_admin/tenants").get_json()["tenants"]] == ["default", "a", "b"]

    deleted = client.delete("/_admin/tenants/a")
    assert (deleted.status_code, deleted.get_data()) == (204, b"")
    assert client.get("/t/c/_admin/health").status_code == 200  # a's place is c's now
    assert client.get("/t/a/_admin/health").get_json() == refused
    assert client.delete("/_admin/tenants/c").status_code == 204
    assert booking_ids(client, "a") == []  # a again, from nothing: no booking, rule or clock change
    assert client.get("/t/a/_admin/faults").get_json() == NO_FAULTS
    assert client.get("/t/a/_admin/clock").get_json()["now_sec"] == NOW
    assert create(client, "a", last_spot) == booked(last_spot, "B0000001")


def test_the_tenant_list_and_delete_are_unprefixed_only_and_never_remove_the_default(client):
    client.get("/t/a/v3/HealthCheck")
    unprefixed_only = {
        "code": 404,
        "status": "Not Found",
        "message": "/_admin/tenants is served only without a /t/{tenant}/ prefix: it sees every tenant",
    }
    assert client.get("/t/a/_admin/tenants").get_json() == unprefixed_only
    assert client.delete("/t/a/_admin/tenants/a").get_json() == unprefixed_only
    default = client.delete("/_admin/tenants/default")
    assert (default.status_code, default.get_json()["message"]) == (
        409,
        "the default tenant is not deleted; POST /_admin/reset empties it",
    )
    unknown = client.delete("/_admin/tenants/nope")
    assert (unknown.status_code, unknown.get_json()["message"]) == (404, "no such tenant: 'nope'")
    assert [t["name"] for t in client.get("/_admin/tenants").get_json()["tenants"]] == ["default", "a"]


def test_the_list_names_every_tenant_default_first_with_counts_clock_and_last_use(tmp_path, last_spot):
    client = make_app(tmp_path, max_tenants=5, tenant_idle_s=0).test_client()
    started = time.time()
    client.get("/t/zeta/v3/HealthCheck")
    create(client, "alpha", last_spot)
    client.post("/t/zeta/_admin/clock", json={"advance_sec": 120})
    create(client, None, last_spot)
    create(client, None, find_slot(client.application.extensions[EXTENSION_KEY], skip=2), 2)
    listing = client.get("/_admin/tenants").get_json()
    used = [t.pop("last_used_sec") for t in listing["tenants"]]
    assert all(started - 1 <= u <= time.time() + 1 for u in used), used
    fixture = {k: v for k, v in client.get("/_admin/health").get_json()["counts"].items() if "bookings" not in k}

    def row(name, bookings, clock_sec=NOW):
        counts = {**fixture, "bookings": bookings, "active_bookings": bookings}
        return {"name": name, "counts": counts, "clock_sec": clock_sec}

    assert listing == {
        "tenants": [row("default", 2), row("alpha", 1), row("zeta", 0, NOW + 120)],
        "max_tenants": 5,
        "tenant_idle_s": 0,
        "evicted": 0,
    }


# ---- the fault dice, persistence ----


def test_another_tenants_traffic_never_moves_a_tenants_fault_dice(tmp_path):
    rule = {"method": "HealthCheck", "kind": "http_error", "status": 503, "probability": 0.5}

    def a_draws(with_others: bool) -> tuple[list[int], int]:
        client = make_app(tmp_path / str(with_others), seed=11).test_client()
        for tenant in ("a", "b", None):
            client.post(at(tenant, "/_admin/faults"), json=rule)
        draws = []
        for _ in range(30):
            draws.append(client.get("/t/a/v3/HealthCheck").status_code)
            if with_others:  # b and the default throw their own dice in between
                for tenant in ("b", "b", None):
                    client.get(at(tenant, "/v3/HealthCheck"))
        others_fired = sum(client.get(at(t, "/_admin/faults")).get_json()["faults"][0]["fired"] for t in ("b", None))
        return draws, others_fired

    alone, none_fired = a_draws(False)
    interleaved, others_fired = a_draws(True)
    assert set(alone) == {200, 503} and none_fired == 0 and others_fired > 0
    assert interleaved == alone


def test_each_tenant_has_its_own_seed_and_the_default_keeps_mock_seed(client):
    assert client.get("/_admin/health").get_json()["seed"] == 42
    seeds = {t: client.get(f"/t/{t}/_admin/health").get_json()["seed"] for t in ("a", "b")}
    assert seeds == {"a": tenant_seed(42, "a"), "b": tenant_seed(42, "b")} and len({42, *seeds.values()}) == 3


def test_with_a_store_each_tenant_persists_to_its_own_files_and_delete_erases_them(tmp_path, last_spot):
    store = tmp_path / "store" / "state.db"
    store.parent.mkdir()

    def restart():
        return make_app(tmp_path, db_path=str(store)).test_client()

    def held(client, tenant):
        bookings = client.get(at(tenant, "/_admin/bookings")).get_json()["bookings"]
        return [(b["booking_id"], b["user_information"]["user_id"]) for b in bookings]

    client = restart()
    other = find_slot(client.application.extensions[EXTENSION_KEY], skip=4)
    create(client, None, last_spot, 1)
    create(client, "a", last_spot, 2)
    create(client, "a", other, 3)
    assert client.get("/t/a/_admin/health").get_json()["persistent"] is True
    client = restart()
    assert held(client, None) == [("B0000001", user(1)["user_id"])]
    assert held(client, "a") == [("B0000001", user(2)["user_id"]), ("B0000002", user(3)["user_id"])]
    assert held(client, "b") == []
    assert not available(client, "a", last_spot) and not available(client, None, last_spot)
    assert available(client, "b", last_spot)
    assert client.delete("/_admin/tenants/a").status_code == 204
    assert sorted(p.name for p in store.parent.iterdir() if p.name.startswith("state--a")) == []
    client = restart()
    assert (held(client, None), held(client, "a")) == ([("B0000001", user(1)["user_id"])], [])
