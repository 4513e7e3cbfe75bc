"""Server processes for the benchmark: sandbox, echo baseline, WireMock; readiness, memory, fixture cache."""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"
HOST = "127.0.0.1"
BASIC_AUTH = "bench:bench"
AUTH_HEADER = "Basic YmVuY2g6YmVuY2g="  # base64 of BASIC_AUTH
THREADS = 8  # the sandbox's default MOCK_THREADS; the echo baseline gets the same


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _venv_bin(name: str) -> str:
    """A console script next to the running interpreter (the venv's), else on PATH."""
    sibling = Path(sys.executable).parent / name
    return str(sibling) if sibling.exists() else (shutil.which(name) or name)


class Server:
    """A server started in its own session; stopped by killing its whole process group."""

    def __init__(
        self, name: str, argv: list[str], env: dict, log_dir: Path, ready_path: str, ready_timeout: float = 60.0
    ):
        self.name, self.argv, self.env, self.ready_path = name, argv, env, ready_path
        self.log_path = log_dir / f"{name}.log"
        self.ready_timeout = ready_timeout
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.ready_s = 0.0

    def start(self) -> Server:
        """Start and wait for the first 200 on the ready path; ready_s is Popen-to-200 time."""
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        env = {k: v.replace("{port}", str(self.port)) for k, v in self.env.items()}
        began = time.perf_counter()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        while time.perf_counter() - began < self.ready_timeout:
            if self.proc.poll() is not None:
                break
            if _status(self.port, self.ready_path) == 200:
                self.ready_s = time.perf_counter() - began
                return self
            time.sleep(0.01)
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.name} did not become ready in {self.ready_timeout:.0f} s:\n{tail}")

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL what is left."""
        if self.proc is None or self.proc.poll() is not None and not self.pids():
            return
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while self.pids() and time.monotonic() < deadline:
                self.proc.poll()
                time.sleep(0.05)
            if not self.pids():
                break
        self.proc.wait(timeout=5)

    def pids(self) -> list[int]:
        """Live processes of the group (the granian worker is a child of `python app.py`)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] != "Z" and int(fields[2]) == self.proc.pid:
                found.append(int(stat.parent.name))
        return sorted(found)

    def memory_mb(self) -> dict:
        """Worker RSS, group RSS sum (double-counts copy-on-write pages) and group PSS sum, in MB."""
        pids = self.pids()
        rss = {pid: _proc_kb(f"/proc/{pid}/status", "VmRSS") for pid in pids}
        pss = sum(_proc_kb(f"/proc/{pid}/smaps_rollup", "Pss") for pid in pids)
        worker = max(rss, default=0)  # the newest process is the forked worker
        return {
            "worker_rss_mb": round(rss.get(worker, 0) / 1024, 1),
            "group_rss_mb": round(sum(rss.values()) / 1024, 1),
            "group_pss_mb": round(pss / 1024, 1),
        }

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _status(port: int, path: str) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


def _proc_kb(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def sandbox(
    log_dir: Path,
    record: int = 1,
    fixture: str = "",
    ready_timeout: float = 60.0,
    threads: int = THREADS,
    log_level: str = "INFO",
    extra_env: dict[str, str] | None = None,
    name: str = "",
) -> Server:
    """`python app.py` as users run it (Basic auth on, access log on); recording on or off, journals in a temp dir.

    extra_env overrides settings (e.g. MOCK_BASIC_AUTH='*:bench' for Basic-auth tenancy); name tells apart
    servers otherwise configured alike (their logs).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_")}
    env.update(
        MOCK_HOST=HOST,
        MOCK_PORT="{port}",
        MOCK_BASIC_AUTH=BASIC_AUTH,
        MOCK_RECORD=str(record),
        MOCK_RECORDINGS_DIR=str(log_dir / "recordings"),
        MOCK_LOG_LEVEL=log_level,
        MOCK_THREADS=str(threads),
    )
    if fixture:
        env["MOCK_FIXTURE"] = fixture
    env.update(extra_env or {})
    name = name or f"sandbox-record{record}-t{threads}" + (f"-{Path(fixture).stem}" if fixture else "")
    return Server(name, [sys.executable, "app.py"], env, log_dir, "/_admin/health", ready_timeout)


def echo(log_dir: Path, answer_path: Path, threads: int = THREADS, raw: bool = False) -> Server:
    """The bare Flask echo (raw: the bare WSGI callable) under granian: 1 worker, the sandbox's threads and backlog."""
    env = {**os.environ, "BENCH_ECHO_BODY": str(answer_path)}
    target = "bench.raw_app:app" if raw else "bench.echo_app:app"
    argv = [
        _venv_bin("granian"),
        "--interface",
        "wsgi",
        "--workers",
        "1",
        "--blocking-threads",
        str(threads),
        "--backlog",
        "2048",
        "--host",
        HOST,
        "--port",
        "{port}",
        "--log-level",
        "warning",
        "--no-ws",
        target,
    ]
    return Server(f"{'raw' if raw else 'echo'}-granian-t{threads}", argv, env, log_dir, "/_admin/health")


def wiremock(log_dir: Path, jar: Path, root_dir: Path) -> Server:
    """WireMock serving the canned stubs under root_dir, request journal off."""
    argv = [
        "java",
        "-jar",
        str(jar),
        "--port",
        "{port}",
        "--bind-address",
        HOST,
        "--root-dir",
        str(root_dir),
        "--disable-banner",
        "--no-request-journal",
        "--disable-request-logging",
    ]
    return Server("wiremock", argv, dict(os.environ), log_dir, "/__admin/health", ready_timeout=60)


def cached_fixture(merchants: int, days: int, seed: int = 42) -> Path:
    """Generate a fixture with the CLI once per size (and generator version) under .cache/bench/."""
    generator = (ROOT / "mock_server" / "fixturegen.py").read_bytes()
    key = hashlib.sha256(generator).hexdigest()[:10]
    path = CACHE / f"fixture-m{merchants}-d{days}-seed{seed}-{key}.json"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    out = subprocess.run(
        [
            _venv_bin("rwg-sandbox"),
            "fixtures",
            "generate",
            "--seed",
            str(seed),
            "--merchants",
            str(merchants),
            "--days",
            str(days),
            "--out",
            str(partial),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"(\d+) slots", out)
    print(f"  generated {path.name}: {match.group(1) if match else '?'} slots", flush=True)
    partial.rename(path)
    return path
