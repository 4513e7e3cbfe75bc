"""The sandbox as a Testcontainers container: its image started for a test, ready when /_admin/health answers.

    from mock_server.testcontainers import BookingSandboxContainer

    with BookingSandboxContainer("rwg-sandbox", clock=1767225600) as sandbox:
        client = MyBookingClient(base_url=sandbox.url)
        ...
        assert sandbox.bookings()[0]["status"] == "CONFIRMED"

Needs the `testcontainers` extra (`pip install "rwg-booking-sandbox[testcontainers]"`) and an image built from the
Dockerfile. The control-plane verbs are the pytest plugin's (SandboxHandle): one client for both.
"""

from __future__ import annotations

import socket
from pathlib import Path

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

from .pytest_plugin import SandboxHandle

PORT = 8080  # the image's MOCK_PORT
FIXTURE_IN_CONTAINER = "/srv/custom-fixture"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class BookingSandboxContainer(DockerContainer):
    """A sandbox container; each keyword maps to the MOCK_* variable of that setting (see the README's settings)."""

    def __init__(
        self,
        image: str = "rwg-sandbox",
        *,
        clock: int | None = None,
        seed: int | None = None,
        basic_auth: str = "",
        admin_token: str = "",
        scenario: str = "",
        fixture: str | Path = "",
        tenant: str = "",
        host_network: bool = False,
        startup_timeout: int = 60,
        **kwargs,
    ):
        """`tenant` points url and the verbs at /t/<tenant>/; `host_network` is for engines without a bridge."""
        self.host_network = host_network
        # Host networking (a local engine only): the server listens on a free loopback port of this machine.
        self.port = _free_port() if host_network else PORT
        if host_network:
            kwargs["network_mode"] = "host"
        super().__init__(image, **kwargs)
        self.admin_token = admin_token
        self.tenant = tenant
        settings: dict[str, object] = {
            "MOCK_CLOCK": clock,
            "MOCK_SEED": seed,
            "MOCK_BASIC_AUTH": basic_auth,
            "MOCK_ADMIN_TOKEN": admin_token,
            "MOCK_SCENARIO": scenario,
        }
        if fixture:
            settings["MOCK_FIXTURE"] = self._fixture_path(Path(fixture))
        if host_network:
            settings.update(MOCK_PORT=self.port, MOCK_HOST="127.0.0.1")
        else:
            self.with_exposed_ports(PORT)
        for name, value in settings.items():
            if value not in (None, ""):
                self.with_env(name, str(value))
        health = HttpWaitStrategy(self.port, "/_admin/health").for_status_code(200)
        if admin_token:
            health = health.with_header("Authorization", f"Bearer {admin_token}")
        self.waiting_for(health.with_startup_timeout(startup_timeout))

    def _fixture_path(self, fixture: Path) -> str:
        """A fixture file of this machine is mounted read-only; any other path is the image's (fixtures/...)."""
        if not fixture.is_file():
            return str(fixture)
        self.with_volume_mapping(str(fixture.resolve()), f"{FIXTURE_IN_CONTAINER}/{fixture.name}", "ro")
        return f"{FIXTURE_IN_CONTAINER}/{fixture.name}"

    def get_container_host_ip(self) -> str:
        """Where the sandbox answers: with host networking, the engine's machine (loopback for a local engine)."""
        if not self.host_network:
            return super().get_container_host_ip()
        host = self.get_docker_client().host()
        return "127.0.0.1" if host in LOCAL_HOSTS else host

    def get_exposed_port(self, port: int) -> int:
        """The host port of a container port: the same number with host networking (no mapping)."""
        return port if self.host_network else super().get_exposed_port(port)

    @property
    def base_url(self) -> str:
        """The server's root URL (no tenant prefix)."""
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(self.port)}"

    @property
    def url(self) -> str:
        """The URL a client under test uses: the tenant's /t/<tenant> prefix when a tenant was given."""
        return self.base_url + (f"/t/{self.tenant}" if self.tenant else "")

    @property
    def sandbox(self) -> SandboxHandle:
        """The control plane (the pytest plugin's handle) of this container's sandbox and tenant."""
        return SandboxHandle(self.url, self.admin_token)

    # The pytest plugin's verbs, on the container itself.
    def reset(self) -> None:
        """Back to the fixture state: bookings, tokens, fault rules and recorded exchanges cleared."""
        self.sandbox.reset()

    def add_fault(self, kind: str, method: str = "*", **rule) -> dict:
        """Add a fault rule (see the README's fault modes); returns it with its id."""
        return self.sandbox.add_fault(kind, method, **rule)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.sandbox.clear_faults()

    def bookings(self, **filters) -> list[dict]:
        """Every booking the sandbox holds (filters: user_id, merchant_id, status)."""
        return self.sandbox.bookings(**filters)

    def exchanges(self, **filters) -> list[dict]:
        """Recorded /v3 exchanges, newest first (filters: method, status, booking_id)."""
        return self.sandbox.exchanges(**filters)

    def set_clock(self, **change) -> dict:
        """Freeze, advance or unfreeze the sandbox clock, e.g. set_clock(advance_sec=3600)."""
        return self.sandbox.set_clock(**change)

    def feed(self, name: str) -> dict:
        """One of the feeds: merchants, services, availability."""
        return self.sandbox.feed(name)

    def export_har(self) -> dict:
        """The recorded exchanges as a HAR 1.2 document (for browser devtools and HAR viewers)."""
        return self.sandbox.export_har()


def _free_port() -> int:
    """A TCP port free on this machine right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
