"""Start `python app.py` as a real process on a free port, and stop it (process group) afterwards."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUEST_TIMEOUT_S = 30  # a loaded 2-core CI machine answers slowly at times; a hang still fails


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT_TRIES = 3  # a port free when chosen may be bound by another program before the server binds it


class PortTaken(RuntimeError):
    """The server exited at start because its port was in use."""


class ServerProcess:
    """A sandbox server process; `url` is its base URL."""

    def __init__(self, tmp_path: Path, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "MOCK_PORT": str(self.port),
            "MOCK_RECORDINGS_DIR": str(tmp_path / "rec"),
            "MOCK_LOG_LEVEL": "WARNING",
            **{k: str(v) for k, v in env.items()},
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Launch and wait until /_admin/health answers; on another port when the chosen one was taken meanwhile."""
        for _ in range(PORT_TRIES - 1):
            try:
                return self._start_once(timeout)
            except PortTaken:
                self._move_to(free_port())
        return self._start_once(timeout)

    def _move_to(self, port: int) -> None:
        """Listen on `port` instead (free_port's answer can be taken by anyone before the server binds it)."""
        self.url = self.url.replace(f":{self.port}", f":{port}")
        self.port = port
        self.env["MOCK_PORT"] = str(port)
        self.log = self.log.with_name(f"server-{port}.log")

    def _start_once(self, timeout: float) -> ServerProcess:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "app.py"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.log.read_text()
                if f"port {self.port} on " in output and "is in use" in output:
                    self.process = None
                    raise PortTaken(output)
                raise RuntimeError(f"server exited early:\n{output}")
            try:
                with urllib.request.urlopen(self._admin_request("/_admin/health"), timeout=5) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the whole process group (the granian worker is a child) and reap it."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=30)  # a graceful stop writes out buffers: slow on a loaded machine
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        wait_for_group_exit(self.process.pid)
        self.process = None

    def get(self, path: str) -> dict:
        """GET a JSON document (with the admin token, when the server has one)."""
        with urllib.request.urlopen(self._admin_request(path), timeout=REQUEST_TIMEOUT_S) as response:
            return json.loads(response.read())

    def _admin_request(self, path: str) -> urllib.request.Request:
        token = self.env.get("MOCK_ADMIN_TOKEN")
        return urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"} if token else {})

    def post(self, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
        """POST JSON; returns (status, body) for 2xx and 4xx/5xx alike."""
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def wait_for_group_exit(pgid: int, timeout: float = 15.0) -> None:
    """Children of the group may outlive the leader by a moment: wait until none is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
