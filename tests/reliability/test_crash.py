"""kill -9 in the middle of concurrent creates, cancels and reschedules, N times over one MOCK_DB_PATH.

After each kill the server restarts on the same files and must hold: the store loads, every
acknowledged change is there (a change in flight may or may not be), a retried unanswered
CreateBooking never books twice, availability agrees with the bookings, and the exchange journal
lost at most the lines of the exchanges in flight.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time

import pytest

from .support import (
    Http,
    consistency_problems,
    env_int,
    journal_lines,
    plain_entries,
    reschedule_targets,
)
from .traffic import Ledger, Tracked, Worker

pytestmark = pytest.mark.e2e

CRASH_RUNS = env_int("RELIABILITY_CRASH_RUNS", 5)
# Forty journal flush intervals (every 50 ms): the background writer runs late when a loaded machine starves it.
SETTLE_S = 2.0
THREADS = 4
SEED = 20260101
WEIGHTS = {"create": 50, "cancel": 25, "move": 25}


def test_kill_9_mid_traffic_loses_nothing_acknowledged(start_server, tmp_path, figures):
    rng = random.Random(SEED)
    db = tmp_path / "state" / "db.json"
    env = {"MOCK_DB_PATH": str(db), "MOCK_RECORDING": "crash", "MOCK_THREADS": "8"}
    server = start_server(**env)
    journal = tmp_path / "rec" / "crash.jsonl"
    http = Http(server.url)
    entries = plain_entries(http)
    groups = reschedule_targets(entries)
    ledger = Ledger()
    torn_before = 0
    in_flight = 0
    survived = 0
    for run in range(CRASH_RUNS):
        kill_after = ledger.acked + rng.randint(50, 250)  # acknowledged changes before the kill
        answered_before, lines_before = ledger.answered_v3, journal_lines(journal)[0]
        stop = threading.Event()
        workers = [
            Worker(
                http, ledger, entries, groups, number=i, seed=SEED + run, stop=stop, weights=WEIGHTS, prefix=f"r{run}"
            )
            for i in range(THREADS)
        ]
        for worker in workers:
            worker.start()
        answered_at = []  # (when, answered so far): what the journal must hold
        first_answer_at = None  # the kill waits until answers are SETTLE_S old, however slow the first one was
        while (
            ledger.acked < kill_after or first_answer_at is None or time.monotonic() - first_answer_at < SETTLE_S
        ) and any(w.is_alive() for w in workers):
            now, so_far = time.monotonic(), ledger.answered_v3
            answered_at.append((now, so_far))
            if first_answer_at is None and so_far > answered_before:
                first_answer_at = now
            stop.wait(0.002)
        killed_at = time.monotonic()
        server.stop(signal.SIGKILL)
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        assert not ledger.errors, ledger.errors
        in_flight += len(ledger.unanswered_creates) + sum(1 for t in ledger.bookings.values() if t.pending)

        # The journal: every line parses but possibly the last one, the exchange in flight.
        parsed, broken = journal_lines(journal)
        assert len(broken) - torn_before <= 1, broken[-3:]
        if len(broken) > torn_before:
            assert not journal.read_bytes().endswith(b"\n"), "a broken line that is not the torn last one"
        torn_before = len(broken)
        answered = ledger.answered_v3 - answered_before
        recorded = parsed - lines_before
        # Lines are written in batches (every 50 ms): what was answered SETTLE_S before the kill is in.
        settled = max(count for when, count in answered_at if when <= killed_at - SETTLE_S) - answered_before
        assert 0 < settled <= recorded <= answered + THREADS, (settled, answered, recorded)

        json.loads(db.read_text())  # the snapshot is whole JSON
        server = start_server(**env)
        http = Http(server.url)
        _check_acknowledged_state(http, ledger)
        _retry_unanswered_creates(http, ledger)
        assert consistency_problems(http) == []
        survived += 1
        figures["crash runs survived"] = f"{survived}/{CRASH_RUNS}"
    figures["crash: acknowledged changes checked"] = ledger.acked
    figures["crash: calls in flight at the kills"] = in_flight
    assert survived == CRASH_RUNS


def _check_acknowledged_state(http: Http, ledger: Ledger) -> None:
    """Every booking a client saw is stored as last acknowledged, or as the change in flight made it."""
    stored = {b["booking_id"]: b for b in http.get("/_admin/bookings?limit=100000")["bookings"]}
    for booking_id, tracked in ledger.bookings.items():
        assert booking_id in stored, f"acknowledged booking {booking_id} lost"
        row = stored[booking_id]
        acknowledged = (tracked.status, tracked.start_sec, tracked.duration_sec)
        now = (row["status"], row["slot"]["start_sec"], row["slot"]["duration_sec"])
        allowed = {acknowledged}
        if tracked.pending == ("cancel",):
            allowed.add(("CANCELED", tracked.start_sec, tracked.duration_sec))
        elif tracked.pending:
            allowed.add((tracked.status, tracked.pending[1], tracked.pending[2]))
        assert now in allowed, (booking_id, now, allowed)
        # The restarted server goes on from what is stored.
        tracked.status, tracked.start_sec, tracked.duration_sec = now
        tracked.pending = None
    known_tokens = {t.token for t in ledger.bookings.values()}
    in_flight = {token for token, _ in ledger.unanswered_creates}
    for row in stored.values():
        token = row["idempotency_token"]
        assert row["booking_id"] in ledger.bookings or token in in_flight, f"unexpected booking {row}"
        assert token in known_tokens or token in in_flight


def _retry_unanswered_creates(http: Http, ledger: Ledger) -> None:
    """A client that got no answer retries with the same token: it gets the stored booking or a new one, once."""
    stored_by_token = {b["idempotency_token"]: b for b in http.get("/_admin/bookings?limit=100000")["bookings"]}
    for token, body in list(ledger.unanswered_creates):
        status, answer = http.post("/v3/CreateBooking", body)
        assert status == 200, (status, answer)
        again = http.post("/v3/CreateBooking", body)[1]
        assert again == answer  # the retry of the retry answers the same
        if token in stored_by_token:
            assert "booking" in answer, answer
            assert answer["booking"]["booking_id"] == stored_by_token[token]["booking_id"]
        if "booking" in answer:
            booking = answer["booking"]
            ledger.bookings[booking["booking_id"]] = Tracked(
                booking["booking_id"],
                token,
                booking["status"],
                booking["slot"]["start_sec"],
                booking["slot"]["duration_sec"],
            )
    ledger.unanswered_creates.clear()
    tokens = [b["idempotency_token"] for b in http.get("/_admin/bookings?limit=100000")["bookings"]]
    assert len(tokens) == len(set(tokens)), "a token booked twice"
