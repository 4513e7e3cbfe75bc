"""Waitlist notifications: the moves of an entry the client did not make (admin actions, the clock's moves once the
clock is changed through /_admin) are PATCHed to the receiver as the Maps Booking API's WaitlistEntry, each once
(both stores)."""

from __future__ import annotations

import time

import pytest

from mock_server import create_app, notify
from mock_server.runtime import EXTENSION_KEY
from mock_server.tenancy import TENANTS_KEY
from tests.api.test_waitlist import ASYNC_MERCHANT, MAIN, SYNC, entry_body, local, period, rules
from tests.conftest import FROZEN_AT, STORES, store_settings
from tests.helpers import wait_for
from tests.notify_receiver import Receiver

MASK = "updateMask=waitlistEntryState,waitlistEntryStateTimes"
ASYNC = "WAITLIST_CONFIRMATION_MODE_ASYNCHRONOUS"


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def make(request, receiver, tmp_path, store: dict) -> object:
    settings = {
        "clock": FROZEN_AT,
        "recordings_dir": str(tmp_path / "recordings"),
        "notify_url": receiver.url,
        "partner_id": "p-7",
        "notify_backoff_s": 0.05,
    }
    app = create_app({**settings, **store}, environ={})
    request.addfinalizer(app.extensions[notify.EXTENSION_KEY].stop)
    return app


@pytest.fixture(params=STORES)
def store(request) -> dict:
    return store_settings(request, request.param)


@pytest.fixture
def app(request, receiver, tmp_path, store):
    return make(request, receiver, tmp_path, store)


def received(app, receiver) -> list[dict]:
    """What the receiver got, once everything queued was sent."""
    assert app.extensions[notify.EXTENSION_KEY].idle(30)
    return receiver.received


def rfc3339(sec: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sec))


def join(client, merchant_id: str, n: int = 1, party_size: int = 2, prefix: str = "") -> str:
    body = entry_body(merchant_id, party_size, n)
    return client.post(f"{prefix}/v3/CreateWaitlistEntry", json=body).get_json()["waitlist_entry_id"]


def test_a_merchant_confirm_patches_the_whole_entry(app, receiver):
    client = app.test_client()
    runtime = app.extensions[EXTENSION_KEY]
    now = local(runtime, ASYNC_MERCHANT, period(runtime, ASYNC_MERCHANT, "OPEN"))
    client.post("/_admin/clock", json={"freeze_at_sec": now})
    entry_id = join(client, ASYNC_MERCHANT)
    assert received(app, receiver) == []  # the client's own creation is not notified
    client.post("/_admin/clock", json={"advance_sec": 10})
    assert client.post(f"/_admin/waitlist/{entry_id}/confirm").status_code == 200
    assert received(app, receiver) == [
        {
            "path": f"/v1alpha/notification/partners/p-7/waitlistEntries/{entry_id}",
            "query": MASK,
            "type": "application/json",
            "body": {
                "name": f"partners/p-7/waitlistEntries/{entry_id}",
                "merchantId": ASYNC_MERCHANT,
                "serviceId": "dinner",
                "partySize": 2,
                "waitlistEntryState": "WAITING",
                "waitlistEntryStateTimes": {"createdTime": rfc3339(now)},
                "waitEstimate": {
                    "partySize": 2,
                    "waitLength": {},  # a table for 2 is free at dining-010's opening: no wait
                    "waitlistConfirmationMode": ASYNC,
                },
            },
        }
    ]


def test_the_clock_moves_are_notified_once_each(app, receiver):
    client = app.test_client()
    runtime = app.extensions[EXTENSION_KEY]
    now = local(runtime, MAIN, period(runtime, MAIN, "OPEN"))
    client.post("/_admin/clock", json={"freeze_at_sec": now})
    entry_id = join(client, MAIN, party_size=3)
    entry = runtime.bookings.waitlist.get(entry_id)
    seated = entry.ready_sec + rules(runtime, MAIN)["seat_after_sec"]
    client.post("/_admin/clock", json={"freeze_at_sec": entry.ready_sec})
    client.post("/_admin/clock", json={"freeze_at_sec": now})  # back, then forward past the same move again
    client.post("/_admin/clock", json={"freeze_at_sec": seated + 5})
    got = received(app, receiver)
    assert [(r["body"]["waitlistEntryState"], r["body"]["waitlistEntryStateTimes"]) for r in got] == [
        ("SERVICE_READY", {"createdTime": rfc3339(now), "serviceReadiedTime": rfc3339(entry.ready_sec)}),
        (
            "SEATED",
            {
                "createdTime": rfc3339(now),
                "serviceReadiedTime": rfc3339(entry.ready_sec),
                "seatedTime": rfc3339(seated),
            },
        ),
    ]
    served = {"partySize": 3, "waitLength": {}, "waitlistConfirmationMode": SYNC}
    assert [r["body"]["waitEstimate"] for r in got] == [served, served]
    assert {r["query"] for r in got} == {MASK}
    lines = client.get("/_admin/recordings?method=BookingNotification").get_json()["exchanges"]
    # Each attempt is journalled (newest first), as a booking notification's is.
    assert [line["request"]["body"] for line in lines[::-1]] == [r["body"] for r in got]


def test_the_users_own_cancel_is_not_notified_but_a_merchant_cancel_is(app, receiver):
    client = app.test_client()
    runtime = app.extensions[EXTENSION_KEY]
    client.post("/_admin/clock", json={"freeze_at_sec": local(runtime, MAIN, period(runtime, MAIN, "OPEN"))})
    mine, theirs = join(client, MAIN, 1), join(client, MAIN, 2)
    assert client.post("/v3/DeleteWaitlistEntry", json={"waitlist_entry_id": mine}).status_code == 200
    assert client.post(f"/_admin/waitlist/{theirs}/cancel").status_code == 200
    client.post("/_admin/clock", json={"advance_sec": 86400})  # both are over: nothing more moves
    got = received(app, receiver)
    assert [(r["path"].rsplit("/", 1)[-1], r["body"]["waitlistEntryState"]) for r in got] == [(theirs, "CANCELED")]
    assert "canceledTime" in got[0]["body"]["waitlistEntryStateTimes"]


def test_the_notifier_stays_wired_after_a_reset(app, receiver):
    client = app.test_client()
    assert client.post("/_admin/reset").status_code == 200
    runtime = app.extensions[EXTENSION_KEY]
    client.post("/_admin/clock", json={"freeze_at_sec": local(runtime, MAIN, period(runtime, MAIN, "OPEN"))})
    entry_id = join(client, MAIN, party_size=3)  # parties of 3 wait at dining-001's opening
    assert client.post(f"/_admin/waitlist/{entry_id}/ready").status_code == 200
    assert [r["body"]["waitlistEntryState"] for r in received(app, receiver)] == ["SERVICE_READY"]


def test_notifications_off_change_nothing(tmp_path):
    app = create_app({"clock": FROZEN_AT, "recordings_dir": str(tmp_path / "r")}, environ={})
    client = app.test_client()
    runtime = app.extensions[EXTENSION_KEY]
    client.post("/_admin/clock", json={"freeze_at_sec": local(runtime, MAIN, period(runtime, MAIN, "OPEN"))})
    entry_id = join(client, MAIN, party_size=3)  # parties of 3 wait at dining-001's opening
    assert client.post(f"/_admin/waitlist/{entry_id}/ready").status_code == 200
    assert client.post("/_admin/clock", json={"advance_sec": 86400}).status_code == 200
    assert client.get("/_admin/recordings?method=BookingNotification").get_json()["exchanges"] == []


def test_two_servers_on_one_redis_notify_a_move_once(request, receiver, tmp_path):
    store = store_settings(request, "redis")
    first = make(request, receiver, tmp_path / "a", store)
    second = make(request, receiver, tmp_path / "b", store)
    client = first.test_client()
    runtime = first.extensions[EXTENSION_KEY]
    now = local(runtime, MAIN, period(runtime, MAIN, "OPEN"))
    client.post("/_admin/clock", json={"freeze_at_sec": now})
    entry_id = join(client, MAIN, party_size=3)
    ready = runtime.bookings.waitlist.get(entry_id).ready_sec
    client.post("/_admin/clock", json={"freeze_at_sec": ready})
    # The other server learns the clock from the store and looks for moves to tell: the first told this one.
    other = second.extensions[EXTENSION_KEY]
    other.sync()
    assert other.clock.now() == ready > now
    with second.test_request_context("/_admin/clock"):
        assert other.bookings.waitlist.notify_moves() == 0
    assert received(first, receiver) == received(second, receiver)
    assert [r["body"]["waitlistEntryState"] for r in receiver.received] == ["SERVICE_READY"]


def test_the_watch_tells_each_tenants_running_clock_moves_once_in_that_tenants_journal(app, receiver):
    client = app.test_client()
    tenants = app.extensions[TENANTS_KEY]
    runtime = app.extensions[EXTENSION_KEY]
    now = local(runtime, MAIN, period(runtime, MAIN, "OPEN"))
    entries = {}
    for name, prefix in (("default", ""), ("acme", "/t/acme"), ("still", "/t/still")):
        client.post(f"{prefix}/_admin/clock", json={"freeze_at_sec": now})
        entry_id = join(client, MAIN, party_size=3, prefix=prefix)
        entries[name] = tenants.get(name).runtime.bookings.waitlist.get(entry_id)
    # Time passes (no /_admin/clock call): two clocks run past the table's readiness, one stays frozen past it.
    for name in ("default", "acme", "still"):
        clock = tenants.get(name).runtime.clock
        clock.freeze(entries[name].ready_sec + 1)
        if name != "still":
            clock.unfreeze()
    assert notify.tell_clock_moves(app) == 2
    assert notify.tell_clock_moves(app) == 0  # told once
    got = received(app, receiver)
    assert sorted((r["path"], r["body"]["waitlistEntryState"]) for r in got) == sorted(
        (f"/v1alpha/notification/partners/p-7/waitlistEntries/{entries[name].entry_id}", "SERVICE_READY")
        for name in ("default", "acme")
    )
    for prefix, count in (("", 1), ("/t/acme", 1), ("/t/still", 0)):
        lines = client.get(f"{prefix}/_admin/recordings?method=BookingNotification").get_json()["exchanges"]
        assert len(lines) == count, prefix


def test_a_notification_fault_armed_through_another_server_breaks_the_next_attempt(request, tmp_path):
    receiver = Receiver()
    request.addfinalizer(receiver.close)
    receiver.script = [503]  # the first attempt fails; the retry comes 2 s later
    store = {**store_settings(request, "redis"), "notify_backoff_s": 2.0}
    first = make(request, receiver, tmp_path / "a", store)
    second = make(request, receiver, tmp_path / "b", store)
    client = first.test_client()
    runtime = first.extensions[EXTENSION_KEY]
    client.post("/_admin/clock", json={"freeze_at_sec": local(runtime, MAIN, period(runtime, MAIN, "OPEN"))})
    entry_id = join(client, MAIN, party_size=3)
    assert client.post(f"/_admin/waitlist/{entry_id}/ready").status_code == 200
    wait_for(lambda: receiver.received, "the first attempt")
    rule = {"method": "BookingNotification", "kind": "notification_failure", "times": 1}
    armed = second.test_client().post("/_admin/faults", json=rule)
    assert armed.status_code == 201
    # The retry, decided on the first server's sender thread (no request there since), meets the other's rule.
    assert first.extensions[notify.EXTENSION_KEY].idle(20)
    lines = client.get("/_admin/recordings?method=BookingNotification").get_json()["exchanges"][::-1]
    attempts = [(x["attempt"], x["response"]["status"], x["faults"]) for x in lines]
    assert attempts[:2] == [
        (1, 503, []),
        (2, 500, [{"id": armed.get_json()["id"], "kind": "notification_failure"}]),
    ]
    assert len(receiver.received) == 2  # the first attempt and the third: the faulted one never left the sandbox


def test_the_watch_leaves_a_tenant_deleted_through_another_server_deleted(request, receiver, tmp_path):
    import redis

    store = store_settings(request, "redis")
    first = make(request, receiver, tmp_path / "a", store)
    second = make(request, receiver, tmp_path / "b", store)
    for app in (first, second):  # both servers hold the tenant, its clock running
        assert app.test_client().post("/t/acme/_admin/clock", json={"unfreeze": True}).status_code == 200
    assert first.test_client().delete("/_admin/tenants/acme").status_code == 204
    client = redis.Redis.from_url(store["store"])
    pattern = f"{store['store_prefix']}:{{acme}}:*"
    left = client.keys(pattern)  # the generation counter only: the others' next request sees the change by it
    assert [key.rsplit(b":", 1)[-1] for key in left] == [b"gen"]
    assert notify.tell_clock_moves(second) == 0
    assert client.keys(pattern) == left  # not brought back by the look (no new anchor, clock or rules)
    assert first.test_client().delete("/_admin/tenants/acme").status_code == 404


def test_a_tenant_whose_look_fails_leaves_the_others_told(app, receiver, monkeypatch):
    client = app.test_client()
    tenants = app.extensions[TENANTS_KEY]
    runtime = app.extensions[EXTENSION_KEY]
    now = local(runtime, MAIN, period(runtime, MAIN, "OPEN"))
    for prefix in ("/t/broken", "/t/fine"):
        client.post(f"{prefix}/_admin/clock", json={"freeze_at_sec": now})
        entry_id = join(client, MAIN, party_size=3, prefix=prefix)
    fine = tenants.get("fine").runtime
    fine.clock.freeze(fine.bookings.waitlist.get(entry_id).ready_sec + 1)
    fine.clock.unfreeze()
    tenants.get("broken").runtime.clock.unfreeze()

    def down():
        raise ConnectionError("the store is down")

    monkeypatch.setattr(tenants.get("broken").runtime.bookings.waitlist, "notify_moves", down)
    with pytest.raises(RuntimeError, match="tenant broken: the store is down"):
        notify.tell_clock_moves(app)
    assert [r["body"]["waitlistEntryState"] for r in received(app, receiver)] == ["SERVICE_READY"]
