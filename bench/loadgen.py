"""Load generators: wrk with Lua scripts when available, else a closed-loop Python generator (slower)."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .procs import HOST

LUA = Path(__file__).resolve().parent / "lua"
PYTHON_LABEL = "python"  # the fallback; its figures understate the server (the client competes for CPU)


@dataclass
class Result:
    """One measured scenario."""

    scenario: str
    loadgen: str
    connections: int
    duration_s: float
    requests: int
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    counters: dict = field(default_factory=dict)

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.duration_s if self.duration_s else 0.0

    def as_dict(self) -> dict:
        """JSON-ready, with req/s."""
        return {**self.__dict__, "rps": round(self.rps, 1)}


def ensure_wrk() -> str | None:
    """wrk's path; installs the Debian package when running as root and it is missing; None if unavailable."""
    if shutil.which("wrk"):
        return shutil.which("wrk")
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "install", "-y", "-q", "wrk"],
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "wrk"],
    ):
        try:
            done = subprocess.run(argv, env=env, capture_output=True, timeout=180)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if argv[1] == "install" and done.returncode == 0:
            break
    return shutil.which("wrk")


class Wrk:
    """wrk -t1 -cN -dNs with the Lua scripts under bench/lua (percentiles come from its done())."""

    name = "wrk"

    def __init__(self, binary: str, work_dir: Path):
        self.binary, self.work_dir = binary, work_dir

    def bal(self, scenario: str, port: int, body: bytes, auth: str, duration: float, connections: int) -> Result:
        """Repeat one BatchAvailabilityLookup request."""
        path = self.work_dir / "bal-body.json"
        path.write_bytes(body)
        return self._run(
            scenario, port, "/v3/BatchAvailabilityLookup", "bal.lua", [str(path), auth], duration, connections
        )

    def booking(
        self,
        scenario: str,
        port: int,
        slots: list[str],
        prefix: str,
        auth: str,
        duration: float,
        connections: int,
        keep: bool = False,
        payment: str = "",
    ) -> Result:
        """CreateBooking + cancel cycles over the given Slot JSON strings (keep: no cancels; payment: its JSON)."""
        path = self.work_dir / "booking-slots.txt"
        path.write_text("\n".join(slots) + "\n")
        return self._run(
            scenario,
            port,
            "/",
            "booking.lua",
            [str(path), prefix, auth, "keep" if keep else "", payment],
            duration,
            connections,
        )

    def _run(self, scenario, port, url_path, script, args, duration, connections) -> Result:
        argv = [
            self.binary,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA / script),
            f"http://{HOST}:{port}{url_path}",
            "--",
            *args,
        ]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk gave no result (exit {out.returncode}): {out.stderr[-500:] or out.stdout[-500:]}")
        data = json.loads(line.removeprefix("BENCH_JSON "))
        lat = {k: v / 1000 for k, v in data["latency_us"].items()}
        return Result(
            scenario,
            self.name,
            connections,
            data["duration_us"] / 1e6,
            data["requests"],
            sum(data["errors"].values()),
            lat["p50"],
            lat["p90"],
            lat["p99"],
            lat["mean"],
            lat["max"],
            {k: v for k, v in data["counters"].items() if v} | _nonzero(data["errors"]),
        )


def _nonzero(errors: dict) -> dict:
    return {f"errors_{k}": v for k, v in errors.items() if v}


class PythonLoad:
    """Closed loop: one thread per connection, persistent http.client connections, latencies per request."""

    name = PYTHON_LABEL

    def bal(self, scenario: str, port: int, body: bytes, auth: str, duration: float, connections: int) -> Result:
        """Repeat one BatchAvailabilityLookup request."""
        headers = {"Content-Type": "application/json", "Authorization": auth}

        def iteration(send, counters):
            send("/v3/BatchAvailabilityLookup", body, headers)

        return self._run(scenario, port, iteration, duration, connections)

    def booking(
        self,
        scenario: str,
        port: int,
        slots: list[str],
        prefix: str,
        auth: str,
        duration: float,
        connections: int,
        keep: bool = False,
        payment: str = "",
    ) -> Result:
        """CreateBooking + cancel cycles over the given Slot JSON strings (keep: no cancels; payment: its JSON)."""
        headers = {"Content-Type": "application/json", "Authorization": auth}
        numbers = itertools.count(1)
        extra = f'"payment_information":{payment},' if payment else ""

        def iteration(send, counters):
            n = next(numbers)
            body = (
                f'{{"slot":{slots[(n - 1) % len(slots)]},"user_information":{{"user_id":"{prefix}-u{n}",'
                f'"given_name":"Bench","family_name":"User","telephone":"+1 555-010-0101",'
                f'"email":"bench@example.com"}},{extra}"idempotency_token":"{prefix}-t{n}"}}'
            )
            status, answer = send("/v3/CreateBooking", body.encode(), headers)
            booking = json.loads(answer).get("booking") if status == 200 else None
            if not booking:
                counters["failures"] += 1
                return
            counters["creates"] += 1
            if keep:
                return
            cancel = {"booking": {"booking_id": booking["booking_id"], "status": "CANCELED"}}
            status, answer = send("/v3/UpdateBooking", json.dumps(cancel).encode(), headers)
            ok = status == 200 and (json.loads(answer).get("booking") or {}).get("status") == "CANCELED"
            counters["cancels" if ok else "failures"] += 1

        return self._run(scenario, port, iteration, duration, connections)

    def _run(self, scenario, port, iteration, duration, connections) -> Result:
        stop_at = time.perf_counter() + duration
        per_thread = [{"lat": [], "errors": 0, "creates": 0, "cancels": 0, "failures": 0} for _ in range(connections)]

        def worker(state):
            conn = http.client.HTTPConnection(HOST, port, timeout=10)

            def send(path, body, headers):
                began = time.perf_counter()
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                data = response.read()
                state["lat"].append(time.perf_counter() - began)
                if response.status >= 400:
                    state["errors"] += 1
                return response.status, data

            while time.perf_counter() < stop_at:
                try:
                    iteration(send, state)
                except (OSError, http.client.HTTPException, ValueError):
                    state["errors"] += 1
                    conn.close()
            conn.close()

        began = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in per_thread]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
        lat = sorted(x * 1000 for s in per_thread for x in s["lat"])
        counters = {k: sum(s[k] for s in per_thread) for k in ("creates", "cancels", "failures")}
        return Result(
            scenario,
            self.name,
            connections,
            elapsed,
            len(lat),
            sum(s["errors"] for s in per_thread),
            _pct(lat, 50),
            _pct(lat, 90),
            _pct(lat, 99),
            sum(lat) / len(lat) if lat else 0.0,
            lat[-1] if lat else 0.0,
            {k: v for k, v in counters.items() if v},
        )


def _pct(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def pick(choice: str, work_dir: Path):
    """The load generator to use: 'wrk', 'python', or 'auto' (wrk if available, else python)."""
    if choice != PYTHON_LABEL:
        binary = ensure_wrk()
        if binary:
            return Wrk(binary, work_dir)
        if choice == "wrk":
            raise SystemExit("wrk is not available (install the Debian package `wrk`)")
    return PythonLoad()
