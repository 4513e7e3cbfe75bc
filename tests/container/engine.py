"""The Docker engine the container tests talk to (DOCKER_HOST, as .ci/run sets it), and small helpers around it."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("RWG_IMAGE", "localhost/rwg-sandbox")
LOCAL_BASE = "localhost/py-base"  # made by build_base.sh; Docker Hub cannot be reached here
BASE_IMAGE = os.environ.get("RWG_BASE_IMAGE", LOCAL_BASE)


@functools.cache
def skip_reason() -> str | None:
    """Why the container tests cannot run here, or None when an engine answers (asked once per session)."""
    if os.environ.get("RWG_CONTAINER_TEST") == "0":
        return "RWG_CONTAINER_TEST=0"
    if shutil.which("docker") is None:
        return "no docker CLI on PATH (.ci/run installs docker.io and starts an engine)"
    proc = subprocess.run(["docker", "version"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return f"no Docker engine answers (DOCKER_HOST={os.environ.get('DOCKER_HOST', 'default')}; .ci/run starts one)"
    if BASE_IMAGE == LOCAL_BASE and os.geteuid() != 0:
        return "the local base image needs root for debootstrap (or set RWG_BASE_IMAGE to an image you have)"
    return None


def require_engine() -> None:
    """Skip without an engine; fail instead under CI=true (CI must not go green without the image tests)."""
    reason = skip_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true" and os.environ.get("RWG_CONTAINER_TEST") != "0":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def docker(*args: str, timeout: float = 120) -> str:
    """Run a docker command, fail the test with its output if it fails, return its stdout."""
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (
        f"docker {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


def free_port() -> int:
    """A TCP port free on the host right now (the containers share the host's network)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
