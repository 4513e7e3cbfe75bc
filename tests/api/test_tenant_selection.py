"""Selecting a tenant without a prefix: the Basic-auth username (MOCK_BASIC_AUTH='*:PASSWORD'), a header; idle ones."""

from __future__ import annotations

import base64

import pytest

from mock_server import create_app
from tests.helpers import create_body, find_slot, wait_until_fired


def credentials(user: str, password: str = "s3cret") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def app():
    return create_app({"record": False, "basic_auth": "*:s3cret"})


def test_any_username_with_the_password_is_let_in_and_names_its_tenant(app):
    client = app.test_client()
    body = create_body(find_slot(app.extensions["mock_server"], vertical="classes"), 1)
    first = client.post("/v3/CreateBooking", json=body, headers=credentials("ci-run-1")).get_json()
    second = client.post("/v3/CreateBooking", json=body, headers=credentials("ci-run-2")).get_json()
    # Two tenants: the same idempotency token books once in each, and each run's ids start at the first.
    assert first["booking"]["booking_id"] == second["booking"]["booking_id"] == "B0000001"
    names = [t["name"] for t in client.get("/_admin/tenants").get_json()["tenants"]]
    assert names == ["default", "ci-run-1", "ci-run-2"]
    listed = client.post(
        "/v3/ListBookings", json={"user_id": body["user_information"]["user_id"]}, headers=credentials("ci-run-3")
    ).get_json()
    assert listed == {"bookings": []}  # a third run sees neither


@pytest.mark.parametrize(
    "header", [credentials("ci-1", "wrong"), credentials("", "s3cret"), {}, {"Authorization": "Bearer s3cret"}]
)
def test_a_wrong_password_no_username_or_no_credentials_is_a_401(app, header):
    answer = app.test_client().get("/v3/HealthCheck", headers=header)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Basic")
    assert answer.get_json()["message"] == "missing or wrong HTTP Basic credentials"


def test_a_path_prefix_wins_over_the_username(app):
    client = app.test_client()
    assert client.get("/t/from-path/v3/HealthCheck", headers=credentials("from-user")).status_code == 200
    assert [t["name"] for t in client.get("/_admin/tenants").get_json()["tenants"]] == ["default", "from-path"]


def test_a_username_that_cannot_name_a_tenant_is_a_404(app):
    answer = app.test_client().get("/v3/HealthCheck", headers=credentials("Not A Name"))
    assert answer.status_code == 404
    assert answer.get_json()["message"].startswith("no such tenant: 'Not A Name'")


def test_the_x_sandbox_tenant_header_selects_a_tenant_on_both_planes():
    client = create_app({"record": False}).test_client()
    header = {"X-Sandbox-Tenant": "tooling"}
    assert client.post("/_admin/clock", json={"freeze_at_sec": 1_900_000_000}, headers=header).status_code == 200
    assert client.get("/_admin/clock", headers=header).get_json()["now_sec"] == 1_900_000_000
    assert client.get("/t/tooling/_admin/clock").get_json()["now_sec"] == 1_900_000_000  # the same tenant
    assert client.get("/_admin/clock").get_json()["now_sec"] != 1_900_000_000  # the default's clock runs on
    bad = client.get("/v3/HealthCheck", headers={"X-Sandbox-Tenant": "../etc"})
    assert bad.status_code == 404 and bad.get_json()["message"].startswith("no such tenant: '../etc'")


def test_an_idle_tenant_is_forgotten_when_a_new_one_needs_its_room(monkeypatch):
    from mock_server import tenancy

    now = [1000.0]
    monkeypatch.setattr(tenancy.time, "time", lambda: now[0])
    client = create_app({"record": False, "max_tenants": 3, "tenant_idle_s": 60}).test_client()
    client.get("/t/old/v3/HealthCheck")
    now[0] += 30
    client.get("/t/recent/v3/HealthCheck")
    now[0] += 40  # old: idle 70 s; recent: 40 s
    assert client.get("/t/new/v3/HealthCheck").status_code == 200
    listed = client.get("/_admin/tenants").get_json()
    assert [t["name"] for t in listed["tenants"]] == ["default", "new", "recent"]
    assert listed["evicted"] == 1 and listed["tenant_idle_s"] == 60
    assert client.get("/t/another/v3/HealthCheck").status_code == 503  # nobody idle long enough: the cap holds


def test_the_dashboard_serves_each_tenant_and_switches_between_them():
    client = create_app({"record": False}).test_client()
    client.get("/t/acme/v3/HealthCheck")
    page = client.get("/t/acme/_admin/ui/").get_data(as_text=True)
    assert "<strong>acme</strong>" in page  # the tenant it acts on
    assert 'href="/_admin/ui/"' in page and 'href="/t/acme/_admin/ui/faults"' in page  # switcher; links keep the prefix
    assert 'href="/t/acme/feeds/availability.json"' in page
    opened = client.get("/_admin/ui/tenant?name=zeta")
    assert opened.status_code == 303 and opened.headers["Location"] == "/t/zeta/_admin/ui/"
    refused = client.get("/_admin/ui/tenant?name=Not%20One")
    assert refused.status_code == 303 and refused.headers["Location"].endswith("/_admin/ui/")
    # A form posted under a tenant acts on that tenant: its clock, not the default's.
    form = client.get("/t/acme/_admin/ui/").get_data(as_text=True)
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    frozen = client.post(
        "/t/acme/_admin/ui/clock",
        data={"csrf_token": token, "action": "freeze"},
        headers={"Origin": "http://localhost"},
    )
    assert frozen.status_code == 303
    assert client.get("/t/acme/_admin/clock").get_json()["frozen"] is True
    assert client.get("/_admin/clock").get_json()["frozen"] is False


@pytest.fixture
def filed(tmp_path):
    path = tmp_path / "tenants.json"
    path.write_text('{"team-a": "pa55-a", "team-b": "pa55-b"}')
    return create_app({"record": False, "tenants_file": str(path)}).test_client()


def test_a_tenants_file_gives_each_tenant_its_own_password(filed):
    assert filed.get("/v3/HealthCheck", headers=credentials("team-a", "pa55-a")).status_code == 200
    assert filed.get("/t/team-b/v3/HealthCheck", headers=credentials("team-b", "pa55-b")).status_code == 200
    assert filed.get("/v3/HealthCheck", headers=credentials("team-a", "pa55-b")).status_code == 401  # b's password
    assert filed.get("/v3/HealthCheck", headers=credentials("team-c", "pa55-a")).status_code == 401  # not in the file
    assert filed.get("/v3/HealthCheck").status_code == 401
    names = [t["name"] for t in filed.get("/_admin/tenants").get_json()["tenants"]]
    assert names == ["default", "team-a", "team-b"]


def test_a_prefix_and_a_tenants_own_credentials_must_agree(filed):
    answer = filed.get("/t/team-b/v3/HealthCheck", headers=credentials("team-a", "pa55-a"))
    assert answer.status_code == 403
    assert answer.get_json()["message"] == "these credentials are tenant 'team-a''s, not 'team-b''s"


@pytest.mark.parametrize("content", ['{"Bad Name": "x"}', '{"ok": ""}', "[]", "{", "{}"])
def test_a_broken_tenants_file_stops_the_start_with_one_line(tmp_path, content):
    path = tmp_path / "tenants.json"
    path.write_text(content)
    with pytest.raises(SystemExit, match="MOCK_TENANTS_FILE: "):
        create_app({"record": False, "tenants_file": str(path)})


def test_a_persistent_tenant_survives_a_restart_and_its_deletion_takes_its_files(tmp_path):
    settings = {"record": False, "db_path": str(tmp_path / "db.json")}
    first = create_app(settings)
    body = create_body(find_slot(first.extensions["mock_server"], vertical="classes"), 1)
    booked = first.test_client().post("/t/acme/v3/CreateBooking", json=body).get_json()["booking"]
    assert (tmp_path / "db--acme.json").exists() and (tmp_path / "db--acme.json.wal").exists()
    second = create_app(settings).test_client()  # a restart
    status = second.post("/t/acme/v3/GetBookingStatus", json={"booking_id": booked["booking_id"]})
    assert status.status_code == 200 and status.get_json()["booking_status"] == "CONFIRMED"
    assert second.post("/v3/GetBookingStatus", json={"booking_id": booked["booking_id"]}).status_code == 404
    assert second.delete("/_admin/tenants/acme").status_code == 204
    assert not (tmp_path / "db--acme.json").exists() and not (tmp_path / "db--acme.json.wal").exists()
    again = second.post("/t/acme/v3/GetBookingStatus", json={"booking_id": booked["booking_id"]})
    assert again.status_code == 404  # a fresh tenant of the same name


def test_reset_all_empties_every_tenant_and_only_unprefixed(tmp_path):
    client = create_app({"record": False}).test_client()
    runtime = client.application.extensions["mock_server"]
    body = create_body(find_slot(runtime, vertical="classes"), 1)
    for prefix in ("", "/t/a", "/t/b"):
        assert client.post(f"{prefix}/v3/CreateBooking", json=body).get_json()["booking"]["booking_id"] == "B0000001"
    prefixed = client.post("/t/a/_admin/reset", json={"all_tenants": True})  # it sees every tenant: un-prefixed only
    assert prefixed.status_code == 400 and "without a /t/{tenant}/ prefix" in prefixed.get_json()["message"]
    assert client.post("/_admin/reset", json={"all_tenants": True}).status_code == 200
    listed = client.get("/_admin/tenants").get_json()["tenants"]
    assert [(t["name"], t["counts"]["bookings"]) for t in listed] == [("default", 0), ("a", 0), ("b", 0)]


def test_a_filed_tenants_control_plane_takes_its_own_credentials(tmp_path):
    path = tmp_path / "tenants.json"
    path.write_text('{"team-a": "pa55-a", "team-b": "pa55-b"}')
    client = create_app({"record": False, "tenants_file": str(path), "admin_token": "root"}).test_client()
    refused = client.post("/t/team-a/_admin/reset")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    assert refused.get_json()["message"].startswith("tenant 'team-a''s control plane takes its own Basic credentials")
    assert client.post("/t/team-a/_admin/reset", headers=credentials("team-b", "pa55-b")).status_code == 401
    assert client.post("/t/team-a/_admin/reset", headers=credentials("team-a", "pa55-a")).status_code == 200
    assert client.post("/t/team-a/_admin/reset", headers={"Authorization": "Bearer root"}).status_code == 200
    header = {"X-Sandbox-Tenant": "team-b", **credentials("team-a", "pa55-a")}
    assert client.post("/_admin/reset", headers=header).status_code == 401  # the header names team-b: its own only
    # Other tenants and the default keep the admin token.
    assert client.post("/t/other/_admin/reset").status_code == 401
    assert client.post("/t/other/_admin/reset", headers={"Authorization": "Bearer root"}).status_code == 200


def test_a_web_page_cannot_create_a_tenant_and_refused_requests_create_none():
    client = create_app({"record": False, "admin_token": "root"}).test_client()
    cross = client.get("/t/from-page/v3/HealthCheck", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert cross.get_json()["message"] == "a tenant is not created by a request from another web page"
    foreign = client.post(
        "/t/from-page/v3/ListBookings", json={"user_id": "u"}, headers={"Origin": "http://evil.example"}
    )
    assert foreign.status_code == 403 and foreign.get_json() == cross.get_json()
    assert client.get("/t/no-token/_admin/health").status_code == 401  # refused: creates nothing
    assert client.get("/t/bad-host/_admin/health", headers={"Host": "evil.example"}).status_code == 403
    assert client.get("/t/a-feed/feeds/merchants.json").status_code == 404
    listed = client.get("/_admin/tenants", headers={"Authorization": "Bearer root"}).get_json()
    assert [t["name"] for t in listed["tenants"]] == ["default"]
    same_site = client.get("/t/mine/v3/HealthCheck", headers={"Origin": "http://localhost", "Host": "localhost"})
    assert same_site.status_code == 200  # the dashboard's own page, or any non-browser client, may


def test_a_filed_tenant_cannot_be_reached_with_the_shared_password(tmp_path):
    path = tmp_path / "tenants.json"
    path.write_text('{"team-a": "pa55-a"}')
    client = create_app({"record": False, "tenants_file": str(path), "basic_auth": "*:shared"}).test_client()
    for headers, route in (
        (credentials("mallory", "shared"), "/t/team-a/v3/HealthCheck"),
        ({**credentials("mallory", "shared"), "X-Sandbox-Tenant": "team-a"}, "/v3/HealthCheck"),
        (credentials("team-a", "shared"), "/v3/HealthCheck"),
    ):
        answer = client.get(route, headers=headers)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Basic"), (route, headers)
        assert answer.get_json()["message"] in (
            "tenant 'team-a' takes its own Basic credentials (MOCK_TENANTS_FILE)",
            "missing or wrong HTTP Basic credentials",
        )
    assert client.get("/t/team-a/v3/HealthCheck", headers=credentials("team-a", "pa55-a")).status_code == 200


def test_a_change_in_flight_when_its_tenant_is_deleted_is_refused_not_resurrected(tmp_path):
    import threading

    settings = {"record": False, "db_path": str(tmp_path / "db.json")}
    app = create_app(settings)
    client = app.test_client()
    body = create_body(find_slot(app.extensions["mock_server"], vertical="classes"), 1)
    # The delay must outlast the poll below and the delete on a loaded machine (the delete does not cut it short).
    rule = {"method": "CreateBooking", "kind": "delay", "delay_ms": 2000}
    added = client.post("/t/x/_admin/faults", json=rule)
    assert added.status_code == 201
    answers = []
    held = threading.Thread(target=lambda: answers.append(client.post("/t/x/v3/CreateBooking", json=body)))
    held.start()
    # The booking is held by the delay once the rule fired.
    wait_until_fired(lambda path: client.get(path).get_json(), added.get_json()["id"], "/t/x")
    assert client.delete("/_admin/tenants/x").status_code == 204
    held.join(60)
    assert answers[0].status_code == 503 and "deleted or evicted" in answers[0].get_json()["message"]
    assert not (tmp_path / "db--x.json.wal").exists() or (tmp_path / "db--x.json.wal").read_bytes() == b""
    restarted = create_app(settings).test_client()
    assert restarted.get("/t/x/_admin/bookings").get_json()["bookings"] == []


def test_the_dashboard_of_a_tenant_not_yet_made_is_refused_to_another_site_and_not_made_before_sign_in():
    open_ui = create_app({"record": False}).test_client()  # no admin token: the page itself would make the tenant
    cross = open_ui.get("/t/sneaky/_admin/ui/", headers={"Accept": "text/html", "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert [t["name"] for t in open_ui.get("/_admin/tenants").get_json()["tenants"]] == ["default"]
    client = create_app({"record": False, "admin_token": "root"}).test_client()
    sign_in = client.get("/t/sneaky/_admin/ui/", headers={"Accept": "text/html"})
    assert sign_in.status_code == 303 and sign_in.headers["Location"].startswith("/t/sneaky/_admin/ui/login")
    listed = client.get("/_admin/tenants", headers={"Authorization": "Bearer root"}).get_json()
    assert [t["name"] for t in listed["tenants"]] == ["default"]
