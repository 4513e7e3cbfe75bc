"""Where the time goes, without a network: µs per request of the WSGI app, and an optional cProfile.

.venv/bin/python bench/inprocess.py            # µs/request: sandbox (recording on/off) vs the bare echo
.venv/bin/python bench/inprocess.py --profile  # plus the top functions of the sandbox's BAL path
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import echo_app  # noqa: E402
from bench.procs import AUTH_HEADER, BASIC_AUTH  # noqa: E402
from bench.workloads import resource_ids  # noqa: E402

PAGE = 10


def environ(path: str, body: bytes) -> dict:
    """A minimal WSGI environ for one authenticated JSON POST."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8080",
        "HTTP_AUTHORIZATION": AUTH_HEADER,
        "HTTP_USER_AGENT": "bench",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def call(app, path: str, body: bytes) -> tuple[str, bytes]:
    """One request through the WSGI callable; (status line, body)."""
    seen = []
    chunks = app(environ(path, body), lambda status, headers, exc_info=None: seen.append(status))
    try:
        answer = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return seen[0], answer


def sandbox(record: int, tmp: str, fixture: str = ""):
    """The sandbox app as a served process runs it (Basic auth on; GC policy and batched journal writes of serve)."""
    from mock_server import create_app, process

    if process.background_writer() is None:  # what serve.serving_process() does, with the log lines discarded
        process.serving_logs(open(os.devnull, "w"))  # noqa: SIM115 - the process's log stream, open until exit
        process.PauseGuard().install()
        process.start_background_writer()
    extra = {"fixture": fixture} if fixture else {}
    with process.state_policy():
        app = create_app({"basic_auth": BASIC_AUTH, "record": record, "recordings_dir": tmp, **extra})
    app.extensions["mock_server"].state_policy = process.state_policy
    return app


def bal_body(app) -> bytes:
    """A 10-slot page of the first merchant with that many slots, from the live inventory."""
    client = app.test_client()
    headers = {"Authorization": AUTH_HEADER}
    for merchant in client.get("/feeds/merchants.json", headers=headers).json["merchant"]:
        feed = client.get(f"/feeds/availability.json?merchant_id={merchant['merchant_id']}", headers=headers).json
        entries = [a for sa in feed["service_availability"] for a in sa["availability"]][:PAGE]
        if len(entries) == PAGE:
            slot_times = [
                {
                    "service_id": a["service_id"],
                    "start_sec": str(a["start_sec"]),
                    "duration_sec": str(a["duration_sec"]),
                    "resource_ids": resource_ids(a),
                }
                for a in entries
            ]
            return json.dumps({"merchant_id": merchant["merchant_id"], "slot_time": slot_times}).encode()
    raise RuntimeError("no merchant with a 10-slot page")


def camel_case(body: bytes) -> bytes:
    """The same JSON with lowerCamelCase keys (valid proto3 JSON; the sandbox must answer it the same)."""

    def convert(value):
        if isinstance(value, dict):
            return {_camel(key): convert(item) for key, item in value.items()}
        if isinstance(value, list):
            return [convert(item) for item in value]
        return value

    return json.dumps(convert(json.loads(body))).encode()


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def booking_cycles(app, n: int):
    """n CreateBooking + cancel cycles over free slots of the live inventory (unique token and user each)."""
    client = app.test_client()
    headers = {"Authorization": AUTH_HEADER}
    slots = []
    for group in client.get("/feeds/availability.json", headers=headers).json["service_availability"]:
        for a in group["availability"]:
            if a["spots_open"] > 0 and a["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS":
                slots.append(
                    {
                        "merchant_id": a["merchant_id"],
                        "service_id": a["service_id"],
                        "start_sec": str(a["start_sec"]),
                        "duration_sec": str(a["duration_sec"]),
                        "resources": resource_ids(a),
                    }
                )
    user = {"given_name": "Bench", "family_name": "User", "telephone": "+1 555-010-0101", "email": "b@example.com"}

    def cycle(i: int) -> None:
        body = {
            "slot": slots[i % len(slots)],
            "idempotency_token": f"t-{i}-{time.time_ns()}",
            "user_information": {"user_id": f"u-{i}", **user},
        }
        status, answer = call(app, "/v3/CreateBooking", json.dumps(body).encode())
        booking = json.loads(answer).get("booking")
        if booking:
            cancel = {"booking": {"booking_id": booking["booking_id"], "status": "CANCELED"}}
            call(app, "/v3/UpdateBooking", json.dumps(cancel).encode())

    return cycle


def per_request_us(app, path: str, body: bytes, n: int) -> float:
    """Mean µs per request over n calls, after a short warm-up."""
    for _ in range(200):
        call(app, path, body)
    began = time.perf_counter()
    for _ in range(n):
        call(app, path, body)
    return (time.perf_counter() - began) / n * 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="requests per measurement")
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries (recording on)")
    parser.add_argument("--fixture", default="", help="fixture file (default: the default fixture)")
    args = parser.parse_args(argv)
    # The access log goes where the server sends it (a file): the cost of writing it is part of the path.
    logging.basicConfig(level=logging.INFO, format="%(message)s", filename=tempfile.mktemp(suffix=".log"))
    with tempfile.TemporaryDirectory() as tmp:
        on, off = sandbox(1, tmp, args.fixture), sandbox(0, tmp, args.fixture)
        body = bal_body(on)
        status, answer = call(on, "/v3/BatchAvailabilityLookup", body)
        assert status.startswith("200") and b"slot_time_availability" in answer, (status, answer[:200])
        echo = echo_app.create_app(answer)
        armed = sandbox(1, tmp, args.fixture)  # a rule for another method armed: the lookup must not notice
        rule = {"method": "ListBookings", "kind": "http_error", "status": 503}
        assert armed.test_client().post("/_admin/faults", json=rule).status_code == 201
        camel = camel_case(body)
        assert call(on, "/v3/BatchAvailabilityLookup", camel)[1] == answer
        # name -> (app, body); in turns, five times; the best of each: the least disturbed by the rest of the machine.
        cases = {
            "echo": (echo, body),
            "sandbox, recording off": (off, body),
            "sandbox, recording on": (on, body),
            "camelCase, rec. on": (on, camel),
            "rule armed, rec. on": (armed, body),
        }
        runs: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(5):
            for name, (app, sent) in cases.items():
                runs[name].append(per_request_us(app, "/v3/BatchAvailabilityLookup", sent, args.n // 5))
        rows = {name: min(times) for name, times in runs.items()}
        for name, us in rows.items():
            print(f"{name:24s} {us:7.1f} µs/request  {rows['echo'] / us:5.2f}x echo")
        cycle = booking_cycles(on, args.n)
        began = time.perf_counter()
        for i in range(args.n // 2):
            cycle(i)
        print(
            f"{'create+cancel, rec. on':24s} {(time.perf_counter() - began) / args.n * 1e6:7.1f} µs/request "
            "(incl. the harness's JSON work)"
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(lambda: [call(on, "/v3/BatchAvailabilityLookup", body) for _ in range(args.n)])
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
            profiler = cProfile.Profile()
            profiler.runcall(lambda: [cycle(args.n + i) for i in range(args.n // 2)])
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
