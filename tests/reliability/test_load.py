"""Concurrency over real HTTP: retries of one token book once; racing clients never overbook."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import STORES, store_settings

from .support import (
    Http,
    consistency_problems,
    create_body,
    feed_key,
    plain_entries,
    slot_of,
)

pytestmark = pytest.mark.e2e

THREADS = 24


@pytest.fixture(params=STORES)
def sandbox(request, start_server):
    """A real server on each store (Redis: the races are decided by its commit script, not a process lock)."""
    env = {f"MOCK_{k.upper()}": v for k, v in store_settings(request, request.param).items()}
    server = start_server(MOCK_THREADS="16", **env)
    return Http(server.url)


def test_threads_times_retries_of_one_token_create_exactly_one_booking(sandbox, figures):
    entries = plain_entries(sandbox)
    tokens = [f"same-{n}" for n in range(12)]
    bodies = {token: create_body(entries[n], f"idem{n}", token) for n, token in enumerate(tokens)}
    # Every token is sent by 8 threads, 6 times each, all tokens interleaved: 576 calls.
    calls = [token for token in tokens for _ in range(8 * 6)]
    random.Random(5).shuffle(calls)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(lambda token: (token, sandbox.post("/v3/CreateBooking", bodies[token])), calls))
    by_token: dict[str, set] = {}
    for token, (status, body) in answers:
        assert status == 200 and "booking" in body, (status, body)
        by_token.setdefault(token, set()).add(str(body))
    assert all(len(seen) == 1 for seen in by_token.values())  # every retry answers the very same booking
    stored = sandbox.get("/_admin/bookings?limit=100000")["bookings"]
    assert sorted(b["idempotency_token"] for b in stored) == sorted(tokens)
    assert consistency_problems(sandbox) == []
    figures["idempotent retries"] = f"{len(calls)} concurrent calls on {len(tokens)} tokens: {len(stored)} bookings"


def test_clients_racing_for_the_last_spots_of_many_slots_never_overbook(sandbox, figures):
    entries = plain_entries(sandbox)
    # One-spot slots and slots with a few spots (classes, dining tables): fewer spots than clients everywhere.
    contested = [e for e in entries if e["spots_total"] == 1][:20] + [
        e for e in entries if 2 <= e["spots_total"] < THREADS
    ][:20]
    assert len(contested) == 40
    spots = sum(e["spots_total"] for e in contested)

    def client(n: int):
        order = list(contested)
        random.Random(n).shuffle(order)
        won = Counter()
        for entry in order:
            body = create_body(entry, f"racer{n}", f"race-{n}-{feed_key(entry)}")
            status, body = sandbox.post("/v3/CreateBooking", body)
            assert status == 200, (status, body)
            if "booking" in body:
                won[feed_key(entry)] += 1
            else:
                assert body["booking_failure"]["cause"] == "SLOT_UNAVAILABLE", body
        return won

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        wins = sum((w for w in pool.map(client, range(THREADS))), Counter())
    # Demand (24 clients) is above supply (<= 4 spots) everywhere: every spot goes, none twice.
    for entry in contested:
        assert wins[feed_key(entry)] == entry["spots_total"], entry
    feed = {
        feed_key(e): e
        for group in sandbox.get("/feeds/availability.json")["service_availability"]
        for e in group["availability"]
    }
    assert all(feed[feed_key(e)]["spots_open"] == 0 for e in contested)
    assert consistency_problems(sandbox) == []
    figures["last-spot race"] = f"{THREADS} clients x {len(contested)} slots, {spots} spots, {sum(wins.values())} won"


def test_creates_cancels_and_reschedules_racing_on_few_slots_never_overbook(sandbox):
    entries = plain_entries(sandbox)
    # Four slots of one service and resource with few spots, so clients collide all the time.
    group = next(g for g in _groups(entries).values() if len(g) >= 4 and sum(e["spots_total"] for e in g[:4]) <= 12)
    slots = group[:4]
    errors: list[str] = []

    def client(n: int):
        rng = random.Random(n)
        mine: list[str] = []
        for step in range(60):
            action = rng.choice(["create", "create", "cancel", "move"]) if mine else "create"
            if action == "create":
                entry = rng.choice(slots)
                body = create_body(entry, f"churn{n}x{step}", f"churn-{n}-{step}")
                status, body = sandbox.post("/v3/CreateBooking", body)
                if "booking" in body:
                    mine.append(body["booking"]["booking_id"])
            elif action == "cancel":
                booking_id = mine.pop(rng.randrange(len(mine)))
                status, body = sandbox.post(
                    "/v3/UpdateBooking", {"booking": {"booking_id": booking_id, "status": "CANCELED"}}
                )
            else:
                target = rng.choice(slots)
                status, body = sandbox.post(
                    "/v3/UpdateBooking",
                    {
                        "booking": {
                            "booking_id": rng.choice(mine),
                            "slot": {
                                "start_sec": str(target["start_sec"]),
                                "duration_sec": str(target["duration_sec"]),
                            },
                        }
                    },
                )
            if status != 200 or ("booking" not in body and body["booking_failure"]["cause"] != "SLOT_UNAVAILABLE"):
                errors.append(f"{action}: {status} {body}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(client, range(16)))
    assert errors == []
    assert consistency_problems(sandbox) == []


def _groups(entries):
    out: dict[tuple, list] = {}
    for e in entries:
        out.setdefault((e["merchant_id"], e["service_id"], str(slot_of(e)["resources"])), []).append(e)
    return out
