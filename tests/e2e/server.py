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


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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

    def start(self, timeout: float = 20.0) -> ServerProcess:
        """Launch and wait until /_admin/health answers."""
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
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self._admin_request("/_admin/health"), timeout=1) as response:
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
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        wait_for_group_exit(self.process.pid)
        self.process = None

    def get(self, path: str) -> dict:
        """GET a JSON document (with the admin token, when the server has one)."""
        with urllib.request.urlopen(self._admin_request(path), timeout=10) as response:
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
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def wait_for_group_exit(pgid: int, timeout: float = 5.0) -> None:
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
