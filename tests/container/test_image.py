"""Build the container image with buildah, run the sandbox in it and book a slot from the host."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.server import wait_for_group_exit

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("RWG_IMAGE", "localhost/rwg-sandbox")
LOCAL_BASE = "localhost/py-base"  # made by build_base.sh; Docker Hub cannot be reached here
BASE_IMAGE = os.environ.get("RWG_BASE_IMAGE", LOCAL_BASE)
CA_STORE = Path("/etc/ssl/certs")
ARTIFACT = ROOT / "artifacts" / "container.json"
READY_TIMEOUT = 90
BOOKED = {"CONFIRMED", "PENDING_MERCHANT_CONFIRMATION"}


def _skip_reason() -> str | None:
    """Why this module cannot run here, or None when it can."""
    forced = os.environ.get("RWG_CONTAINER_TEST")
    if forced == "1":
        return None
    if forced == "0":
        return "RWG_CONTAINER_TEST=0"
    if shutil.which("buildah") is None:
        return "buildah not on PATH (RWG_CONTAINER_TEST=1 forces the test; build_base.sh installs it)"
    if os.geteuid() != 0:
        return "needs root for debootstrap and buildah chroot isolation (RWG_CONTAINER_TEST=1 forces it)"
    return None


pytestmark = [pytest.mark.container, pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))]


def _run(*cmd: str, timeout: float = 120) -> str:
    """Run a command, fail the test with its output if it fails, return its stdout."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


def _image_id(name: str) -> str | None:
    """The id of a local image, or None when there is none."""
    proc = subprocess.run(
        ["buildah", "images", "--noheading", "--quiet", "--no-trunc", name], capture_output=True, text=True, timeout=60
    )
    return proc.stdout.split()[0] if proc.returncode == 0 and proc.stdout.strip() else None


def _image_size(name: str) -> tuple[int | None, str]:
    """(size in bytes when podman can tell, human size as buildah prints it)."""
    human = _run("buildah", "images", "--format", "{{.Size}}", name, timeout=60).strip().splitlines()[0]
    raw = None
    if shutil.which("podman"):
        out = subprocess.run(
            ["podman", "image", "inspect", "--format", "{{.Size}}", name], capture_output=True, text=True, timeout=60
        ).stdout.strip()
        raw = int(out) if out.isdigit() else None
    return raw, human


def _free_port() -> int:
    """A TCP port free on the host right now (the container shares the host network)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def _write_artifact(metrics: dict) -> None:
    """Merge measurements into artifacts/container.json and print them."""
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    data.update(metrics)
    ARTIFACT.write_text(json.dumps(data, indent=2) + "\n")
    for key, value in metrics.items():
        print(f"[container] {key}: {value}")


@pytest.fixture(scope="module")
def image() -> str:
    """Make sure the base exists, build the image from the repo's Dockerfile, record time and size."""
    if BASE_IMAGE == LOCAL_BASE:
        _run("bash", str(ROOT / "tests" / "container" / "build_base.sh"), timeout=1200)
    # The host's CA store, so pip trusts whatever the host trusts (e.g. a TLS-inspecting proxy).
    mounts = ["-v", f"{CA_STORE}:{CA_STORE}:ro"] if (CA_STORE / "ca-certificates.crt").exists() else []
    previous = _image_id(IMAGE)
    started = time.monotonic()
    _run(
        "buildah",
        "bud",
        "--isolation",
        "chroot",
        "--format",
        "docker",
        "--layers",
        "--pull=false",
        *mounts,
        "--build-arg",
        f"BASE_IMAGE={BASE_IMAGE}",
        "-f",
        str(ROOT / "Dockerfile"),
        "-t",
        IMAGE,
        str(ROOT),
        timeout=1200,
    )
    build_s = round(time.monotonic() - started, 1)
    current = _image_id(IMAGE)
    if previous and previous != current:  # the old build is now untagged: don't let them pile up
        subprocess.run(["buildah", "rmi", previous], capture_output=True, timeout=120)
    size_bytes, size_human = _image_size(IMAGE)
    _write_artifact(
        {
            "image": IMAGE,
            "base_image": BASE_IMAGE,
            "build_seconds": build_s,
            "image_size_bytes": size_bytes,
            "image_size": size_human,
        }
    )
    return IMAGE


@pytest.fixture(scope="module")
def container(image: str):
    """A working container of the image, removed afterwards."""
    name = _run("buildah", "from", "--pull=never", image, timeout=120).strip().splitlines()[-1]
    yield name
    subprocess.run(["buildah", "rm", name], capture_output=True, timeout=120)


def _in_container(container: str, *cmd: str, env: dict | None = None) -> list[str]:
    """The `buildah run` command line running cmd in the working container."""
    flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
    return ["buildah", "run", "--isolation", "chroot", *flags, container, "--", *cmd]


@pytest.fixture(scope="module")
def server(container: str, tmp_path_factory):
    """`python app.py` inside the container on a free port; yields its base URL.

    buildah's chroot isolation shares the host network, so the server is kept on loopback here;
    the image's own MOCK_HOST=0.0.0.0 is checked in its config instead.
    """
    port = _free_port()
    log_path = tmp_path_factory.mktemp("container") / "server.log"
    cmd = _in_container(container, "python", "app.py", env={"MOCK_HOST": "127.0.0.1", "MOCK_PORT": port})
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    try:
        health = _wait_ready(base, proc, log_path)
        _write_artifact({"start_to_ready_seconds": round(time.monotonic() - started, 2)})
        assert health.get("status") == "ready", health
        yield base
    finally:
        _stop(proc)
    assert not _listening(port), f"something still listens on port {port} after the server was stopped"


def _wait_ready(base: str, proc: subprocess.Popen, log_path: Path) -> dict:
    """Poll /_admin/health until it answers 200; fail early if the server exits."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            status, body = _http(base, "GET", "/_admin/health")
            if status == 200:
                return body
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    pytest.fail(f"server not ready within {READY_TIMEOUT}s:\n{log_path.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server's whole process group, killing it if it lingers."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    wait_for_group_exit(proc.pid)


def _listening(port: int) -> bool:
    """Whether anything accepts TCP connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _image_config(image: str) -> dict:
    """The Docker-format config of the image (buildah keeps HEALTHCHECK only in that format)."""
    return json.loads(_run("buildah", "inspect", "--type", "image", image, timeout=60))["Docker"]["config"]


def test_image_config(image: str) -> None:
    """Non-root user, sandbox env, volumes, port, command and health check are in the image."""
    config = _image_config(image)
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
    assert "/_admin/health" in " ".join(config["Healthcheck"]["Test"])


def test_runs_as_non_root(container: str) -> None:
    """The image's user is uid 10001, not root."""
    assert _run(*_in_container(container, "id", "-u")).strip() == "10001"


def test_package_installed_in_venv(container: str) -> None:
    """`python` is the venv's and imports the installed mock_server package."""
    out = _run(
        *_in_container(
            container, "python", "-c", "import sys, mock_server; print(sys.prefix); print(mock_server.__file__)"
        )
    )
    prefix, module_file = out.split()
    assert prefix == "/opt/venv"
    assert module_file.startswith("/opt/venv/lib/"), module_file


def test_healthcheck_passes(image: str, container: str, server: str) -> None:
    """The image's HEALTHCHECK command, run inside the container, succeeds against the server."""
    kind, *cmd = _image_config(image)["Healthcheck"]["Test"]
    assert kind == "CMD"
    _run(*_in_container(container, *cmd, env={"MOCK_PORT": server.rsplit(":", 1)[1]}), timeout=30)


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


def test_booking_flow_from_host(server: str) -> None:
    """HealthCheck, availability lookup and a booking, all answered by the containerised server."""
    status, body = _http(server, "GET", "/v3/HealthCheck")
    assert status == 200, body

    for n, slot in enumerate(_bookable_slots(server)[:20]):
        resources = slot.get("resources") or {}
        slot_time = {
            "service_id": slot["service_id"],
            "start_sec": str(slot["start_sec"]),
            "duration_sec": str(slot["duration_sec"]),
            "resource_ids": resources,
        }
        status, body = _http(
            server,
            "POST",
            "/v3/BatchAvailabilityLookup",
            {"merchant_id": slot["merchant_id"], "slot_time": [slot_time]},
        )
        assert status == 200, body
        [answer] = body["slot_time_availability"]
        assert answer["available"] is True, answer
        echoed = answer["slot_time"]
        assert echoed["service_id"] == slot["service_id"], echoed
        assert str(echoed["start_sec"]) == str(slot["start_sec"]), echoed
        assert str(echoed["duration_sec"]) == str(slot["duration_sec"]), echoed

        status, body = _http(
            server,
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
            assert booking.get("booking_id"), booking
            assert booking.get("slot", {}).get("service_id", slot["service_id"]) == slot["service_id"], booking
            return
    pytest.fail(f"no slot could be booked; last answer {status}: {body}")
