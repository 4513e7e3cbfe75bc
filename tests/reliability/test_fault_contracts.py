"""Fault rules keep the contracts they simulate (issue 13, item 12).

A business-failure rule (slot_taken, payment_required, booking_failure) answers as the booking backend would:
never on a request the server would refuse (400/404), never on an idempotent replay of a token that already
succeeded. `timeout_after_commit` loses the answer to a change that was made: never on a 400, a business failure
or a replay. On those requests such rules neither fire nor spend anything: no use of `times`, no probability draw.
Transport kinds (http_error, delay, timeout, broken answers, drop_connection) still fire on a replay.
"""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from mock_server.faults.engine import FaultEngine
from mock_server.faults.rules import RuleSchema
from mock_server.runtime import EXTENSION_KEY
from tests.conftest import STORES, store_settings
from tests.helpers import create_body, find_slot

from .conftest import fresh_app
from .test_bad_input import BOOKING_ID, PROBES

BUSINESS_RULES = [
    {"kind": "slot_taken"},
    {"kind": "payment_required"},
    {"kind": "booking_failure", "cause": "PAYMENT_ERROR_CARD_DECLINED"},
]


@pytest.fixture(params=STORES)
def app(request, tmp_path):
    return fresh_app(tmp_path, **store_settings(request, request.param))


def add_rule(client, **rule) -> dict:
    response = client.post("/_admin/faults", json=rule)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def rule_state(client, rule_id: str) -> dict:
    """The rule as listed (active or retired)."""
    listing = client.get("/_admin/faults").get_json()
    return next(r for r in listing["faults"] + listing["retired"] if r["id"] == rule_id)


def create(client, body: dict, headers: dict | None = None):
    return client.post("/v3/CreateBooking", json=body, headers=headers or {})


def booking_count(client) -> int:
    return client.get("/_admin/bookings").get_json()["count"]


# ---- replays of a token that succeeded ----


@pytest.mark.parametrize("probability", [1.0, 0.5])
@pytest.mark.parametrize("business", BUSINESS_RULES, ids=lambda r: r["kind"])
def test_a_business_rule_never_fires_on_a_replay_and_spends_nothing(client, runtime, business, probability):
    body = create_body(find_slot(runtime, vertical="classes"), token="paid-once")
    first = create(client, body)
    assert first.status_code == 200 and first.get_json()["booking"]["status"] == "CONFIRMED"
    rule = add_rule(client, method="CreateBooking", times=1, probability=probability, **business)
    dice = runtime.rng.getstate()

    retry = create(client, body)

    assert retry.status_code == 200
    assert retry.get_json() == first.get_json()  # the original booking, word for word
    assert runtime.rng.getstate() == dice  # no probability draw
    state = rule_state(client, rule["id"])
    assert (state["fired"], state["remaining"]) == (0, 1)
    assert booking_count(client) == 1


def test_a_replay_with_a_different_payload_still_gets_the_original_booking(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    first = create(client, create_body(slot, 1, token="same"))
    add_rule(client, method="*", kind="booking_failure", cause="PAYMENT_ERROR_CARD_DECLINED")
    # The domain answers a reused token with the original booking, whatever else changed.
    retry = create(client, create_body(slot, 2, token="same"))
    assert retry.get_json()["booking"] == first.get_json()["booking"]


def test_a_fresh_token_still_gets_the_business_failure(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    create(client, create_body(slot, 1, token="first"))
    rule = add_rule(
        client, method="CreateBooking", kind="booking_failure", cause="PAYMENT_ERROR_CARD_DECLINED", times=1
    )
    answer = create(client, create_body(slot, 2, token="second")).get_json()
    assert answer == {
        "booking_failure": {
            "cause": "PAYMENT_ERROR_CARD_DECLINED",
            "description": f"the card was declined (sandbox fault {rule['id']})",
        }
    }
    assert rule_state(client, rule["id"])["retired"] == "used_up"


def test_flaky_payments_retries_always_get_the_original_booking(client, runtime):
    assert client.post("/_admin/scenarios/flaky_payments").status_code == 201
    slot = find_slot(runtime, vertical="classes", min_spots=1)
    originals, declined = {}, 0
    for n in range(40):
        body = create_body(slot, n, token=f"flaky-{n}")
        for _ in range(30):  # retry a decline until it books
            answer = create(client, body).get_json()
            if "booking" in answer:
                originals[body["idempotency_token"]] = (body, answer)
                break
            assert answer["booking_failure"]["cause"] == "PAYMENT_ERROR_CARD_DECLINED"
            declined += 1
        if runtime.bookings.spots_open(slot) == 0:
            slot = find_slot(runtime, vertical="classes", min_spots=1)
    assert declined > 0 and len(originals) == 40
    for body, answer in originals.values():
        for _ in range(5):
            assert create(client, body).get_json() == answer
    assert booking_count(client) == 40


def test_flaky_payments_under_concurrent_retries_never_declines_after_a_success(app, runtime):
    """12 tokens, each sent 16 times from 8 threads: no decline starts after its token's booking was answered."""
    app.test_client().post("/_admin/scenarios/flaky_payments")
    bodies = [
        create_body(find_slot(runtime, vertical="classes", min_spots=2, skip=n), n, token=f"race-{n}")
        for n in range(12)
    ]
    calls = [body for body in bodies for _ in range(16)]
    answers: list[tuple[str, float, float, dict]] = []

    def worker(mine: list[dict]) -> None:
        client = app.test_client()
        for body in mine:
            started = time.perf_counter()
            answer = client.post("/v3/CreateBooking", json=body).get_json()
            answers.append((body["idempotency_token"], started, time.perf_counter(), answer))

    threads = [threading.Thread(target=worker, args=(calls[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == len(calls)
    for body in bodies:
        token = body["idempotency_token"]
        mine = [a for a in answers if a[0] == token]
        booked = [a for a in mine if "booking" in a[3]]
        assert len({a[3]["booking"]["booking_id"] for a in booked}) <= 1
        if booked:
            first_answered = min(a[2] for a in booked)
            assert not [a for a in mine if "booking_failure" in a[3] and a[1] > first_answered]
            assert app.test_client().post("/v3/CreateBooking", json=body).get_json() == booked[0][3]
    assert any("booking_failure" in a[3] for a in answers)


def test_transport_faults_still_fire_on_a_replay(client, runtime):
    body = create_body(find_slot(runtime, vertical="classes"), token="t")
    create(client, body)
    rule = add_rule(client, method="CreateBooking", kind="http_error", status=503, times=1)
    answer = create(client, body)
    assert answer.status_code == 503 and answer.get_json()["message"].endswith(f"(sandbox fault {rule['id']})")
    assert "booking" in create(client, body).get_json()


def test_magic_business_tags_on_a_replay_answer_the_original_booking(app, client, runtime):
    body = create_body(find_slot(runtime, vertical="classes"), token="magic")
    first = create(client, body).get_json()
    retry = create(client, body, headers={"X-Sandbox-Fault": "card_declined"})
    assert retry.get_json() == first
    recorded = client.get("/_admin/recordings?limit=1").get_json()["exchanges"][0]
    assert recorded["faults"] == []
    assert (
        "booking_failure (PAYMENT_ERROR_CARD_DECLINED) not applied: the idempotency_token already succeeded, "
        "so the original booking is answered" in recorded["warnings"]
    )


# ---- timeout_after_commit: only on a change that was made ----


def test_timeout_after_commit_keeps_a_400_and_its_budget(client, runtime):
    rule = add_rule(client, method="CreateBooking", kind="timeout_after_commit", hold_ms=1, times=1)
    body = create_body(find_slot(runtime, vertical="classes"), token="t")
    del body["user_information"]
    answer = create(client, body)
    assert answer.status_code == 400
    assert answer.get_json()["message"] == "invalid request: user_information: Missing data for required field."
    assert rule_state(client, rule["id"])["remaining"] == 1


def test_timeout_after_commit_keeps_a_business_failure_and_its_budget(client, runtime):
    rule = add_rule(client, method="CreateBooking", kind="timeout_after_commit", hold_ms=1, times=1)
    prepaid = find_slot(runtime, prepaid=True)
    answer = create(client, create_body(prepaid, token="unpaid"))  # the domain refuses: prepayment required
    assert answer.status_code == 200
    assert answer.get_json()["booking_failure"]["cause"] == "PAYMENT_ERROR"
    assert rule_state(client, rule["id"])["remaining"] == 1
    assert booking_count(client) == 0


def test_timeout_after_commit_loses_the_answer_once_and_the_retry_gets_the_booking(client, runtime):
    rule = add_rule(client, method="CreateBooking", kind="timeout_after_commit", hold_ms=1)  # no `times`
    body = create_body(find_slot(runtime, vertical="classes"), token="lost")
    lost = create(client, body)
    assert lost.status_code == 504
    assert lost.get_json() == {
        "code": 504,
        "status": "Gateway Timeout",
        "message": f"deadline exceeded: held for 1 ms (sandbox fault {rule['id']})",
    }
    stored = client.get("/_admin/bookings").get_json()["bookings"]
    assert len(stored) == 1
    for _ in range(3):
        retry = create(client, body)
        assert retry.status_code == 200 and retry.get_json()["booking"]["booking_id"] == stored[0]["booking_id"]
    assert rule_state(client, rule["id"])["fired"] == 1


def test_timeout_after_commit_on_update_booking_fires_on_a_cancel_only_once(client, runtime):
    booking = create(client, create_body(find_slot(runtime, vertical="classes", window=False))).get_json()["booking"]
    rule = add_rule(client, method="UpdateBooking", kind="timeout_after_commit", hold_ms=1)
    cancel = {"booking": {"booking_id": booking["booking_id"], "status": "CANCELED"}}
    assert client.post("/v3/UpdateBooking", json=cancel).status_code == 504
    assert client.get("/_admin/bookings").get_json()["bookings"][0]["status"] == "CANCELED"
    again = client.post("/v3/UpdateBooking", json=cancel)  # nothing left to commit: the domain's own answer
    assert again.get_json()["booking_failure"]["cause"] == "BOOKING_ALREADY_CANCELLED"
    assert rule_state(client, rule["id"])["fired"] == 1


def test_a_repeated_move_is_a_replay_that_business_rules_leave_alone(client, runtime):
    first = find_slot(runtime, vertical="classes", window=False)
    later = next(
        s
        for s in runtime.bookings.inventory.slots(first.merchant_id)
        if s.service_id == first.service_id and s.start_sec > first.start_sec and runtime.bookings.spots_open(s)
    )
    booking = create(client, create_body(first)).get_json()["booking"]
    move = {
        "booking": {
            "booking_id": booking["booking_id"],
            "slot": {"start_sec": str(later.start_sec), "duration_sec": str(later.duration_sec)},
        }
    }
    moved = client.post("/v3/UpdateBooking", json=move).get_json()
    assert moved["booking"]["slot"]["start_sec"] == str(later.start_sec)
    rule = add_rule(client, method="UpdateBooking", kind="slot_taken", times=1)
    assert client.post("/v3/UpdateBooking", json=move).get_json() == moved
    assert rule_state(client, rule["id"])["remaining"] == 1


def test_magic_timeout_after_commit_on_an_invalid_request_keeps_the_400(app, client, runtime):
    body = create_body(find_slot(runtime, vertical="classes"))
    body["slot"]["service_id"] = "nope"
    answer = create(client, body, headers={"X-Sandbox-Fault": "timeout_after_commit_1"})
    assert answer.status_code == 400 and "unknown service_id 'nope'" in answer.get_json()["message"]
    recorded = client.get("/_admin/recordings?limit=1").get_json()["exchanges"][0]
    assert recorded["faults"] == []
    assert any("timeout_after_commit not applied: nothing was committed" in w for w in recorded["warnings"])


# ---- the engine itself ----


class _Facts:
    def get(self, key):
        return frozenset()

    def admits(self, kind):
        return True


def test_the_engine_decides_after_commit_kinds_only_once_the_view_committed():
    import random

    engine = FaultEngine(max_hold_ms=1000)
    engine.add(RuleSchema().load({"method": "CreateBooking", "kind": "timeout_after_commit", "times": 1}), 0)
    rng = random.Random(1)
    assert engine.decide("CreateBooking", _Facts(), rng, 0) is None
    assert engine.rules(0)[0]["remaining"] == 1
    effect = engine.decide_committed("CreateBooking", _Facts(), rng, 0)
    assert effect.kind == "timeout_after_commit" and engine.rules(0) == []


# ---- every invalid request of the bad-input table ----

V3_PROBES = [p for p in PROBES if p.path.startswith("/v3/") and p.method == "POST" and 400 <= p.status < 500]


@pytest.fixture(scope="module")
def armed(tmp_path_factory):
    """One sandbox for the table, with the bad-input sandbox's booking and every contract-bound kind armed."""
    app = fresh_app(tmp_path_factory.mktemp("armed"))
    client = app.test_client()
    runtime = app.extensions[EXTENSION_KEY]
    booked = find_slot(runtime, vertical="classes")
    answer = client.post("/v3/CreateBooking", json=create_body(booked, 1, token="the-booking")).get_json()
    assert answer["booking"]["booking_id"] == BOOKING_ID
    # Every kind that must leave an invalid request alone, each probable, each with a budget.
    for rule in (*BUSINESS_RULES, {"kind": "timeout_after_commit", "hold_ms": 1}):
        add_rule(client, method="*", times=5, probability=0.9, **rule)
    return client, runtime


@pytest.mark.parametrize("probe", V3_PROBES, ids=[p.id for p in V3_PROBES])
def test_an_invalid_request_keeps_its_4xx_and_spends_no_rule(armed, probe, figures):
    client, runtime = armed
    dice = runtime.rng.getstate()
    headers = {"Content-Type": probe.content_type} if probe.content_type and probe.body is not None else {}
    response = client.open(probe.path, method=probe.method, data=probe.body, headers=headers)
    body = response.get_json(silent=True)
    assert response.status_code == probe.status, (response.status_code, response.get_data()[:300])
    assert body["code"] == probe.status and probe.fragment in body["message"], body
    assert runtime.rng.getstate() == dice
    assert [r["fired"] for r in client.get("/_admin/faults").get_json()["faults"]] == [0, 0, 0, 0]
    figures["invalid requests that spent no fault rule"] = (
        figures.get("invalid requests that spent no fault rule", 0) + 1
    )


def test_the_armed_table_covers_every_business_method():
    methods = {p.path for p in V3_PROBES}
    assert {"/v3/CreateBooking", "/v3/UpdateBooking", "/v3/BatchAvailabilityLookup", "/v3/CheckAvailability"} <= methods
    assert len(V3_PROBES) > 300


@pytest.mark.parametrize("key", ["email", "Email"])
def test_a_magic_email_tag_is_read_where_the_loader_reads_the_email(tmp_path, key):
    app = fresh_app(tmp_path)
    client = app.test_client()
    body = create_body(find_slot(app.extensions["mock_server"], vertical="appointments"))
    user = body["user_information"]
    user[key] = "qa+slot_taken@example.com"
    if key != "email":
        del user["email"]
    answer = client.post("/v3/CreateBooking", json=body).get_json()
    assert answer["booking_failure"]["cause"] == "SLOT_UNAVAILABLE", answer


def test_an_email_tag_in_an_unknown_field_fires_nothing(tmp_path):
    app = fresh_app(tmp_path)
    client = app.test_client()
    body = create_body(find_slot(app.extensions["mock_server"], vertical="appointments"))
    body = {"zzz": {"email": "qa+slot_taken@example.com"}, **body}  # ahead of the real user_information
    answer = client.post("/v3/CreateBooking", data=orjson.dumps(body), content_type="application/json").get_json()
    assert answer["booking"]["status"] == "CONFIRMED", answer
