"""mock_server.testcontainers on the real engine: host networking (the engine here has no bridge), the settings as
MOCK_* variables, ready by /_admin/health, and the pytest plugin's verbs driving a tenant of the sandbox."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from mock_server.pytest_plugin import SandboxHandle
from tests.container.engine import ROOT

pytestmark = pytest.mark.container

testcontainers = pytest.importorskip("testcontainers", reason="the `testcontainers` extra is not installed")
CLOCK = 1767225600
TOKEN = "tc-admin-token"
SLOT_KEYS = ("merchant_id", "service_id", "start_sec", "duration_sec", "resources")


@pytest.fixture(scope="module")
def started(sandbox_image: str):
    """One sandbox container for the module: a frozen clock, an admin token, a mounted fixture, tenant `acme`."""
    from mock_server.testcontainers import BookingSandboxContainer

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk's image is on Docker Hub; `with` removes ours
        container = BookingSandboxContainer(
            sandbox_image,
            clock=CLOCK,
            seed=42,
            admin_token=TOKEN,
            fixture=ROOT / "fixtures" / "default.json",
            tenant="acme",
            host_network=True,
            startup_timeout=180,  # its default 60 s is tight for a container start on a loaded 2-core CI machine
        )
        with container:
            yield container


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_settings_become_mock_variables_and_host_networking(started) -> None:
    """clock, seed, admin token and fixture are MOCK_* variables; the fixture file is mounted read-only; the
    container shares the host's network on the free port it was given."""
    info = started.get_wrapped_container().attrs
    env = dict(item.split("=", 1) for item in info["Config"]["Env"])
    port = started.port
    assert {k: env[k] for k in ("MOCK_CLOCK", "MOCK_SEED", "MOCK_ADMIN_TOKEN", "MOCK_FIXTURE", "MOCK_PORT")} == {
        "MOCK_CLOCK": str(CLOCK),
        "MOCK_SEED": "42",
        "MOCK_ADMIN_TOKEN": TOKEN,
        "MOCK_FIXTURE": "/srv/custom-fixture/default.json",
        "MOCK_PORT": str(port),
    }
    assert info["HostConfig"]["NetworkMode"] == "host"
    [mount] = [m for m in info["Mounts"] if m["Destination"] == "/srv/custom-fixture/default.json"]
    assert (mount["Source"], mount["RW"]) == (str(ROOT / "fixtures" / "default.json"), False)
    assert started.url == f"http://127.0.0.1:{port}/t/acme"


def test_admin_token_guards_the_control_plane(started) -> None:
    """The token reached the server: /_admin without it is a 401, with it (the handle) a 200."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(started.base_url + "/_admin/bookings", timeout=15)
    assert refused.value.code == 401
    assert started.bookings() == []


def test_plugin_verbs_drive_the_tenant(started) -> None:
    """Feed, booking, bookings, exchanges, HAR, clock, faults and reset, through the container's verbs."""
    started.reset()
    clock = started.set_clock(advance_sec=3600)
    assert (clock["now_sec"], clock["frozen"]) == (CLOCK + 3600, True)
    prepaid = {
        (s["merchant_id"], s["service_id"])
        for s in started.feed("services")["service"]
        if s.get("prepayment_type") == "REQUIRED"
    }
    slot = next(
        s
        for group in started.feed("availability")["service_availability"]
        for s in group["availability"]
        if int(s.get("spots_open", 0)) > 0 and (s["merchant_id"], s["service_id"]) not in prepaid
    )
    status, body = _post(
        started.url + "/v3/CreateBooking",
        {
            "slot": {k: str(slot[k]) if k.endswith("_sec") else slot[k] for k in slot if k in SLOT_KEYS},
            "user_information": {
                "user_id": "tc-user",
                "given_name": "Ada",
                "family_name": "Lovelace",
                "telephone": "+14155550100",
                "email": "ada@example.com",
            },
            "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
            "idempotency_token": "tc-1",
        },
    )
    assert status == 200, body
    booking_id = body["booking"]["booking_id"]
    assert [b["booking_id"] for b in started.bookings(user_id="tc-user")] == [booking_id]
    assert SandboxHandle(started.base_url, TOKEN).bookings() == []  # the booking is tenant acme's, not the default's
    assert [e["rpc"] for e in started.exchanges()] == ["CreateBooking"]
    har = started.export_har()
    assert [entry["request"]["url"].rsplit("/", 1)[1] for entry in har["log"]["entries"]] == ["CreateBooking"]

    rule = started.add_fault("http_error", "GetBookingStatus", status=503)
    assert rule["id"]
    status, _ = _post(started.url + "/v3/GetBookingStatus", {"booking_id": booking_id})
    assert status == 503
    started.clear_faults()
    assert _post(started.url + "/v3/GetBookingStatus", {"booking_id": booking_id})[0] == 200

    started.reset()
    assert started.bookings() == []
    assert started.exchanges() == []
