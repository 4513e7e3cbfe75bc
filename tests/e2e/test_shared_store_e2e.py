"""Two real servers on one Redis (MOCK_STORE) serve one sandbox: races, retries, reset, a killed server, Redis down."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from mock_server.config import ROOT
from tests.e2e.test_tenants_e2e import create_body, one_spot_slot
from tests.helpers import feed_slot, wait_for
from tests.redis_server import forget, fresh_prefix, start_local

pytestmark = pytest.mark.e2e

RACERS = 16


@pytest.fixture
def pair(start_server, redis_url, tmp_path):
    """Two servers on the test Redis, under keys of this test only, each with its own journal folder."""
    prefix = fresh_prefix()
    yield [
        start_server(MOCK_STORE=redis_url, MOCK_STORE_PREFIX=prefix, MOCK_RECORDINGS_DIR=str(tmp_path / f"rec{n}"))
        for n in (1, 2)
    ]
    forget(redis_url, prefix)


def bookings(server) -> list[dict]:
    return server.get("/_admin/bookings?limit=1000")["bookings"]


def test_racing_for_the_last_spot_through_two_servers_one_wins(pair):
    slot, payment = one_spot_slot(pair[0])
    calls = [(pair[n % 2], create_body(slot, payment, "shared", n)) for n in range(RACERS)]
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        answers = list(pool.map(lambda call: call[0].post("/v3/CreateBooking", call[1]), calls))
    won = [body["booking"] for status, body in answers if status == 200 and "booking" in body]
    lost = [body["booking_failure"]["cause"] for status, body in answers if "booking_failure" in body]
    assert len(won) == 1 and lost == ["SLOT_UNAVAILABLE"] * (RACERS - 1)
    assert won[0]["booking_id"] == "B0000001"
    # Both servers see the one booking and the slot full.
    for server in pair:
        assert [b["booking_id"] for b in bookings(server)] == ["B0000001"]
        slot_time = {**{k: v for k, v in slot.items() if k != "resources"}, "resource_ids": slot.get("resources", {})}
        lookup = {"merchant_id": slot["merchant_id"], "slot_time": [slot_time]}
        status, body = server.post("/v3/BatchAvailabilityLookup", lookup)
        assert status == 200 and body["slot_time_availability"][0]["available"] is False


def test_one_token_retried_at_both_servers_at_once_books_once(pair):
    slot, payment = one_spot_slot(pair[0])
    body = create_body(slot, payment, "retry", 0)
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        answers = list(pool.map(lambda n: pair[n % 2].post("/v3/CreateBooking", body), range(RACERS)))
    assert {status for status, _ in answers} == {200}
    assert {answer["booking"]["booking_id"] for _, answer in answers} == {"B0000001"}
    assert len(bookings(pair[0])) == 1 and len(bookings(pair[1])) == 1


def test_a_cancel_and_a_reset_through_one_server_are_seen_by_the_other(pair):
    one, two = pair
    slot, payment = one_spot_slot(one)
    status, answer = one.post("/v3/CreateBooking", create_body(slot, payment, "seen", 1))
    booking_id = answer["booking"]["booking_id"]
    status, cancelled = two.post("/v3/UpdateBooking", {"booking": {"booking_id": booking_id, "status": "CANCELED"}})
    assert status == 200 and cancelled["booking"]["status"] == "CANCELED"
    assert one.post("/v3/GetBookingStatus", {"booking_id": booking_id})[1]["booking_status"] == "CANCELED"
    one.post("/v3/CreateBooking", create_body(slot, payment, "seen", 2))
    assert len(bookings(two)) == 2
    assert one.post("/_admin/reset", {})[0] == 200
    assert bookings(two) == [] and two.get("/_admin/health")["counts"]["bookings"] == 0
    # Ids start again at B0000001, whichever server books next.
    status, again = two.post("/v3/CreateBooking", create_body(slot, payment, "seen", 3))
    assert again["booking"]["booking_id"] == "B0000001"


def test_a_server_killed_mid_stream_leaves_every_confirmed_booking_to_the_other(pair):
    one, two = pair
    feed = one.get("/feeds/availability.json")["service_availability"]
    services = {(s["merchant_id"], s["service_id"]): s for s in one.get("/feeds/services.json")["service"]}
    entries = [
        e
        for group in feed
        for e in group["availability"]
        if e["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS"
        and services[(e["merchant_id"], e["service_id"])].get("prepayment_type") != "REQUIRED"
    ][:200]

    answered = threading.Event()

    def book(n: int) -> str | None:
        try:
            status, body = one.post("/v3/CreateBooking", create_body(feed_slot(entries[n]), None, "kill", n))
        except OSError:
            return None  # the server died under this request
        if status == 200 and "booking" in body:
            answered.set()
            return body["booking"]["booking_id"]
        return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(book, n) for n in range(len(entries))]
        # Kill once bookings are being answered (a fixed pause may end before the first one on a loaded machine);
        # with 200 to make, 8 at a time, the kill still lands mid-stream.
        answered.wait(60)
        one.stop(signal.SIGKILL)
        confirmed = {f.result() for f in futures} - {None}
    assert confirmed, "no booking was answered before the kill"
    held = {b["booking_id"]: b["status"] for b in bookings(two)}
    assert all(held.get(booking_id) == "CONFIRMED" for booking_id in confirmed)
    # Whatever was committed without an answer is whole: counted, holding its spot, listed.
    assert two.get("/_admin/health")["counts"]["active_bookings"] == len(held)


def test_redis_down_is_a_clear_503_then_the_server_recovers_with_no_partial_booking(start_server, tmp_path):
    url, proc, folder = start_local()
    try:
        server = start_server(MOCK_STORE=url, MOCK_STORE_PREFIX="down")
        slot, payment = one_spot_slot(server)
        assert server.post("/v3/CreateBooking", create_body(slot, payment, "down", 1))[0] == 200
        proc.terminate()
        proc.wait(timeout=10)
        status, body = server.post("/v3/CreateBooking", create_body(slot, payment, "down", 2))
        assert status == 503 and body["message"].startswith("the Redis store (MOCK_STORE) cannot be reached")
        try:
            server.get("/_admin/health")
            raise AssertionError("health answered 200 with Redis down")
        except OSError as error:  # urllib's HTTPError for the 503
            assert getattr(error, "code", None) == 503
        socket = url.removeprefix("unix://").split("?")[0]
        proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", socket, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: answers_ping(url), "the restarted redis-server answering")
        # The restarted Redis kept nothing (no persistence): the server serves its empty state at once.
        assert server.get("/_admin/health")["status"] == "ready"
        status, answer = server.post("/v3/CreateBooking", create_body(slot, payment, "down", 3))
        assert status == 200 and answer["booking"]["booking_id"] == "B0000001"
        assert [b["booking_id"] for b in bookings(server)] == ["B0000001"]
    finally:
        proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_times_budget_is_shared_exactly_and_the_used_up_rule_retires_on_both(pair):
    one, two = pair
    rule = {"method": "GetBookingStatus", "kind": "http_error", "status": 503, "times": 3}
    assert one.post("/_admin/faults", rule)[0] == 201
    # Both servers list it before any call.
    assert [r["kind"] for r in two.get("/_admin/faults")["faults"]] == ["http_error"]
    statuses = [pair[n % 2].post("/v3/GetBookingStatus", {"booking_id": "B-none"})[0] for n in range(10)]
    assert statuses.count(503) == 3 and statuses[:3] == [503, 503, 503]
    assert set(statuses[3:]) == {404}
    for server in pair:
        listed = server.get("/_admin/faults")
        assert listed["faults"] == [] and [(r["fired"], r["retired"]) for r in listed["retired"]] == [(3, "used_up")]


def test_the_clock_frozen_through_one_server_stands_still_on_the_other(pair):
    one, two = pair
    slot, payment = one_spot_slot(one)
    at = int(slot["start_sec"]) + 60  # just after the slot starts
    assert one.post("/_admin/clock", {"freeze_at_sec": at})[1]["now_sec"] == at
    assert two.get("/_admin/clock") == {"now_sec": at, "frozen": True, "offset_sec": 0}
    status, answer = two.post("/v3/CreateBooking", create_body(slot, payment, "clock", 1))
    assert answer["booking_failure"] == {"cause": "SLOT_UNAVAILABLE", "description": "the slot starts in the past"}
    assert two.post("/_admin/clock", {"advance_sec": 60})[1]["now_sec"] == at + 60
    assert one.get("/_admin/clock")["now_sec"] == at + 60


def test_a_probability_rule_draws_the_same_sequence_whichever_server_serves_each_call(pair):
    one, two = pair
    rule = {"method": "GetBookingStatus", "kind": "http_error", "status": 500, "probability": 0.5}

    def run(servers) -> list[int]:
        assert one.post("/_admin/reset", {})[0] == 200
        assert one.post("/_admin/faults", rule)[0] == 201
        return [servers[n % len(servers)].post("/v3/GetBookingStatus", {"booking_id": "B-x"})[0] for n in range(24)]

    alternating, through_two = run(pair), run([two])
    assert alternating == through_two and {500, 404} == set(alternating)


def test_a_scenario_loaded_and_rules_cleared_through_one_server_act_on_the_other(pair):
    one, two = pair
    status, loaded = one.post("/_admin/scenarios/flaky_payments", {})
    assert status == 201 and loaded["faults"]
    listed = two.get("/_admin/faults")["faults"]
    assert [r["id"] for r in listed] == [r["id"] for r in loaded["faults"]]
    request = urllib.request.Request(two.url + "/_admin/faults", method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 204)
    assert one.get("/_admin/faults")["faults"] == []


def answers_ping(url: str) -> bool:
    """Whether the Redis at `url` answers."""
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.RedisError:
        return False


def process_group(pid: int) -> list[str]:
    """The pids in the process group of `pid`."""
    return subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, text=True).stdout.split()


def test_mock_workers_serve_one_sandbox_from_several_processes(start_server, redis_url, tmp_path):
    prefix = fresh_prefix()
    server = start_server(MOCK_STORE=redis_url, MOCK_STORE_PREFIX=prefix, MOCK_WORKERS="2")
    try:
        # Two granian workers under the main process: every request below may land on either.
        # Workers may start after the first answer: wait for both.
        wait_for(lambda: len(process_group(server.process.pid)) >= 3, "the main process and two workers")
        slot, payment = one_spot_slot(server)
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            answers = list(
                pool.map(lambda n: server.post("/v3/CreateBooking", create_body(slot, payment, "w", n)), range(RACERS))
            )
        assert sum("booking" in body for _, body in answers) == 1
        rule = {"method": "GetBookingStatus", "kind": "http_error", "status": 503, "times": 4}
        assert server.post("/_admin/faults", rule)[0] == 201
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: server.post("/v3/GetBookingStatus", {"booking_id": "B0"})[0], range(20)))
        assert statuses.count(503) == 4
        assert server.post("/_admin/clock", {"freeze_at_sec": 1900000000})[0] == 200
        assert {server.get("/_admin/clock")["now_sec"] for _ in range(10)} == {1900000000}
    finally:
        forget(redis_url, prefix)


def test_several_workers_on_the_memory_store_are_refused_with_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={**os.environ, "MOCK_WORKERS": "2", "MOCK_PORT": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "MOCK_WORKERS=2 needs a shared store" in done.stderr


def test_the_export_from_either_server_holds_every_exchange_of_both_in_order(pair):
    slot, payment = one_spot_slot(pair[0])
    calls = [(pair[n % 2], create_body(slot, payment, "journal", n)) for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda call: call[0].post("/v3/CreateBooking", call[1]), calls))
    exports = []
    for server in pair:
        with urllib.request.urlopen(server.url + "/_admin/recordings/export", timeout=10) as response:
            exports.append([json.loads(line) for line in response.read().splitlines()])
    assert exports[0] == exports[1]
    assert [e["seq"] for e in exports[0]] == list(range(1, 9))
    users = sorted(e["request"]["body"]["user_information"]["user_id"] for e in exports[0])
    assert users == sorted(f"journal-racer-{n}" for n in range(8))
    won = [e for e in exports[0] if "booking" in e["response"]["body"]]
    assert len(won) == 1 and won[0]["response"]["body"]["booking"]["booking_id"] == "B0000001"
