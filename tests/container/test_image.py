"""The image on a real Docker engine: built from the Dockerfile, run, healthy by its own HEALTHCHECK, a booking
made from the host, and `docker stop` ending it in its grace period with the exchange journal written out."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.container.conftest import record_figures
from tests.container.engine import docker, free_port

pytestmark = pytest.mark.container

HEALTHY_TIMEOUT = 90  # the image checks every 15 s after a 20 s start period; 3 misses make it unhealthy
STOP_GRACE = 10  # docker stop's default: SIGTERM, then SIGKILL after this many seconds
RECORDING = "container-test"
BOOKED = {"CONFIRMED", "PENDING_MERCHANT_CONFIRMATION"}


def _http(base: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """One JSON request; returns (status, decoded body) for any status."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json"} if data else {}
    )
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _state(name: str) -> dict:
    """The container's State as docker inspect reports it (Status, Health, ExitCode...)."""
    return json.loads(docker("container", "inspect", "--format", "{{json .State}}", name))


class RunningSandbox:
    """A container of the image on the host's network, its journal in a host directory."""

    def __init__(self, name: str, port: int, recordings: Path):
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.recordings = recordings


@pytest.fixture(scope="module")
def sandbox(sandbox_image: str, tmp_path_factory):
    """`docker run --network host` on a free port; waits for the HEALTHCHECK's `healthy`; removed afterwards."""
    recordings = tmp_path_factory.mktemp("recordings")
    recordings.chmod(0o777)  # the image runs as uid 10001
    name = f"rwg-test-{secrets.token_hex(4)}"
    port = free_port()
    started = time.monotonic()
    docker(
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "host",  # the engine has no bridge; loopback keeps the sandbox off the host's other interfaces
        "--env",
        f"MOCK_PORT={port}",
        "--env",
        "MOCK_HOST=127.0.0.1",
        "--env",
        f"MOCK_RECORDING={RECORDING}",
        "--volume",
        f"{recordings}:/srv/recordings",
        sandbox_image,
    )
    try:
        running = RunningSandbox(name, port, recordings)
        ready_s = _wait_answering(running)
        healthy_s = _wait_healthy(name, started)
        record_figures(seconds_to_first_answer=round(ready_s - started, 2), seconds_to_healthy=round(healthy_s, 2))
        yield running
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, timeout=60)


def _wait_answering(sandbox: RunningSandbox) -> float:
    """Poll /_admin/health from the host until it answers 200; the moment it did."""
    deadline = time.monotonic() + HEALTHY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if _http(sandbox.url, "GET", "/_admin/health")[0] == 200:
                return time.monotonic()
        except (OSError, ValueError):
            pass
        if _state(sandbox.name)["Status"] == "exited":
            pytest.fail(f"the container exited:\n{docker('logs', sandbox.name)[-4000:]}")
        time.sleep(0.2)
    pytest.fail(f"no answer within {HEALTHY_TIMEOUT}s:\n{docker('logs', sandbox.name)[-4000:]}")


def _wait_healthy(name: str, started: float) -> float:
    """Wait for the engine to run the image's HEALTHCHECK and call the container healthy; seconds since start."""
    deadline = started + HEALTHY_TIMEOUT
    while time.monotonic() < deadline:
        health = _state(name).get("Health") or {}
        if health.get("Status") == "healthy":
            return time.monotonic() - started
        assert health.get("Status") in {"starting", None}, health
        time.sleep(0.5)
    pytest.fail(f"not healthy within {HEALTHY_TIMEOUT}s: {_state(name).get('Health')}")


def test_image_config(sandbox_image: str) -> None:
    """Non-root user, sandbox env, volumes, port, command and health check are in the image."""
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", sandbox_image))
    env = dict(item.split("=", 1) for item in config["Env"])
    assert config["User"].split(":")[0] == "10001"
    assert config["WorkingDir"] == "/srv"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert {k: env.get(k) for k in ("MOCK_HOST", "MOCK_PORT", "MOCK_RECORDINGS_DIR")} == {
        "MOCK_HOST": "0.0.0.0",
        "MOCK_PORT": "8080",
        "MOCK_RECORDINGS_DIR": "/srv/recordings",
    }
    assert set(config["Volumes"]) == {"/srv/recordings", "/srv/data"}
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["Cmd"] == ["python", "app.py"]
    assert config["Healthcheck"]["Test"][0] == "CMD"
    assert "/_admin/health" in " ".join(config["Healthcheck"]["Test"])


def test_runs_as_non_root_from_the_venv(sandbox_image: str) -> None:
    """The image's user is uid 10001, and `python` is the venv's, importing the installed package."""
    out = docker(
        "run",
        "--rm",
        "--network",
        "none",
        sandbox_image,
        "python",
        "-c",
        "import os, sys, mock_server; print(os.getuid(), sys.prefix, mock_server.__file__)",
    )
    uid, prefix, module_file = out.split()
    assert (uid, prefix) == ("10001", "/opt/venv")
    assert module_file.startswith("/opt/venv/lib/"), module_file


def _bookable_slots(base: str) -> list[dict]:
    """Open availability entries, those of services without required prepayment first."""
    status, services = _http(base, "GET", "/feeds/services.json")
    assert status == 200 and services.get("service"), services
    prepaid = {
        (s["merchant_id"], s["service_id"]) for s in services["service"] if s.get("prepayment_type") == "REQUIRED"
    }
    status, feed = _http(base, "GET", "/feeds/availability.json")
    assert status == 200 and feed.get("service_availability"), str(feed)[:500]
    slots = [
        slot
        for group in feed["service_availability"]
        for slot in group.get("availability", [])
        if int(slot.get("spots_open", 0)) > 0
    ]
    assert slots, "the availability feed has no open slot"
    return sorted(slots, key=lambda s: (s["merchant_id"], s["service_id"]) in prepaid)


def _book_one(base: str) -> dict:
    """Look a slot up and book it (the first open slot that books); the booking the server returned."""
    for n, slot in enumerate(_bookable_slots(base)[:20]):
        resources = slot.get("resources") or {}
        slot_time = {
            "service_id": slot["service_id"],
            "start_sec": str(slot["start_sec"]),
            "duration_sec": str(slot["duration_sec"]),
            "resource_ids": resources,
        }
        status, body = _http(
            base, "POST", "/v3/BatchAvailabilityLookup", {"merchant_id": slot["merchant_id"], "slot_time": [slot_time]}
        )
        assert status == 200, body
        [answer] = body["slot_time_availability"]
        assert answer["available"] is True, answer
        assert answer["slot_time"]["service_id"] == slot["service_id"], answer
        assert str(answer["slot_time"]["start_sec"]) == str(slot["start_sec"]), answer
        status, body = _http(
            base,
            "POST",
            "/v3/CreateBooking",
            {
                "slot": {
                    "merchant_id": slot["merchant_id"],
                    "service_id": slot["service_id"],
                    "start_sec": str(slot["start_sec"]),
                    "duration_sec": str(slot["duration_sec"]),
                    "resources": resources,
                },
                "user_information": {
                    "user_id": "container-test",
                    "given_name": "Ada",
                    "family_name": "Lovelace",
                    "telephone": "+14155550100",
                    "email": "ada@example.com",
                },
                "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
                "idempotency_token": f"container-test-{n}",
            },
        )
        booking = body.get("booking") or {}
        if status == 200 and booking.get("status") in BOOKED:
            return booking
    pytest.fail(f"no slot could be booked; last answer {status}: {body}")


def test_booking_flow_then_stop_flushes_the_journal(sandbox: RunningSandbox) -> None:
    """Lookup, CreateBooking and GetBookingStatus from the host; then `docker stop` ends the server within its
    grace period (SIGTERM handled, exit 0) and the journal in the mounted directory holds all three exchanges."""
    status, body = _http(sandbox.url, "GET", "/v3/HealthCheck")
    assert (status, body) == (200, {})
    booking = _book_one(sandbox.url)
    booking_id = booking["booking_id"]
    status, body = _http(sandbox.url, "POST", "/v3/GetBookingStatus", {"booking_id": booking_id})
    assert (status, body) == (
        200,
        {
            "booking_id": booking_id,
            "booking_status": booking["status"],
            "prepayment_status": booking["payment_information"]["prepayment_status"],
        },
    )

    stopping = time.monotonic()
    docker("stop", "--time", str(STOP_GRACE), sandbox.name, timeout=STOP_GRACE + 30)
    stop_s = round(time.monotonic() - stopping, 2)
    record_figures(seconds_to_stop=stop_s)
    state = _state(sandbox.name)
    assert (state["Status"], state["ExitCode"], state["OOMKilled"]) == ("exited", 0, False), state
    assert stop_s < STOP_GRACE, f"docker stop took {stop_s}s: the server ignored SIGTERM and was killed"

    journal = sandbox.recordings / f"{RECORDING}.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    rpcs = [record["rpc"] for record in records]
    assert {"BatchAvailabilityLookup", "CreateBooking", "GetBookingStatus"} <= set(rpcs), rpcs
    [status_call] = [record for record in records if record["rpc"] == "GetBookingStatus"]
    assert status_call["response"] == {
        "status": 200,
        "headers": status_call["response"]["headers"],
        "body": {
            "booking_id": booking_id,
            "booking_status": booking["status"],
            "prepayment_status": booking["payment_information"]["prepayment_status"],
        },
    }
