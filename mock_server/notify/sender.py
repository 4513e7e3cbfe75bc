"""The notification sender: a bounded queue, one thread, retries with exponential backoff, every attempt journalled.

The thread starts with the first notification queued, or when a serving process has it watch the sandbox clock
(`watch`; building an app starts no thread, process.py), in that process, so a forked worker starts its own. One
thread sends in order: a notification waits for the one before it (retries included), as a partner's single RTU
client would; Google applies a booking's updates in the order sent. A watching notifier runs its tick every
WATCH_EVERY_S on a second thread, so a notification being retried never holds the tick back.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.util
import os
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from ..faults.engine import Effect
from ..faults.kinds import notification_failure

QUEUE_SIZE = 1000  # notifications waiting; past it a new one is dropped (and logged), never a blocked admin call
RETRIED = frozenset({429, 500, 502, 503, 504})  # what a retry may fix; any other 4xx would fail again
DRAIN_AT_EXIT_S = 5.0  # how long an ending process still sends what is queued (inside docker stop's 10 s)
METHOD = "BookingNotification"  # the fault rules' name for it, and the journal line's rpc
WATCH_EVERY_S = 1.0  # how often a watching notifier runs its tick (the moves a running sandbox clock made)
TICK_ERROR_LOG_EVERY_S = 60.0  # a tick that keeps failing (Redis down) says so once a minute, not every second

log = logging.getLogger("mock_server.notify")


class Channel(Protocol):
    """What one tenant lends its notifications: a fault decision per attempt, and its journal."""

    def live(self) -> bool:
        """False once the state the notification tells of is gone (the tenant reset or deleted): stop sending it."""
        ...

    def fault(self, facts: dict[str, str]) -> Effect | None:
        """The notification_failure rule that fires on this attempt, if any (it is spent)."""
        ...

    def journal(self, record: dict, status: int | None) -> None:
        """Record one attempt (setting its clock_sec)."""
        ...


@dataclass(slots=True)
class Delivery:
    """One notification: where it goes, what it says, and the tenant it is for."""

    path: str  # under the base URL: /v1alpha/notification/partners/{p}/bookings/{b}
    body: dict
    update_mask: list[str]
    channel: Channel
    facts: dict[str, str] = field(default_factory=dict)  # match keys (merchant_id, booking_id, ...) for fault rules
    extra_query: list[tuple[str, str]] = field(default_factory=list)  # e.g. bookingFailure.cause for FAILED

    @property
    def query(self) -> str:
        """updateMask first, then any extra parameters (commas kept as they are, as Google's samples write them)."""
        pairs = [("updateMask", ",".join(self.update_mask)), *self.extra_query]
        return "&".join(f"{k}={urllib.parse.quote(v, safe=',')}" for k, v in pairs)


@dataclass(slots=True)
class Answer:
    """What one attempt got: a status and body, or why there was none; and the fault that decided it."""

    status: int | None
    headers: dict = field(default_factory=dict)
    body: object = None
    error: str = ""  # no answer: connection refused, timed out, ...
    fault: Effect | None = None

    @property
    def retried(self) -> bool:
        """A connection error, a timeout, 429 or a 5xx: another attempt may succeed."""
        return self.status is None or self.status in RETRIED

    @property
    def delivered(self) -> bool:
        """Answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


def backoff_delays(attempts: int, first_s: float) -> list[float]:
    """The wait before each retry: first_s, then doubled each time (attempts - 1 of them)."""
    return [first_s * 2**n for n in range(attempts - 1)]


class Notifier:
    """Sends notifications to one base URL from a background thread (see the module docstring)."""

    def __init__(self, base_url: str, attempts: int, backoff_s: float, timeout_s: float):
        self.base_url = base_url.rstrip("/")
        self.delays = backoff_delays(attempts, backoff_s)
        self.timeout_s = timeout_s
        self.dropped = 0
        self._queue: queue.Queue[Delivery] = queue.Queue(QUEUE_SIZE)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._drains_in = 0  # the pid whose exit drains the queue
        self._stop = threading.Event()
        self._tick: Callable[[], None] | None = None
        self._ticking = threading.Lock()  # held while a tick runs: a drain waits for it
        self._watcher: threading.Thread | None = None
        self._tick_error_logged = -TICK_ERROR_LOG_EVERY_S

    def watch(self, tick: Callable[[], None]) -> None:
        """Run `tick` every WATCH_EVERY_S from now on, on a thread of its own (the serving process:
        notify.watch_clock); what it queues is sent by the sender thread, which it starts."""
        self._ensure_thread()  # and the drain at exit, which ends the ticks first
        with self._lock:
            self._tick = tick
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(target=self._watch, name="notifications-clock", daemon=True)
                self._watcher.start()

    def send(self, delivery: Delivery) -> bool:
        """Queue a notification (False: the queue is full, it is dropped); the thread starts with the first one."""
        self._ensure_thread()
        try:
            self._queue.put_nowait(delivery)
        except queue.Full:
            self.dropped += 1
            log.warning("notification queue full (%d): %s dropped", QUEUE_SIZE, delivery.path)
            return False
        return True

    def idle(self, timeout_s: float) -> bool:
        """Wait until every queued notification is sent or given up (tests; a drain); False when time ran out."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def stop(self) -> None:
        """End the threads once the notification (or tick) each is on is done (the rest stay queued)."""
        self._stop.set()
        for thread in (self._thread, self._watcher):
            if thread is not None:
                thread.join()

    def deliver(self, delivery: Delivery) -> bool:
        """Every attempt of one notification, waiting between them; True when one was answered 2xx."""
        for attempt in range(1, len(self.delays) + 2):
            answer = self.attempt(delivery, attempt)
            if answer is None:
                # A reset or deleted tenant starts afresh: its old bookings' news would reach the receiver (and the
                # new journal) as if the new state had made it.
                log.info("notification %s dropped: its tenant was reset or deleted", delivery.path)
                return False
            if answer.delivered or not answer.retried or attempt > len(self.delays):
                return answer.delivered
            if self._stop.wait(self.delays[attempt - 1]):
                return False
        return False

    def attempt(self, delivery: Delivery, number: int) -> Answer | None:
        """One PATCH (or the fault in its place), journalled; None (nothing sent, no rule spent) when the tenant was
        reset or deleted, before the fault decision or while it was taken (on a shared store it takes on another
        server's reset)."""
        if not delivery.channel.live():
            return None
        url = f"{self.base_url}{delivery.path}?{delivery.query}"
        data = orjson.dumps(delivery.body)
        headers = {"Content-Type": "application/json", "User-Agent": "rwg-sandbox-notifier"}
        epoch, started = time.time(), time.perf_counter()
        fault = delivery.channel.fault(delivery.facts)
        if not delivery.channel.live():
            return None
        if fault is not None:
            answer = self._faulted(fault)
        else:
            answer = self._patch(url, data, headers)
        retry_in = self.delays[number - 1] if answer.retried and number <= len(self.delays) else None
        record = {
            "seq": 0,  # numbered by the journal
            "kind": "notification",
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z",
            "clock_sec": None,  # the tenant's sandbox clock (its channel sets it)
            "rpc": METHOD,
            "method": "PATCH",
            "path": delivery.path,
            "query": delivery.query,
            "url": url,
            "attempt": number,
            "request": {"headers": headers, "body": delivery.body},
            "response": None
            if answer.status is None
            else {"status": answer.status, "headers": answer.headers, "body": answer.body},
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "faults": [] if fault is None else [{"id": fault.rule_id, "kind": fault.kind}],
            "warnings": [],
            "outcome": _outcome(answer, retry_in),
        }
        if answer.status is None:
            record["no_response"] = answer.error
        delivery.channel.journal(record, answer.status)
        return answer

    def _faulted(self, fault: Effect) -> Answer:
        status, body = notification_failure(fault)
        if status is None:
            return Answer(None, error=f"timed out (sandbox fault {fault.rule_id})", fault=fault)
        return Answer(status, {"Content-Type": "application/json"}, body, fault=fault)

    def _patch(self, url: str, data: bytes, headers: dict) -> Answer:
        request = urllib.request.Request(url, data=data, headers=headers, method="PATCH")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - http(s) only
                return Answer(response.status, dict(response.headers), _body(response.read()))
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, dict(exc.headers or {}), _body(exc.read()))
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, unresolvable, timed out
            reason = getattr(exc, "reason", exc)
            return Answer(None, error=f"no answer: {reason}")

    def _ensure_thread(self) -> None:
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()
            if not alive:
                self._pid = os.getpid()
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="notifications", daemon=True)
                self._thread.start()
                self._drain_at_exit()

    def _drain_at_exit(self) -> None:
        """Have this process send what is queued before it ends, and before the journal's last flush (process.py)
        writes the attempts: atexit runs the newest first; a granian worker ends through multiprocessing's
        finalizers, where a higher priority runs first."""
        if self._drains_in == os.getpid():
            return
        self._drains_in = os.getpid()
        atexit.register(self.drain)
        if multiprocessing.parent_process() is not None:
            multiprocessing.util.Finalize(None, self.drain, exitpriority=110)

    def drain(self) -> None:
        """End the ticks (a move a tick told after this would never be sent: its entry says it was), then wait up to
        DRAIN_AT_EXIT_S for the queued notifications (a shutdown)."""
        self._tick = None
        if self._ticking.acquire(timeout=DRAIN_AT_EXIT_S):  # the tick under way, if any, queues what it found
            self._ticking.release()
        if not self.idle(DRAIN_AT_EXIT_S):
            log.warning("%d notification(s) not sent before exit", self._queue.unfinished_tasks)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delivery = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self.deliver(delivery)
            except Exception:  # noqa: BLE001 - one broken notification must not stop the sender
                log.exception("a notification could not be sent: %s", delivery.path)
            finally:
                self._queue.task_done()

    def _watch(self) -> None:
        """Each WATCH_EVERY_S, the tick, until the notifier stops or drains."""
        while not self._stop.wait(WATCH_EVERY_S):
            with self._ticking:
                tick = self._tick
                if tick is None:
                    return
                try:
                    tick()
                except Exception:  # noqa: BLE001 - a store that is down now may be back at the next tick
                    self._tick_failed()

    def _tick_failed(self) -> None:
        """Log the tick's failure, at most once a minute."""
        now = time.monotonic()
        if now - self._tick_error_logged >= TICK_ERROR_LOG_EVERY_S:
            self._tick_error_logged = now
            log.exception("looking for waitlist moves to notify failed (retried every %.0f s)", WATCH_EVERY_S)


def _body(data: bytes) -> object:
    """The receiver's answer: JSON when it is JSON, else its text (None when empty)."""
    if not data:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode("utf-8", "replace")


def _outcome(answer: Answer, retry_in: float | None) -> str:
    """The attempt in a few words, for the listing and the dashboard."""
    got = f"answered {answer.status}" if answer.status is not None else answer.error
    if answer.delivered:
        return f"delivered ({got})"
    if retry_in is not None:
        return f"{got}; retry in {retry_in:g} s"
    return f"{got}; given up" if answer.retried else f"{got}; not retried"
