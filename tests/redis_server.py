"""A Redis server for the tests of the shared store: CI's (RWG_TEST_REDIS), else one started here, else a skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis


def start_local() -> tuple[str, subprocess.Popen, Path] | None:
    """redis-server on a unix socket in a temp dir, no TCP port, no persistence; None without the binary."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="rwg-redis-", dir="/tmp"))  # a socket path must stay under 108 bytes
    socket = folder / "redis.sock"
    proc = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(socket), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"unix://{socket}?db=0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if redis.Redis.from_url(url).ping():
                return url, proc, folder
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not answer on its socket within 10 s")


def url_or_skip() -> tuple[str, subprocess.Popen | None, Path | None]:
    """The Redis to test against; skips (fails under CI=true) when there is none."""
    given = os.environ.get("RWG_TEST_REDIS")
    if given:
        return given, None, None
    started = start_local()
    if started is not None:
        return started
    reason = "no Redis: set RWG_TEST_REDIS or install redis-server (.ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def fresh_prefix() -> str:
    """A key prefix no other test uses (tests share one Redis)."""
    return f"t{uuid.uuid4().hex[:12]}"


def forget(url: str, prefix: str) -> None:
    """Delete every key under the prefix."""
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.unlink(*keys)
