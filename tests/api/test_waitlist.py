"""Reservations Waitlists: BatchGetWaitEstimates, CreateWaitlistEntry, GetWaitlistEntry, DeleteWaitlistEntry, the
queue's course over the sandbox clock and the admin actions (both stores; every answer parsed strictly)."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from mock_server.runtime import EXTENSION_KEY
from tests.helpers import journal_file, keep_exchange_notes
from tests.replaying import make_app

SYNC = "WAITLIST_CONFIRMATION_MODE_SYNCHRONOUS"
ASYNC = "WAITLIST_CONFIRMATION_MODE_ASYNCHRONOUS"
# From fixtures/default.json (fixturegen.waitlist_rules, seed 42): dining-001 (US) takes +1 numbers only and parties
# of 1 to 8; dining-007 (GB) parties of 2 to 6 and 3 at most in its queue; dining-010 (FR, +33 numbers only) confirms
# asynchronously.
MAIN, SMALL, ASYNC_MERCHANT = "dining-001", "dining-007", "dining-010"
PHONES = {MAIN: "+1 555-010-0101", SMALL: "+44 20 7946 0101", ASYNC_MERCHANT: "+33 1 99 00 01 01"}


@pytest.fixture(autouse=True)
def _strict(strict_answers):
    """Every 200 answer of these tests parsed strictly as its <Method>Response."""
    return strict_answers


def rules(runtime, merchant_id: str) -> dict:
    return runtime.bookings.inventory.service(merchant_id, "dinner").waitlist


def local(runtime, merchant_id: str, hhmm: str, day: int = 1) -> int:
    """Epoch second of `hhmm` on day `day` after today, in the merchant's zone."""
    zone = ZoneInfo(runtime.bookings.inventory.merchant(merchant_id).timezone)
    date = dt.datetime.fromtimestamp(runtime.clock.now(), zone).date() + dt.timedelta(days=day)
    hour, minute = map(int, hhmm.split(":"))
    return int(dt.datetime.combine(date, dt.time(hour, minute), tzinfo=zone).timestamp())


def period(runtime, merchant_id: str, status: str) -> str:
    """The start of the merchant's waitlist period of that status, plus 15 minutes."""
    start = next(p["from"] for p in rules(runtime, merchant_id)["schedule"] if p["status"] == status)
    hours, minutes = map(int, start.split(":"))
    return f"{hours:02d}:{minutes + 15:02d}"


def at_open(runtime, merchant_id: str = MAIN) -> int:
    now = local(runtime, merchant_id, period(runtime, merchant_id, "OPEN"))
    runtime.clock.freeze(now)
    return now


def user(n: int, telephone: str = "+1 555-010-0101") -> dict:
    return {"user_id": f"wl-user-{n}", "given_name": "Ada", "family_name": "Lovelace", "telephone": telephone}


def entry_body(merchant_id: str = MAIN, party_size: int = 3, n: int = 1, token: str | None = None, **changes) -> dict:
    """A CreateWaitlistEntry body for user `n` at the merchant's dinner waitlist, with a phone it takes."""
    return {
        "merchant_id": merchant_id,
        "service_id": "dinner",
        "party_size": party_size,
        "user_information": user(n, PHONES.get(merchant_id, PHONES[MAIN])),
        "idempotency_token": token or f"wl-token-{merchant_id}-{n}",
        **changes,
    }


def join(client, merchant_id: str = MAIN, party_size: int = 3, n: int = 1, token: str | None = None, **changes):
    return client.post("/v3/CreateWaitlistEntry", json=entry_body(merchant_id, party_size, n, token, **changes))


def entry(client, entry_id: str):
    return client.post("/v3/GetWaitlistEntry", json={"waitlist_entry_id": entry_id})


def estimates(client, merchant_id: str, sizes: list[int]):
    body = {"merchant_id": merchant_id, "service_id": "dinner", "party_size": sizes}
    return client.post("/v3/BatchGetWaitEstimates", json=body)


def expected_estimate(model: dict, now: int, queued: int = 0, mode: str = SYNC) -> dict:
    """The WaitEstimate of a new party: its model's walk-ins plus the queued parties of its table size."""
    ahead = model["walk_ins_ahead"] + queued
    if not ahead:
        return {"party_size": model["party_size"], "wait_length": {}, "waitlist_confirmation_mode": mode}
    ready, half = now + model["walk_ins_ahead"] * model["turn_sec"] + queued * model["turn_sec"], model["turn_sec"] // 2
    return {
        "party_size": model["party_size"],
        "wait_length": {
            "parties_ahead_count": ahead,
            "estimated_seat_time_range": {"start_seconds": str(ready - half), "end_seconds": str(ready + half)},
        },
        "waitlist_confirmation_mode": mode,
    }


# ---- BatchGetWaitEstimates ----


def test_estimates_while_open_have_one_estimate_per_party_size_seated(client, runtime):
    now = at_open(runtime, SMALL)
    models = {m["party_size"]: m for m in rules(runtime, SMALL)["wait_model"]}
    response = estimates(client, SMALL, [1, 2, 4, 6, 7])  # 1 and 7 are outside the 2..6 it seats: left out
    assert response.status_code == 200
    assert response.get_json() == {
        "waitlist_status": "OPEN",
        "wait_estimate": [expected_estimate(models[size], now) for size in (2, 4, 6)],
    }


@pytest.mark.parametrize(
    ("when", "status"),
    [
        ("no_wait", "CLOSED_NO_WAIT"),
        ("last_call", "CLOSED_OTHER"),
        ("03:00", "CLOSED_OTHER"),
        ("23:00", "CLOSED_OTHER"),
    ],
)
def test_a_waitlist_not_open_answers_its_status_only(client, runtime, when, status):
    hhmm = {"no_wait": period(runtime, MAIN, "CLOSED_NO_WAIT"), "last_call": period(runtime, MAIN, "CLOSED_OTHER")}
    runtime.clock.freeze(local(runtime, MAIN, hhmm.get(when, when)))
    assert estimates(client, MAIN, [2, 3]).get_json() == {"waitlist_status": status}


def test_estimates_react_to_the_parties_queued(client, runtime):
    now = at_open(runtime)
    models = {m["party_size"]: m for m in rules(runtime, MAIN)["wait_model"]}
    assert join(client, party_size=4, n=1).get_json() == {"waitlist_entry_id": "W0000001"}
    # A party of 3 sits at a 4-top: the party of 4 queued is ahead of it; a party of 2 (2-top) is not behind it.
    body = estimates(client, MAIN, [2, 3]).get_json()
    first_ready = now + models[4]["walk_ins_ahead"] * models[4]["turn_sec"]
    three = models[3]
    ready = max(now + three["walk_ins_ahead"] * three["turn_sec"], first_ready + three["turn_sec"])
    half = three["turn_sec"] // 2
    assert body == {
        "waitlist_status": "OPEN",
        "wait_estimate": [
            expected_estimate(models[2], now),
            {
                "party_size": 3,
                "wait_length": {
                    "parties_ahead_count": three["walk_ins_ahead"] + 1,
                    "estimated_seat_time_range": {"start_seconds": str(ready - half), "end_seconds": str(ready + half)},
                },
                "waitlist_confirmation_mode": SYNC,
            },
        ],
    }


def test_bad_estimate_requests_are_400(client, runtime):
    at_open(runtime)
    repeated = estimates(client, MAIN, [2, 2])
    assert repeated.status_code == 400
    assert "party_size" in repeated.get_json()["message"]
    no_waitlist = client.post(
        "/v3/BatchGetWaitEstimates", json={"merchant_id": "salon-002", "service_id": "haircut", "party_size": [1]}
    )
    assert no_waitlist.status_code == 400
    assert no_waitlist.get_json()["message"] == (
        "service 'haircut' of merchant 'salon-002' has no waitlist (dining services do)"
    )
    assert estimates(client, "dining-999", [2]).status_code == 400


# ---- CreateWaitlistEntry and GetWaitlistEntry ----


def test_a_new_entry_is_waiting_with_its_estimate(client, runtime):
    now = at_open(runtime)
    model = next(m for m in rules(runtime, MAIN)["wait_model"] if m["party_size"] == 3)
    assert join(client, party_size=3).get_json() == {"waitlist_entry_id": "W0000001"}
    response = entry(client, "W0000001")
    assert response.status_code == 200
    assert response.get_json() == {
        "waitlist_entry": {
            "waitlist_entry_state": "WAITING",
            "waitlist_entry_state_times": {"created_time_seconds": str(now)},
            "wait_estimate": expected_estimate(model, now),
        }
    }


def test_create_is_idempotent_on_its_token(client, runtime):
    at_open(runtime)
    first = join(client, n=1, token="same")
    again = join(client, n=1, token="same")
    other_payload = join(client, n=2, party_size=2, token="same")
    assert first.get_json() == again.get_json() == other_payload.get_json() == {"waitlist_entry_id": "W0000001"}
    assert client.get("/_admin/waitlist").get_json()["count"] == 1


def test_a_token_reused_with_another_body_answers_the_first_entry_with_a_warning(app, client, runtime):
    notes = keep_exchange_notes(app)
    at_open(runtime)
    join(client, n=1, token="same")
    assert join(client, n=1, token="same").get_json() == {"waitlist_entry_id": "W0000001"}
    assert "warnings" not in notes[-1] or not any("idempotency" in w for w in notes[-1]["warnings"])
    assert join(client, n=1, party_size=2, token="same").get_json() == {"waitlist_entry_id": "W0000001"}
    assert "idempotency_token reused with a different payload; original entry returned" in notes[-1]["warnings"]


def test_a_retry_that_read_the_token_before_the_first_call_made_the_entry_answers_that_entry(
    client, runtime, monkeypatch
):
    """Two servers, one token: the retry read no record, then the first made the entry; the retry's checks then
    find the user's own entry (EXISTING_WAITLIST_ENTRY), yet it must answer the entry, as CreateBooking does."""
    at_open(runtime)
    assert join(client, n=1, token="same").get_json() == {"waitlist_entry_id": "W0000001"}
    state = runtime.bookings.waitlist.state
    real = state.waitlist_record
    reads = []

    def stale_first_read(token):
        reads.append(token)
        return None if len(reads) == 1 else real(token)

    monkeypatch.setattr(state, "waitlist_record", stale_first_read)
    assert join(client, n=1, token="same").get_json() == {"waitlist_entry_id": "W0000001"}
    assert client.get("/_admin/waitlist").get_json()["count"] == 1


def _fill(client, runtime, merchant_id: str) -> None:
    for n in range(rules(runtime, merchant_id)["capacity"]):
        assert "waitlist_entry_id" in join(client, merchant_id, party_size=4, n=100 + n).get_json()


CAUSES = {
    "MERCHANT_CLOSED": "the merchant is closed now",
    "NO_WAIT": "there is no wait now: walk in",
    "WAITLIST_CLOSED": "the waitlist has closed for new parties",
    "BELOW_MIN_PARTY_SIZE": "the smallest party is 2",
    "ABOVE_MAX_PARTY_SIZE": "the largest party is 6",
    "PHONE_NUMBER_COUNTRY_UNSUPPORTED": "the merchant texts +1 numbers only",
    "EXISTING_WAITLIST_ENTRY": "the user already has an entry in a waitlist",
    "WAITLIST_FULL": "the waitlist holds 3 parties",
}


@pytest.mark.parametrize("cause", list(CAUSES))
def test_every_business_failure_is_a_200_with_its_cause(client, runtime, cause):
    merchant_id, party_size, telephone = SMALL, 3, "+1 555-010-0101"
    at_open(runtime, SMALL)
    if cause == "MERCHANT_CLOSED":
        runtime.clock.freeze(local(runtime, SMALL, "03:00"))
    elif cause == "NO_WAIT":
        runtime.clock.freeze(local(runtime, SMALL, period(runtime, SMALL, "CLOSED_NO_WAIT")))
    elif cause == "WAITLIST_CLOSED":
        runtime.clock.freeze(local(runtime, SMALL, period(runtime, SMALL, "CLOSED_OTHER")))
    elif cause == "BELOW_MIN_PARTY_SIZE":
        party_size = 1
    elif cause == "ABOVE_MAX_PARTY_SIZE":
        party_size = 7
    elif cause == "PHONE_NUMBER_COUNTRY_UNSUPPORTED":
        merchant_id, telephone = MAIN, "+44 20 7946 0000"
        at_open(runtime, MAIN)
    elif cause == "EXISTING_WAITLIST_ENTRY":
        assert "waitlist_entry_id" in join(client, SMALL, party_size=2, n=1, token="earlier").get_json()
    elif cause == "WAITLIST_FULL":
        _fill(client, runtime, SMALL)
    body = {
        "merchant_id": merchant_id,
        "service_id": "dinner",
        "party_size": party_size,
        "user_information": user(1, telephone),
        "idempotency_token": "failing",
    }
    entries = client.get("/_admin/waitlist").get_json()["count"]
    response = client.post("/v3/CreateWaitlistEntry", json=body)
    assert response.status_code == 200
    assert response.get_json() == {"waitlist_business_logic_failure": {"cause": cause, "description": CAUSES[cause]}}
    assert client.get("/_admin/waitlist").get_json()["count"] == entries  # no entry made


def test_an_entry_that_is_over_no_longer_blocks_the_user(client, runtime):
    at_open(runtime)
    join(client, n=1, token="first")
    assert client.post("/v3/DeleteWaitlistEntry", json={"waitlist_entry_id": "W0000001"}).get_json() == {}
    assert join(client, n=1, token="second").get_json() == {"waitlist_entry_id": "W0000002"}


def test_unknown_entries_are_404(client, runtime):
    for method in ("GetWaitlistEntry", "DeleteWaitlistEntry"):
        response = client.post(f"/v3/{method}", json={"waitlist_entry_id": "W0000404"})
        assert response.status_code == 404
        assert response.get_json() == {
            "code": 404,
            "status": "Not Found",
            "message": "unknown waitlist_entry_id 'W0000404'",
        }


def test_an_entry_is_kept_30_days(client, runtime):
    at_open(runtime)
    join(client)
    runtime.clock.advance(30 * 86400)
    assert entry(client, "W0000001").status_code == 200
    runtime.clock.advance(1)
    assert entry(client, "W0000001").status_code == 404


# ---- DeleteWaitlistEntry ----


def test_delete_cancels_the_entry(client, runtime):
    now = at_open(runtime)
    join(client, party_size=3)  # parties of 3 wait behind walk-ins
    runtime.clock.advance(60)
    response = client.post("/v3/DeleteWaitlistEntry", json={"waitlist_entry_id": "W0000001"})
    assert response.status_code == 200
    assert response.get_json() == {}
    got = entry(client, "W0000001").get_json()["waitlist_entry"]
    assert got["waitlist_entry_state"] == "CANCELED"
    assert got["waitlist_entry_state_times"] == {
        "created_time_seconds": str(now),
        "canceled_time_seconds": str(now + 60),
    }
    # Deleting again changes nothing.
    assert client.post("/v3/DeleteWaitlistEntry", json={"waitlist_entry_id": "W0000001"}).get_json() == {}
    assert entry(client, "W0000001").get_json()["waitlist_entry"] == got


# ---- the queue over the clock ----


def test_the_queue_moves_with_the_clock(client, runtime):
    now = at_open(runtime)
    waitlist = rules(runtime, MAIN)
    model = next(m for m in waitlist["wait_model"] if m["party_size"] == 3)
    join(client, party_size=3)
    ready = now + model["walk_ins_ahead"] * model["turn_sec"]
    runtime.clock.freeze(ready - 1)
    assert entry(client, "W0000001").get_json()["waitlist_entry"]["waitlist_entry_state"] == "WAITING"
    runtime.clock.freeze(ready)
    assert entry(client, "W0000001").get_json() == {
        "waitlist_entry": {
            "waitlist_entry_state": "SERVICE_READY",
            "waitlist_entry_state_times": {
                "created_time_seconds": str(now),
                "service_readied_time_seconds": str(ready),
            },
            "wait_estimate": {"party_size": 3, "wait_length": {}, "waitlist_confirmation_mode": SYNC},
        }
    }
    seated = ready + waitlist["seat_after_sec"]
    runtime.clock.freeze(seated)
    got = entry(client, "W0000001").get_json()["waitlist_entry"]
    assert got["waitlist_entry_state"] == "SEATED"
    assert got["waitlist_entry_state_times"]["seated_time_seconds"] == str(seated)


def test_every_nth_entry_is_a_no_show(client, runtime):
    now = at_open(runtime, SMALL)
    waitlist = rules(runtime, SMALL)
    every = waitlist["no_show_every"]
    states = []
    for n in range(1, every + 1):
        runtime.clock.freeze(now + (n - 1) * 86400)  # a day apart, the same hour: each is served before the next
        join(client, SMALL, party_size=2, n=n)
        runtime.clock.advance(86400 - 60)
        states.append(entry(client, f"W{n:07d}").get_json()["waitlist_entry"]["waitlist_entry_state"])
    assert states == ["SEATED"] * (every - 1) + ["NO_SHOW"]


def test_parties_ahead_fall_as_the_queue_moves(client, runtime):
    now = at_open(runtime)
    join(client, party_size=4, n=1)
    join(client, party_size=4, n=2)
    second = entry(client, "W0000002").get_json()["waitlist_entry"]["wait_estimate"]["wait_length"]
    model = next(m for m in rules(runtime, MAIN)["wait_model"] if m["party_size"] == 4)
    assert second["parties_ahead_count"] == model["walk_ins_ahead"] + 1
    first_ready = now + model["walk_ins_ahead"] * model["turn_sec"]
    runtime.clock.freeze(first_ready)  # the first party's table is ready, the walk-ins are seated
    later = entry(client, "W0000002").get_json()["waitlist_entry"]["wait_estimate"]["wait_length"]
    ready, half = first_ready + model["turn_sec"], model["turn_sec"] // 2
    # Nobody ahead any more: proto3 leaves the 0 out; the seat time stays.
    assert later == {
        "estimated_seat_time_range": {"start_seconds": str(ready - half), "end_seconds": str(ready + half)}
    }


# ---- asynchronous waitlists and the admin actions ----


def test_an_asynchronous_waitlist_confirms_on_its_own(client, runtime):
    now = at_open(runtime, ASYNC_MERCHANT)
    waitlist = rules(runtime, ASYNC_MERCHANT)
    join(client, ASYNC_MERCHANT, party_size=2)
    got = entry(client, "W0000001").get_json()["waitlist_entry"]
    assert got["waitlist_entry_state"] == "PENDING_MERCHANT_CONFIRMATION"
    assert got["wait_estimate"]["waitlist_confirmation_mode"] == ASYNC
    runtime.clock.freeze(now + waitlist["confirm_after_sec"] - 1)
    assert entry(client, "W0000001").get_json()["waitlist_entry"]["waitlist_entry_state"] == (
        "PENDING_MERCHANT_CONFIRMATION"
    )
    runtime.clock.freeze(now + waitlist["confirm_after_sec"])
    assert entry(client, "W0000001").get_json()["waitlist_entry"]["waitlist_entry_state"] in (
        "WAITING",
        "SERVICE_READY",
    )


@pytest.mark.parametrize("prefix", ["", "/t/acme"])
def test_admin_actions_move_one_entry_through_each_state(client, runtime, prefix):
    now = local(runtime, ASYNC_MERCHANT, period(runtime, ASYNC_MERCHANT, "OPEN"))
    client.post(f"{prefix}/_admin/clock", json={"freeze_at_sec": now})
    body = {
        "merchant_id": ASYNC_MERCHANT,
        "service_id": "dinner",
        "party_size": 2,
        "user_information": user(1, PHONES[ASYNC_MERCHANT]),
        "idempotency_token": "t",
    }
    assert client.post(f"{prefix}/v3/CreateWaitlistEntry", json=body).get_json() == {"waitlist_entry_id": "W0000001"}
    seen = []
    for step, action in enumerate(("confirm", "ready", "check_in", "seat")):
        client.post(f"{prefix}/_admin/clock", json={"advance_sec": 10})
        response = client.post(f"{prefix}/_admin/waitlist/W0000001/{action}")
        assert response.status_code == 200, response.get_json()
        seen.append(response.get_json()["waitlist_entry"]["waitlist_entry_state"])
        assert response.get_json()["timeline"][-1]["at_sec"] == now + 10 * (step + 1)
    assert seen == ["WAITING", "SERVICE_READY", "CHECKED_IN", "SEATED"]
    times = client.post(f"{prefix}/v3/GetWaitlistEntry", json={"waitlist_entry_id": "W0000001"}).get_json()
    assert times["waitlist_entry"]["waitlist_entry_state_times"] == {
        "created_time_seconds": str(now),
        "service_readied_time_seconds": str(now + 20),
        "checked_in_time_seconds": str(now + 30),
        "seated_time_seconds": str(now + 40),
    }
    refused = client.post(f"{prefix}/_admin/waitlist/W0000001/no_show")
    assert refused.status_code == 409
    assert refused.get_json()["message"] == (
        "waitlist entry W0000001 is SEATED: no_show applies to ['CHECKED_IN', 'SERVICE_READY']"
    )
    assert client.post(f"{prefix}/_admin/waitlist/W0000001/teleport").status_code == 404
    assert client.post(f"{prefix}/_admin/waitlist/W0000404/seat").status_code == 404
    # Each tenant has its own waitlist.
    other = "" if prefix else "/t/acme"
    assert client.get(f"{other}/_admin/waitlist").get_json() == {"waitlist_entries": [], "count": 0}


def test_the_merchant_declines_a_pending_entry(client, runtime):
    at_open(runtime, ASYNC_MERCHANT)
    join(client, ASYNC_MERCHANT, party_size=2)
    response = client.post("/_admin/waitlist/W0000001/decline")
    assert response.get_json()["waitlist_entry"]["waitlist_entry_state"] == "DECLINED_BY_MERCHANT"
    runtime.clock.advance(86400)  # declined for good: the clock moves it no further
    assert entry(client, "W0000001").get_json()["waitlist_entry"]["waitlist_entry_state"] == "DECLINED_BY_MERCHANT"


# ---- faults, snapshots, reset ----


def test_a_waitlist_failure_rule_answers_its_cause(client, runtime):
    at_open(runtime)
    rule = {"method": "CreateWaitlistEntry", "kind": "waitlist_failure", "cause": "WAITLIST_FULL", "times": 1}
    assert client.post("/_admin/faults", json=rule).status_code == 201
    assert join(client).get_json() == {
        "waitlist_business_logic_failure": {"cause": "WAITLIST_FULL", "description": "waitlist full (sandbox fault f1)"}
    }
    assert join(client).get_json() == {"waitlist_entry_id": "W0000001"}
    wrong = {"method": "GetWaitlistEntry", "kind": "waitlist_failure", "cause": "NO_WAIT"}
    assert client.post("/_admin/faults", json=wrong).status_code == 400
    booking_cause = {"method": "CreateWaitlistEntry", "kind": "waitlist_failure", "cause": "SLOT_UNAVAILABLE"}
    assert client.post("/_admin/faults", json=booking_cause).status_code == 400


def test_timeout_after_commit_makes_the_entry_and_a_retry_gets_its_id(client, runtime):
    at_open(runtime)
    rule = {"method": "CreateWaitlistEntry", "kind": "timeout_after_commit", "hold_ms": 1, "times": 1}
    assert client.post("/_admin/faults", json=rule).status_code == 201
    refused = join(client, n=2, party_size=99)  # a business failure commits nothing: the rule is not spent
    assert refused.get_json()["waitlist_business_logic_failure"]["cause"] == "ABOVE_MAX_PARTY_SIZE"
    lost = join(client, token="same")
    assert lost.status_code == 504 and lost.get_json()["code"] == 504
    assert [e["waitlist_entry_id"] for e in client.get("/_admin/waitlist").get_json()["waitlist_entries"]] == [
        "W0000001"
    ]
    assert join(client, token="same").get_json() == {"waitlist_entry_id": "W0000001"}
    assert client.get("/_admin/waitlist").get_json()["count"] == 1


def test_magic_values_reach_the_waitlist_methods(client, runtime):
    at_open(runtime)
    tagged = join(client, user_information={**user(1), "email": "qa+waitlist_no_wait@example.com"})
    assert tagged.get_json() == {
        "waitlist_business_logic_failure": {"cause": "NO_WAIT", "description": "no wait (sandbox fault magic)"}
    }
    failed = client.post(
        "/v3/GetWaitlistEntry", json={"waitlist_entry_id": "W1"}, headers={"X-Sandbox-Fault": "http_503"}
    )
    assert failed.status_code == 503


def test_snapshots_and_reset_cover_the_waitlist(client, runtime):
    at_open(runtime)
    join(client, n=1)
    join(client, n=2, party_size=2)
    client.post("/v3/DeleteWaitlistEntry", json={"waitlist_entry_id": "W0000002"})
    document = client.get("/_admin/state").get_json()
    assert [e["entry_id"] for e in document["waitlist_entries"]] == ["W0000001", "W0000002"]
    before = [entry(client, f"W000000{n}").get_json() for n in (1, 2)]
    client.post("/_admin/reset")
    assert entry(client, "W0000001").status_code == 404
    assert client.put("/_admin/state", json=document).status_code == 200
    assert [entry(client, f"W000000{n}").get_json() for n in (1, 2)] == before
    assert join(client, n=1).get_json() == {"waitlist_entry_id": "W0000001"}  # the token answers again
    assert join(client, n=3, party_size=2).get_json() == {"waitlist_entry_id": "W0000003"}
    broken = {**document, "waitlist_entries": [{**document["waitlist_entries"][0], "party_size": "3"}]}
    refused = client.put("/_admin/state", json=broken)
    assert refused.status_code == 400
    older = {k: v for k, v in document.items() if not k.startswith("waitlist_")}  # saved before waitlists
    assert client.put("/_admin/state", json=older).status_code == 200
    assert client.get("/_admin/waitlist").get_json()["count"] == 0


def test_with_persistence_entries_survive_restarts_and_a_reset_forgets_them(tmp_path):
    from mock_server import create_app

    settings = {"clock": 1767225600, "record": 0, "db_path": str(tmp_path / "db" / "state.json")}

    def started():
        app = create_app(settings, environ={})
        client = app.test_client()
        runtime = app.extensions[EXTENSION_KEY]
        client.post("/_admin/clock", json={"freeze_at_sec": local(runtime, MAIN, period(runtime, MAIN, "OPEN"))})
        return client

    client = started()
    assert join(client, party_size=3, n=1, token="kept").get_json() == {"waitlist_entry_id": "W0000001"}
    join(client, party_size=3, n=2)
    assert client.post("/_admin/waitlist/W0000002/cancel").status_code == 200
    before = client.get("/_admin/waitlist").get_json()
    restarted = started()  # the log replayed, then folded into a snapshot
    assert restarted.get("/_admin/waitlist").get_json() == before
    assert join(restarted, party_size=3, n=1, token="kept").get_json() == {"waitlist_entry_id": "W0000001"}
    assert join(restarted, party_size=3, n=3).get_json() == {"waitlist_entry_id": "W0000003"}
    again = started()  # read back from the snapshot alone
    assert again.get("/_admin/waitlist").get_json()["count"] == 3
    assert entry(again, "W0000002").get_json()["waitlist_entry"]["waitlist_entry_state"] == "CANCELED"
    assert again.post("/_admin/reset").status_code == 200
    assert started().get("/_admin/waitlist").get_json() == {"waitlist_entries": [], "count": 0}


def test_the_service_feed_shows_the_waitlist_rules(client, runtime):
    services = client.get("/feeds/services.json?merchant_id=dining-007").get_json()["service"]
    assert services[0]["waitlist_rules"] == {
        "min_party_size": 2,
        "max_party_size": 6,
        "supports_additional_request": rules(runtime, SMALL)["supports_additional_request"],
    }


def test_waitlist_exchanges_are_recorded_and_replayed(tmp_path):
    source = make_app(tmp_path, "source")
    client = source.test_client()
    at_open(source.extensions[EXTENSION_KEY])
    flow = [
        ("BatchGetWaitEstimates", {"merchant_id": MAIN, "service_id": "dinner", "party_size": [2, 3]}),
        (
            "CreateWaitlistEntry",
            {
                "merchant_id": MAIN,
                "service_id": "dinner",
                "party_size": 3,
                "user_information": user(1),
                "idempotency_token": "r",
            },
        ),
        ("GetWaitlistEntry", {"waitlist_entry_id": "W0000001"}),
        ("DeleteWaitlistEntry", {"waitlist_entry_id": "W0000001"}),
        ("GetWaitlistEntry", {"waitlist_entry_id": "W0000404"}),
    ]
    recorded = []
    for method, body in flow:
        response = client.post(f"/v3/{method}", json=body)
        recorded.append((response.status_code, response.get_json()))
    lines = [json.loads(line) for line in journal_file(source).read_text().splitlines() if line.strip()]
    assert [line.get("rpc") for line in lines] == [m for m, _ in flow]
    mock = make_app(tmp_path, "mock", replay=str(journal_file(source))).test_client()
    replayed = []
    for method, body in flow:
        response = mock.post(f"/v3/{method}", json=body)
        replayed.append((response.status_code, response.get_json()))
    assert replayed == recorded
