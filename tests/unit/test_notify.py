"""Booking notifications: the Maps Booking API body and updateMask, the backoff, the attempts a failure makes."""

from __future__ import annotations

import dataclasses
import threading
import time

from mock_server.domain.models import Booking, Slot, SlotSpec, UserInformation
from mock_server.faults.engine import Effect
from mock_server.notify import sender
from mock_server.notify.body import booking_body, booking_path, update_mask
from mock_server.notify.sender import Delivery, Notifier, backoff_delays
from tests.helpers import wait_for

START = 1767261600  # 2026-01-01T10:00:00Z

BOOKING = Booking(
    booking_id="B0000007",
    slot=SlotSpec("m-1", "s-1", START, 3600, staff_id="st-1", party_size=2, has_resources=True),
    user=UserInformation(
        "u-1",
        given_name="Ada",
        family_name="Lovelace",
        telephone="+1 555-010-0101",
        email="ada@example.com",
        address=(("country", "US"), ("postal_code", "10001"), ("street_address", "1 Main St")),
    ),
    status="CANCELED",
    held=Slot("m-1", "s-1", START, 3600, 1, staff_id="st-1", party_size=2),
    payment_information={
        "prepayment_status": "PREPAYMENT_REFUNDED",
        "payment_transaction_id": "txn-1",
        "price": {"price_micros": "25000000", "currency_code": "USD"},
    },
)


def test_the_body_is_the_whole_booking_in_the_maps_booking_apis_shape():
    assert booking_body(BOOKING, "p-9") == {
        "name": "partners/p-9/bookings/B0000007",
        "merchantId": "m-1",
        "serviceId": "s-1",
        "startTime": "2026-01-01T10:00:00Z",
        "duration": "3600s",
        "clientInformation": {
            "givenName": "Ada",
            "familyName": "Lovelace",
            # the Maps Booking API's PostalAddress names, not v3's
            "address": {"addressCountry": "US", "postalCode": "10001", "streetAddress": "1 Main St"},
            "telephone": "+1 555-010-0101",
            "email": "ada@example.com",
        },
        "status": "CANCELED",
        # its PaymentInformation has these two fields only: v3's price would be an unknown field (a 400) there
        "paymentInformation": {"prepaymentStatus": "PREPAYMENT_REFUNDED", "paymentTransactionId": "txn-1"},
        "partySize": "2",
    }
    assert booking_path("p-9", "B0000007") == "/v1alpha/notification/partners/p-9/bookings/B0000007"


def test_a_booking_without_payment_or_party_size_leaves_them_out():
    bare = dataclasses.replace(
        BOOKING,
        slot=SlotSpec("m-1", "s-1", START, None),
        user=UserInformation("u-1"),
        held=Slot("m-1", "s-1", START, 1800, 4),
        payment_information=None,
        status="NO_SHOW",
    )
    assert booking_body(bare, "p") == {
        "name": "partners/p/bookings/B0000007",
        "merchantId": "m-1",
        "serviceId": "s-1",
        "startTime": "2026-01-01T10:00:00Z",
        "duration": "1800s",  # the client named none: the held entry's
        "clientInformation": {},
        "status": "NO_SHOW",
    }


def test_the_update_mask_names_each_changed_field_in_order():
    confirmed = dataclasses.replace(
        BOOKING, status="CONFIRMED", payment_information={"prepayment_status": "PREPAYMENT_PROVIDED"}
    )
    assert update_mask(confirmed, BOOKING) == ["status", "paymentInformation.prepaymentStatus"]
    moved = dataclasses.replace(confirmed, slot=confirmed.slot._replace(start_sec=START + 3600, duration_sec=1800))
    assert update_mask(confirmed, moved) == ["startTime", "duration"]
    bigger = dataclasses.replace(confirmed, slot=confirmed.slot._replace(party_size=4))
    assert update_mask(confirmed, bigger) == ["partySize"]
    assert update_mask(confirmed, confirmed) == []


def test_backoff_doubles_from_the_first_delay():
    assert backoff_delays(5, 0.5) == [0.5, 1.0, 2.0, 4.0]
    assert backoff_delays(1, 0.5) == []


def test_the_query_carries_the_mask_and_a_failures_cause():
    delivery = Delivery("/p", {}, ["status", "startTime"], channel=None, extra_query=[("bookingFailure.cause", "X")])  # type: ignore[arg-type]
    assert delivery.query == "updateMask=status,startTime&bookingFailure.cause=X"


class Channel:
    """Fails every attempt as a fault rule would; keeps the journal lines."""

    def __init__(self, status: int | None):
        self.status = status
        self.lines: list[tuple[dict, int | None]] = []

    def live(self):
        return True

    def fault(self, facts):
        params = {"timeout": True} if self.status is None else {"status": self.status}
        return Effect("f1", "notification_failure", params)

    def journal(self, record, status):
        record["clock_sec"] = 0
        self.lines.append((record, status))


def test_a_retried_failure_is_tried_every_attempt_then_given_up():
    channel = Channel(503)
    notifier = Notifier("http://127.0.0.1:9", attempts=3, backoff_s=0.001, timeout_s=1)
    assert notifier.deliver(Delivery("/v1alpha/x", {"a": 1}, ["status"], channel)) is False
    assert [(r["attempt"], r["outcome"], status) for r, status in channel.lines] == [
        (1, "answered 503; retry in 0.001 s", 503),
        (2, "answered 503; retry in 0.002 s", 503),
        (3, "answered 503; given up", 503),
    ]
    record = channel.lines[0][0]
    assert record["response"] == {
        "status": 503,
        "headers": {"Content-Type": "application/json"},
        "body": {
            "code": 503,
            "status": "Service Unavailable",
            "message": "temporarily unavailable; retry with backoff (sandbox fault f1)",
        },
    }
    assert record["faults"] == [{"id": "f1", "kind": "notification_failure"}]
    assert (record["kind"], record["rpc"], record["method"], record["url"]) == (
        "notification",
        "BookingNotification",
        "PATCH",
        "http://127.0.0.1:9/v1alpha/x?updateMask=status",
    )


def test_a_timeout_is_retried_and_a_plain_4xx_is_not():
    timing_out = Channel(None)
    Notifier("http://h", attempts=2, backoff_s=0.001, timeout_s=1).deliver(Delivery("/x", {}, ["status"], timing_out))
    assert [(r["response"], r["no_response"], r["outcome"]) for r, _ in timing_out.lines] == [
        (None, "timed out (sandbox fault f1)", "timed out (sandbox fault f1); retry in 0.001 s"),
        (None, "timed out (sandbox fault f1)", "timed out (sandbox fault f1); given up"),
    ]
    refused = Channel(400)
    Notifier("http://h", attempts=5, backoff_s=0.001, timeout_s=1).deliver(Delivery("/x", {}, ["status"], refused))
    assert [r["outcome"] for r, _ in refused.lines] == ["answered 400; not retried"]


def test_a_connection_refused_is_an_attempt_without_an_answer():
    class Open(Channel):
        def fault(self, facts):
            return None

    channel = Open(None)
    port = _closed_port()
    Notifier(f"http://127.0.0.1:{port}", attempts=1, backoff_s=1, timeout_s=2).deliver(
        Delivery("/x", {}, ["status"], channel)
    )
    [(record, status)] = channel.lines
    assert status is None and record["response"] is None
    assert record["no_response"].startswith("no answer: ") and record["outcome"].endswith("; given up")


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_attempt_is_a_journal_line_of_its_own_kind_with_pii_redacted_on_request(tmp_path):
    from mock_server.config import Settings
    from mock_server.domain.clock import SandboxClock
    from mock_server.recording.capture import Recorder

    settings = Settings.load({}, recordings_dir=str(tmp_path), recording="n", redact_pii=True)
    recorder = Recorder(settings, SandboxClock(frozen_at=START), tenant="acme")
    channel = Channel(502)
    channel.journal = lambda record, status: recorder.record_outbound(record, status)  # type: ignore[method-assign]
    body = booking_body(BOOKING, "p")
    Notifier("http://h", attempts=1, backoff_s=1, timeout_s=1).deliver(Delivery("/x", body, ["status"], channel))
    [entry] = recorder.journal.newest()
    assert (entry.seq, entry.rpc, entry.status) == (1, "BookingNotification", 502)
    line = recorder.journal.get(1)
    assert (line["seq"], line["kind"], line["tenant"], line["pii_redacted"]) == (1, "notification", "acme", True)
    sent = line["request"]["body"]
    assert sent["name"] == body["name"] and sent["status"] == "CANCELED"
    assert "Ada" not in str(sent) and "ada@example.com" not in str(sent)
    assert sent["clientInformation"]["address"]["addressCountry"] == "US"  # too coarse to identify: kept
    assert sent["clientInformation"]["address"]["streetAddress"] != "1 Main St"


def test_the_receivers_credentials_are_never_journalled(tmp_path):
    from mock_server.config import Settings
    from mock_server.domain.clock import SandboxClock
    from mock_server.recording.capture import Recorder

    settings = Settings.load({}, recordings_dir=str(tmp_path), recording="n")
    recorder = Recorder(settings, SandboxClock(frozen_at=START))
    record = {
        "seq": 0,
        "kind": "notification",
        "rpc": "BookingNotification",
        "request": {"headers": {"Content-Type": "application/json"}, "body": {}},
        "response": {"status": 200, "headers": {"Set-Cookie": "sid=abc", "Content-Type": "text/plain"}, "body": None},
    }
    recorder.record_outbound(record, 200)
    line = recorder.journal.get(1)
    assert line["response"]["headers"] == {"Set-Cookie": "[REDACTED]", "Content-Type": "text/plain"}


def test_a_watching_notifier_runs_its_tick_repeatedly_and_outlives_a_failing_one(monkeypatch, caplog):
    monkeypatch.setattr(sender, "WATCH_EVERY_S", 0.02)
    ticks: list[float] = []

    def tick():
        ticks.append(time.monotonic())
        if len(ticks) <= 3:
            raise ConnectionError("the store is down")

    notifier = Notifier("http://127.0.0.1:9", attempts=1, backoff_s=0.01, timeout_s=1)
    notifier.watch(tick)
    try:
        wait_for(lambda: len(ticks) >= 6, "six ticks")  # the three failures did not end the thread
    finally:
        notifier.stop()
    assert all(later > earlier for earlier, later in zip(ticks, ticks[1:], strict=False))
    failures = [r for r in caplog.records if "looking for waitlist moves to notify failed" in r.getMessage()]
    assert len(failures) == 1  # once a minute at most, not once a tick
    stopped_at = len(ticks)
    time.sleep(0.1)
    assert len(ticks) == stopped_at  # a stopped notifier ticks no more


class StuckChannel(Channel):
    """An attempt that does not end until the test lets it (a receiver that hangs)."""

    def __init__(self):
        super().__init__(503)
        self.release = threading.Event()
        self.started = threading.Event()

    def fault(self, facts):
        self.started.set()
        self.release.wait(30)
        return super().fault(facts)


def test_the_ticks_go_on_while_a_notification_hangs_and_end_with_the_drain(monkeypatch):
    monkeypatch.setattr(sender, "WATCH_EVERY_S", 0.02)
    ticks: list[float] = []
    notifier = Notifier("http://127.0.0.1:9", attempts=1, backoff_s=0.01, timeout_s=1)
    channel = StuckChannel()
    try:
        notifier.watch(lambda: ticks.append(time.monotonic()))
        notifier.send(Delivery("/x", {}, ["status"], channel))
        assert channel.started.wait(30)
        hung_at = len(ticks)
        # The sender is stuck on the attempt; the clock watch is not.
        wait_for(lambda: len(ticks) >= hung_at + 3, "three ticks while a notification hangs")
        channel.release.set()
        notifier.drain()
        assert [status for _, status in channel.lines] == [503]
        drained_at = len(ticks)
        time.sleep(0.1)
        assert len(ticks) == drained_at  # a drained notifier tells no more moves: nothing would send them
    finally:
        channel.release.set()
        notifier.stop()


class VanishingChannel(Channel):
    """A tenant reset through another server, found while deciding the attempt's fault (its store synced)."""

    def __init__(self):
        super().__init__(503)
        self.alive = True

    def live(self):
        return self.alive

    def fault(self, facts):
        self.alive = False
        return None


def test_an_attempt_whose_tenant_went_while_its_fault_was_decided_is_neither_sent_nor_journalled():
    channel = VanishingChannel()
    notifier = Notifier("http://127.0.0.1:9", attempts=3, backoff_s=0.001, timeout_s=1)
    assert notifier.attempt(Delivery("/x", {}, ["status"], channel), 1) is None
    retried = VanishingChannel()
    assert notifier.deliver(Delivery("/x", {}, ["status"], retried)) is False
    assert channel.lines == retried.lines == []
