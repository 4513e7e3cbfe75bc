"""The head-to-head: the sandbox, its no-cliff variants and the baselines, all up at once, measured in turns.

One scenario after the other, round after round: a noisy neighbour then hits all of them alike, and the
medians over the rounds are what the ratios compare (bench/targets.py prints them against the targets).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from . import loadgen, procs, report, workloads
from .procs import AUTH_HEADER

# ~100k slots: enough open spots that CreateBooking runs that keep their bookings never run out.
BOOKING_FIXTURE = (34, 60)
WIREMOCK_WARMUP_S = 5.0  # the JVM's JIT needs a longer first warm-up than the Python servers


def run(bench, with_wiremock: bool) -> None:
    """Start every server, check each answers as expected, then measure every scenario in turns."""
    plan, tmp = bench.plan, bench.tmp
    jar = wiremock_jar(plan.install_wiremock) if with_wiremock else None
    if with_wiremock and jar is None:
        bench.out["notes"].append(
            "WireMock skipped (needs java, npm and the npm package `wiremock` in "
            ".cache/bench/wiremock; quick mode only uses an already installed copy)"
        )
    with ExitStack() as stack:
        on = stack.enter_context(procs.sandbox(tmp, record=1))
        off = stack.enter_context(procs.sandbox(tmp, record=0))
        books = stack.enter_context(
            procs.sandbox(tmp, record=1, fixture=str(procs.cached_fixture(*BOOKING_FIXTURE)), ready_timeout=300)
        )
        work = workloads.discover(on.port)
        bench.bal_body, camel = work.bal_body, workloads.camel_case(work.bal_body)
        answer = workloads.check_bal(on.port, work.bal_body)
        bench.answer_path.write_bytes(answer)
        if workloads.check_bal(on.port, camel) != answer:
            bench.out["notes"].append("the camelCase lookup answers other bytes than the canonical one")
        workloads.check_bal(off.port, work.bal_body)
        workloads.check_booking(on.port, work.booking_slots[0], f"check-{time.time_ns()}")
        spots = workloads.discover(books.port, booking_slots=10**7, per_spot=True).booking_slots
        workloads.check_booking(books.port, spots[0], f"check-{time.time_ns()}", workloads.PAYMENT_JSON)
        workloads.reset(books.port)
        echo = stack.enter_context(procs.echo(tmp, bench.answer_path))
        raw = stack.enter_context(procs.echo(tmp, bench.answer_path, raw=True))
        scenarios: list[tuple[str, str, Callable[[str], loadgen.Result]]] = [
            ("bal_rec_on", "BAL sandbox, recording on", lambda t: bench.bal("", t, on.port, work.bal_body)),
            ("bal_camel", "BAL camelCase, recording on", lambda t: bench.bal("", t, on.port, camel)),
            ("bal_fault_armed", "BAL, unrelated fault armed", lambda t: armed_lookup(bench, t, on.port)),
            ("bal_rec_off", "BAL sandbox, recording off", lambda t: bench.bal("", t, off.port, work.bal_body)),
            ("bal_echo", "BAL echo (bare Flask, granian)", lambda t: bench.bal("", t, echo.port, work.bal_body)),
            ("bal_raw", "BAL raw WSGI callable, granian", lambda t: bench.bal("", t, raw.port, work.bal_body)),
            (
                "booking_rec_on",
                "Create+cancel sandbox, recording on",
                lambda t: bench.booking("", t, on.port, work.booking_slots),
            ),
            ("create_plain", "CreateBooking, recording on", lambda t: creates(bench, t, books.port, spots, "")),
            (
                "create_payment",
                "CreateBooking + payment_information",
                lambda t: creates(bench, t, books.port, spots, workloads.PAYMENT_JSON),
            ),
        ]
        if jar is not None:
            wiremock = stack.enter_context(start_wiremock(tmp, jar, bench.answer_path))
            bench.gen.bal("warm-up", wiremock.port, work.bal_body, AUTH_HEADER, WIREMOCK_WARMUP_S, bench.connections)
            scenarios.insert(
                6,
                (
                    "bal_wiremock",
                    "BAL WireMock stub (JIT-warm)",
                    lambda t: bench.bal("", t, wiremock.port, work.bal_body),
                ),
            )
        runs: dict[str, list] = {}
        for number in range(1, plan.rounds + 1):
            print(f"  round {number}/{plan.rounds}", flush=True)
            for key, title, measure in scenarios:
                runs.setdefault(key, []).append(measure(title))
    for key, results in runs.items():
        bench.out["results"][key] = report.median_of(results)
    for key in ("create_plain", "create_payment"):
        if bench.out["results"][key]["counters"].get("failures"):
            bench.out["notes"].append(
                f"{key}: some CreateBooking calls failed (open spots ran out?); its figure mixes in the failure path"
            )
    journal = sum(p.stat().st_size for p in (tmp / "recordings").rglob("*") if p.is_file())
    bench.out["recording_journal_bytes"] = journal
    if not journal:
        bench.out["notes"].append("MOCK_RECORD=1 wrote no journal: recording is not active in this build")


def armed_lookup(bench, title: str, port: int) -> loadgen.Result:
    """The canonical lookup while a fault rule for another method is armed (added before, removed after)."""
    rule_id = workloads.arm_fault(port, workloads.UNRELATED_FAULT)
    try:
        workloads.check_bal(port, bench.bal_body)
        return bench.bal("", title, port, bench.bal_body)
    finally:
        workloads.remove_fault(port, rule_id)


def creates(bench, title: str, port: int, spots: list[str], payment: str) -> loadgen.Result:
    """CreateBooking alone (bookings kept, one open spot each), then a reset gives the spots back."""
    connections, stamp = bench.connections, f"create-{time.time_ns()}"
    split = len(spots) * 4 // 5  # the warm-up books from the tail, the measured run from the head
    try:
        bench.gen.booking(
            "warm-up",
            port,
            spots[split:],
            f"{stamp}-w",
            AUTH_HEADER,
            bench.plan.warmup,
            connections,
            keep=True,
            payment=payment,
        )
        result = bench.gen.booking(
            title, port, spots[:split], stamp, AUTH_HEADER, bench.plan.duration, connections, keep=True, payment=payment
        )
    finally:
        workloads.reset(port)
    return bench.keep_result("", result)


def start_wiremock(tmp: Path, jar: Path, answer_path: Path) -> procs.Server:
    """WireMock serving the sandbox's own lookup answer as a canned stub."""
    root = tmp / "wiremock"
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    stub = {
        "request": {"method": "POST", "urlPath": "/v3/BatchAvailabilityLookup"},
        "response": {"status": 200, "body": answer_path.read_text(), "headers": {"Content-Type": "application/json"}},
    }
    (root / "mappings" / "bal.json").write_text(json.dumps(stub))
    return procs.wiremock(tmp, jar, root)


def wiremock_jar(install: bool) -> Path | None:
    """The WireMock standalone jar from the npm package under .cache/bench/wiremock, installing it if allowed."""
    if not (shutil.which("java") and shutil.which("npm")):
        return None
    prefix = procs.CACHE / "wiremock"
    jars = sorted(prefix.glob("node_modules/wiremock/**/*.jar"))
    if not jars and install:
        prefix.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent", "wiremock@3"],
                capture_output=True,
                timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        jars = sorted(prefix.glob("node_modules/wiremock/**/*.jar"))
    return jars[-1] if jars else None
